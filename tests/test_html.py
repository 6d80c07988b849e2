"""HTML reports: parsed for content, and rendered in headless Chromium (no errors, no network, MathML laid out)."""
from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

import tracer
from tools.browser import open_page
from tracer.html import render_report, write_report
from tracer.resources import example_paths, find_example

EXAMPLES = [p.stem for p in example_paths()]
SHOTS = Path(__file__).parent / "screenshots"


class Text(HTMLParser):
    """The visible text of a page, MathML tokens joined, and the tags seen."""

    def __init__(self):
        super().__init__()
        self.parts, self.tags, self.skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "script"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def parse(html: str) -> Text:
    p = Text()
    p.feed(html)
    return p


def run(name):
    return tracer.run(tracer.load_spec(find_example(name)))


def test_ekman_report_shows_the_book_numbers_in_the_book_order():
    trace = run("ekman")
    text = "".join(parse(render_report(trace, digits=2)).parts)
    book = ["−0.25", "−0.24", "0.42", "0.17", "−0.58", "−0.14", "−0.066", "0.0066", "−0.006", "0.00066", "0.014",
            "−0.0035"]
    position = 0
    for number in book:
        found = text.find(number, position)
        assert found >= 0, f"{number} not shown after position {position}"
        position = found
    text4 = "".join(parse(render_report(trace, digits=4)).parts)
    for number in ("0.3066", "0.594", "−0.09934", "−0.1859", "0.4965"):  # w_xg0 .. w_gf1 new
        assert number in text4
    for name in ("error term", "MSE", "lr"):
        assert name in text4
    assert "w" in text4 and "xg1" in text4  # w_xg1 as MathML: <msub><mi>w</mi><mi>xg1</mi></msub>


@pytest.mark.parametrize("name, words", [
    ("frey-online", ["ŷ", "δ", "η", "v", "h"]), ("maren", ["NdInpt", "SSE", "H", "saturated"]),
    ("cs510", ["α", "δ", "C"]), ("davila-sse", ["L-1", "C", "∂C/∂"]),
])
def test_each_course_reads_in_its_own_notation(name, words):
    text = "".join(parse(render_report(run(name))).parts)
    for word in words:
        assert word in text, word


def test_same_trace_in_every_notation_shows_the_same_numbers():
    """Only the names change with the notation: the sequence of decimal numbers in the formulas is the same."""
    import re

    trace = run("frey-online")
    sequences = {notation: [n for n in re.findall(r"<mn>([^<]*)</mn>", render_report(trace, notation=notation))
                            if "." in n]
                 for notation in ("generic", "ekman", "frey", "maren", "cs510", "davila")}
    first = sequences["generic"]
    assert len(first) > 100
    assert all(seq == first for seq in sequences.values())


def test_everything_from_the_spec_is_escaped(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(find_example("ekman").read_text().replace("units: [g]", "units: ['<script>alert(1)</script>']")
                    .replace("[[-0.2, 0.5]]", "[[-0.2, 0.5]]").replace("title: Two", "title: <b>Two"))
    html = render_report(tracer.run(tracer.load_spec(spec)))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>Two" not in html


def test_deterministic_and_atomic(tmp_path):
    write_report(run("maren"), tmp_path / "a.html")
    write_report(run("maren"), tmp_path / "b.html")
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.html", "b.html"]


def test_long_runs_stay_small():
    html = render_report(run("xor"))
    assert len(html) < 2_000_000
    assert "of 40000 steps shown" in html


def test_self_contained():
    html = render_report(run("softmax-classifier"))
    for tag, attrs in parse(html).tags:
        assert tag not in ("script", "link", "img", "iframe")
        assert not any(v and ("http:" in v or "https:" in v) for v in attrs.values())


def test_repr_html_for_jupyter():
    html = run("ekman")._repr_html_()
    assert "tracer-summary" in html and "<math>" in html


def test_cli_html_default_path(tmp_path):
    p = subprocess.run([sys.executable, "-m", "tracer", "run", str(find_example("cs510")), "--html", "-q",
                        "--digits", "3"], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "reports" / "cs510.html").is_file()
    p = subprocess.run([sys.executable, "-m", "tracer", "run", "ekman", "--html", "--notation", "nope"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 2 and "unknown notation" in p.stderr and not (tmp_path / "reports" / "ekman.html").exists()


@pytest.mark.parametrize("name", EXAMPLES)
def test_report_in_a_real_browser(name, chromium, tmp_path):
    trace = run(name)
    path = tmp_path / f"{name}.html"
    write_report(trace, path)
    with open_page(chromium, path) as (page, visit):
        assert visit.console_errors == []
        assert visit.requests == []
        assert trace.spec.title in visit.text
        first_step = trace.updates[trace.updates["step"] == 1]
        assert any(f"{v:.4g}".replace("-", "−") in visit.text for v in first_step["w_new"])
        boxes = page.eval_on_selector_all("math", "els => els.slice(0, 50).map(e => e.getBoundingClientRect())"
                                                  ".map(r => [r.width, r.height])")
        assert boxes and all(w > 0 and h > 0 for w, h in boxes)
        # laid out as mathematics: a fraction or subscript is taller than a line of text, not raw markup
        assert "<msub>" not in visit.text and "<mi>" not in visit.text
        script = page.locator("msub, msup, msubsup").first
        assert script.bounding_box()["height"] > 0
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def test_report_reads_with_scripts_off(chromium, tmp_path):
    path = tmp_path / "e.html"
    write_report(run("ekman"), path)
    with open_page(chromium, path, javascript=False) as (page, visit):
        assert "error term" in visit.text and "0.4201" in visit.text
