"""The live page's conventions (tracer.export.live.worlds), in Chromium: the ½ of the loss, the update order,
online or batch, momentum and decay switched in the page compute what a fresh `tracer run` of the spec the
page then downloads computes, and write the lines a page written for that spec writes."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

import tracer
from tracer.engine.record import Recording
from tools.browser import open_page
from test_live import page_values

READY = "document.body.dataset.live === 'ready'"
WORKED_TEXT = """() => Array.from(document.querySelectorAll(
    "#worked nav, #worked section.step > :is(h2, h3, p, .formula), #worked table:not(.values)"),
    (e) => e.innerText).join("\\n")"""  # the lines and tables: a figure's labels are placed once, for the spec's numbers


def live_data(page) -> dict:
    return page.evaluate("JSON.parse(document.getElementById('live-data').textContent)")


def fragment_of(data: dict, key: str) -> str:
    """The link's fragment that asks for world `key`: each menu's option, and a momentum or decay that chooses
    each constant's option (its own value, or one no option names)."""
    params = {}
    for axis, value in zip(data["axes"], key.split("|")):
        option = next(o for o in axis["options"] if o["value"] == value)
        if axis["given"]:
            number = option["at"] if option["at"] is not None else 0.3
            if number != data["givens"]["P"][axis["given"]]:
                params[f"P.{axis['given']}"] = repr(number)
        elif value != data["givens"]["C"][axis["name"]]:
            params[f"C.{axis['name']}"] = value
    return "#" + urlencode(params)


def conventions_of(spec, data: dict) -> str:
    """The world key a spec's own settings make, read from the spec, not from the page."""
    settings = {"loss": spec.loss.name, "order": spec.training.update_order, "mode": spec.training.mode}
    values = []
    for axis in data["axes"]:
        if axis["given"]:
            number = getattr(spec, axis["given"])
            exact = [o["value"] for o in axis["options"] if o["at"] == number]
            values.append(exact[0] if exact else next(o["value"] for o in axis["options"] if o["at"] is None))
        else:
            values.append(settings[axis["name"]])
    return "|".join(values)


def visit_world(page, fragment: str, key: str) -> None:
    """The page asked for world `key` by a link pasted into its tab."""
    page.evaluate("(fragment) => { location.hash = fragment; }", fragment)
    page.wait_for_function("(key) => tracerLive.world() === key && document.body.dataset.live === 'ready'", arg=key)


def worlds_to_check(data: dict, every: bool) -> list[str]:
    """Every world of the page, or each convention changed alone and the world farthest from the spec's."""
    keys = list(data["worlds"])
    if every:
        return keys
    apart = lambda key: sum(a != b for a, b in zip(key.split("|"), data["world"].split("|")))
    return [k for k in keys if apart(k) <= 1] + [max(keys, key=apart)]


@pytest.mark.parametrize("name", ["ekman", "cs510", "frey-minibatch", "softmax-classifier"])
def test_the_conventions_compute_as_a_fresh_run_of_the_downloaded_spec(name, chromium, tmp_path):
    """Each world the page changes to (all 16 of ekman's; elsewhere each convention changed alone and the
    farthest from the spec: cs510's decay written as (1 − η)w, frey-minibatch's mini-batches against online and
    batch, softmax-classifier's momentum taken out): the page's numbers are those of a fresh run of the spec it
    then downloads, and that spec has the world's conventions."""
    path = tmp_path / "page.live.html"
    tracer.write_live(tracer.load_spec(name), path)
    with open_page(chromium, path) as (page, visit):
        data = live_data(page)
        assert len(data["worlds"]) >= {"ekman": 16, "cs510": 40, "frey-minibatch": 12, "softmax-classifier": 6}[name]
        for key in worlds_to_check(data, every=name == "ekman"):
            visit_world(page, fragment_of(data, key), key)
            saved = tmp_path / f"{key.replace('|', '-')}.yaml"
            saved.write_text(page.evaluate("tracerLive.specText()"))
            spec = tracer.load_spec(saved)
            assert conventions_of(spec, data) == key
            steps = page.evaluate("tracerLive.shown()")
            wrong = page_values(page, tracer.run(spec, record=Recording(steps)).values, steps)
            assert wrong == [], (key, wrong[:3])
        assert visit.console_errors == [] and visit.requests == []


@pytest.mark.parametrize("name, fragment", [("ekman", "#C.loss=sse&C.order=sequential&P.momentum=0.5"),
                                            ("frey-minibatch", "#C.mode=batch"), ("cs510", "#P.weight_decay=0.25")])
def test_a_convention_switched_in_the_page_writes_the_lines_of_a_page_written_for_it(name, fragment, chromium, tmp_path):
    """The steps the page shows after a switch (the ½ gone from E and from ∂E/∂y, the lower layer through the
    updated weights, momentum's term, one batch step instead of two mini-batches, cs510's (1 − η)w becoming
    (1 − ηλ)w) read as the page Python writes for the downloaded spec, word for word and number for number."""
    path = tmp_path / "page.live.html"
    tracer.write_live(tracer.load_spec(name), path)
    with open_page(chromium, path, fragment=fragment) as (page, visit):
        switched = page.evaluate(WORKED_TEXT)
        (tmp_path / "switched.yaml").write_text(page.evaluate("tracerLive.specText()"))
        assert visit.console_errors == []
    tracer.write_live(tracer.load_spec(tmp_path / "switched.yaml"), tmp_path / "written.live.html")
    with open_page(chromium, tmp_path / "written.live.html", javascript=False) as (page, _):
        assert switched == page.evaluate(WORKED_TEXT)


def test_what_the_page_does_not_hold_is_said_and_changes_nothing(chromium, tmp_path):
    """frey-minibatch's page holds its mini-batch, online and batch worlds in its own notation only and no room
    for momentum in batch mode: asking for those says so, and the numbers stay; Reset returns to the spec's page."""
    path = tmp_path / "page.live.html"
    tracer.write_live(tracer.load_spec("frey-minibatch"), path)
    with open_page(chromium, path) as (page, visit):
        data = live_data(page)
        assert "sse|simultaneous|batch|on|off" not in data["worlds"]
        own_text = page.evaluate(WORKED_TEXT)
        page.select_option("select[data-g='C.mode']", "batch")
        page.wait_for_function("tracerLive.world() === 'half_sse|simultaneous|batch|off|off' && " + READY)
        batch_text = page.evaluate(WORKED_TEXT)
        assert batch_text != own_text and "Step 2," not in batch_text.split("Across the steps")[0]
        page.fill("input[data-g='P.momentum']", "0.9")
        assert page.get_attribute("input[data-g='P.momentum']", "aria-invalid") == "true"
        assert page.inner_text("#status").startswith("This page has no worked steps for")
        assert page.evaluate("tracerLive.world()") == "half_sse|simultaneous|batch|off|off"
        assert page.evaluate(WORKED_TEXT) == batch_text
        assert data["notation"] == "frey"
        page.select_option("#notation", "generic")
        page.wait_for_function(READY)
        assert "in 1 notation(s) only" in page.inner_text("#status") and page.input_value("#notation") == "frey"
        page.click("#reset")
        page.wait_for_function(f"tracerLive.world() === '{data['world']}' && " + READY)
        assert page.evaluate(WORKED_TEXT) == own_text and page.input_value("select[data-g='C.mode']") == "minibatch"
        assert visit.console_errors == []


def test_student_mode_works_on_the_spec_s_conventions(chromium, tmp_path):
    """Student mode asks for the spec's quantities: entered from another convention, the page returns to the
    spec's, and its menus cannot change while the student works."""
    path = tmp_path / "page.live.html"
    tracer.write_live(tracer.load_spec("ekman"), path)
    with open_page(chromium, path, fragment="#C.loss=sse") as (page, visit):
        assert page.evaluate("tracerLive.world()") == "sse|simultaneous|off|off"
        page.click("#mode")
        page.wait_for_function("!document.getElementById('exercise').hidden && " + READY)
        assert page.evaluate("tracerLive.world()") == "half_sse|simultaneous|off|off"
        assert page.is_disabled("select[data-g='C.loss']") and page.input_value("select[data-g='C.loss']") == "half_sse"
        assert visit.console_errors == []
