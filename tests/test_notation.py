"""Notation profiles: each source's names for the quantities (from the seeds), unique labels, safe MathML."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

import tracer
from tracer.export.html.mathml import to_mathml
from tracer.model.notation import PROFILES, Notation, profile
from tracer.io.resources import find_example


def spec(name):
    return tracer.load_spec(find_example(name))


def test_ekman_names_as_in_the_book():
    """Ekman ch. 3: w_xg0 .. w_gf1 (first letter source layer, digit input number, 0 the bias), y_g, error term."""
    n = profile(None, spec("ekman"))
    assert n.name == "ekman"
    weights = [n.label("w", l.name, u, s) for l in n.spec.layers for u in l.units for s in l.sources]
    assert weights == ["w_xg0", "w_xg1", "w_xg2", "w_gf0", "w_gf1"]
    assert [n.label("z", "G", "g"), n.label("a", "G", "g"), n.label("a", "F", "f")] == ["z_g", "y_g", "y_f"]
    assert n.label("delta", "F", "f") == "error term f" and n.label("dE_da", "F", "f") == "MSE'"
    assert n.label("da_dz", "F", "f") == "y'_f" and n.label("eta") == "lr" and n.label("loss") == "MSE"
    assert n.label("delta_w", "G", "g", "x1") == "Δw_xg1"


def test_frey_v_is_input_to_hidden_and_w_hidden_to_output():
    """Frey: v_ij from input i to hidden j, w_jk from hidden j to output k, the bias as index 0."""
    s = spec("frey-online")
    n = profile("frey", s)
    hidden, output = s.layers
    assert n.label("w", hidden.name, hidden.units[1], "bias") == "v_02"
    assert n.label("w", hidden.name, hidden.units[0], s.inputs[1]) == "v_21"
    assert n.label("w", output.name, output.units[0], hidden.units[2]) == "w_31"
    assert n.label("z", hidden.name, hidden.units[0]) == "h_1^h" and n.label("a", output.name, output.units[1]) == "ŷ_2"
    assert n.label("delta", output.name, output.units[0]) == "δ_1^o" and n.label("eta") == "η"


def test_maren_v_is_hidden_to_output():
    """Maren: v_{h,o} hidden-to-output, NdInpt_o, A_o, H_h, SSE; Python-style counting from 0."""
    s = spec("maren")
    n = profile("maren", s)
    hidden, output = s.layers
    assert n.label("w", output.name, output.units[0], hidden.units[1]) == "v_1,0"
    assert n.label("w", hidden.name, hidden.units[1], s.inputs[0]) == "w_0,1"
    assert n.label("z", output.name, output.units[0]).startswith("NdInpt_")
    assert n.label("a", output.name, output.units[0]) == "A_0" and n.label("a", hidden.name, hidden.units[1]) == "H_1"
    assert n.label("loss") == "SSE" and n.label("target", output.name, output.units[0]) == "Desired_0"


def test_cs510_and_davila_layer_superscripts():
    s = spec("cs510")
    n = profile("cs510", s)
    hidden, output = s.layers
    assert n.label("z", hidden.name, hidden.units[1]) == "z^1_2" and n.label("delta", output.name, output.units[0]) == "δ^2_1"
    assert n.label("w", output.name, output.units[0], "bias") == "b^2_1" and n.label("loss") == "C"
    d = profile("davila", spec("davila-sse"))
    first, last = d.spec.layers
    assert [d.label("z", last.name, last.units[0]), d.label("a", first.name, first.units[0])] == ["z^L", "a^L-1"]
    assert d.label("w", last.name, last.units[0], first.units[0]) == "w^L" and d.label("delta", last.name, last.units[0]) == "∂C/∂z^L"


@pytest.mark.parametrize("notation", PROFILES)
def test_labels_are_unique_within_a_step(example, notation):
    """Labels are answer keys (exercise workbooks, check): no two quantities of a step may share one."""
    s = tracer.load_spec(example)
    n = profile(notation, s)
    labels = [n.label("loss"), n.label("eta")] + [n.label("x", source=x) for x in s.inputs]
    for l in s.layers:
        for u in l.units:
            labels += [n.label(k, l.name, u) for k in ("z", "a", "da_dz", "dE_da", "delta")]
            if l is s.layers[-1]:
                labels.append(n.label("target", l.name, u))
            for src in l.sources:
                labels += [n.label(k, l.name, u, src) for k in ("w", "grad", "delta_w", "w_new")]
    duplicates = {x for x in labels if labels.count(x) > 1}
    assert not duplicates, duplicates


def test_unknown_notation_is_one_clear_error():
    with pytest.raises(tracer.TracerError, match="unknown notation 'nope'; use one of generic, ekman"):
        profile("nope", spec("ekman"))
    assert profile(None, spec("ekman")).name == "ekman" and profile("frey", spec("ekman")).name == "frey"


def _xml(mathml: str) -> ET.Element:
    return ET.fromstring(f"<math>{mathml.replace('&#x2062;', '')}</math>")


@pytest.mark.parametrize("label, tags, text", [
    ("w_xg1", ["msub"], "wxg1"),
    ("y'_f", ["msub", "mrow"], "y′f"),
    ("h_1^o", ["msubsup"], "h1o"),
    ("z^L-1_2", ["msubsup"], "z2L−1"),
    ("αA_0(1-A_0)", ["msub"], "αA0(1−A0)"),
    ("v_0,1 new", ["msub", "mtext"], "v0,1new"),
    ("error term f", ["mtext"], "errortermf"),
])
def test_labels_as_mathml(label, tags, text):
    root = _xml(to_mathml(label))
    seen = {e.tag for e in root.iter()}
    assert set(tags) <= seen, seen
    assert "".join(root.itertext()) == text


@pytest.mark.parametrize("label", ["<script>alert(1)</script>", "a&b_<i>", "x\"'_^"])
def test_mathml_escapes_every_character(label):
    """Spec text (unit and input names) inside a label cannot open an element: all of it ends up as token text."""
    root = _xml(to_mathml(label))
    assert {e.tag for e in root.iter()} <= {"math", "mi", "mn", "mo", "mtext", "msub", "msup", "msubsup", "mrow",
                                            "mspace"}
    strip = lambda t: "".join(c for c in t.replace("′", "'") if c not in "_^ ")
    assert strip("".join(root.itertext())) == strip(label)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ekman", "maren", "cs510", "davila"])
def test_conventions_are_data_not_names(name, monkeypatch):
    """A course's conventions are its profile's fields: a copy of a profile under another name writes the very
    same report, so no exporter or written form branches on which course it is."""
    import dataclasses

    import tracer.export.html.report as report

    trace = tracer.run(tracer.load_spec(find_example("frey-online")), epochs=1)
    original = report.render_report(trace, notation=name, steps="1-2")
    copy = dataclasses.replace(PROFILES[name], name="course-x")
    monkeypatch.setattr(report, "profile", lambda notation, spec: Notation(copy, spec))
    assert report.render_report(trace, notation=name, steps="1-2") == original
    changed = dataclasses.replace(copy, error_form="a-y" if copy.error_form != "a-y" else "-(y-a)")
    monkeypatch.setattr(report, "profile", lambda notation, spec: Notation(changed, spec))
    assert report.render_report(trace, notation=name, steps="1-2") != original  # and the data does matter
