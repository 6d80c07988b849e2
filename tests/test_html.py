"""HTML reports: parsed for content (the books' numbers in the books' order and notation), and rendered in
headless Chromium (no console errors, no network requests, the numbers visible, MathML laid out)."""
from __future__ import annotations

import os
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

import tracer
from tools.browser import open_page
from tracer.export.html import SATURATED, gridsvg, render_report, write_report
from tracer.io.resources import find_example
from tools.cli import tracer_cli
from traces import example_trace

SHOTS = os.environ.get("TRACER_SHOTS")  # a folder for full-page screenshots to look at (2-5 s each), if set
NOTATIONS = ("generic", "ekman", "frey", "maren", "cs510", "davila", "sensitivity")


class Page(HTMLParser):
    """The text of a page (style skipped), the text of each <math> formula, and the tags seen."""

    def __init__(self):
        super().__init__()
        self.parts, self.formulas, self.tags, self.cells = [], [], [], []
        self._skip = self._math = 0
        self._formula: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "script", "title"):
            self._skip += 1
        elif tag == "math":
            self._math += 1
            self._formula = []
        elif tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("style", "script", "title"):
            self._skip -= 1
        elif tag == "math":
            self._math -= 1
            self.formulas.append("".join(self._formula))
        elif tag == "td" and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._skip:
            return
        self.parts.append(data)
        if self._math:
            self._formula.append(data.replace(" ", ""))
        if self._cell is not None:
            self._cell.append(data)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def parse(html: str) -> Page:
    p = Page()
    p.feed(html)
    return p


def run(name):
    return example_trace(name)


def in_order(formulas: list[str], expected: list[str]) -> None:
    """Each expected piece is in a formula after the formula of the piece before (the book's order)."""
    i = 0
    for piece in expected:
        while i < len(formulas) and piece not in formulas[i]:
            i += 1
        assert i < len(formulas), f"{piece!r} not found in order; formulas: {formulas}"


def test_ekman_report_shows_the_book_numbers_in_the_book_order():
    """Ekman ch. 3 numerical example, printed to two significant digits as the book prints them."""
    page = parse(render_report(run("ekman"), digits=2))
    in_order(page.formulas, [
        "0.3+0.6·(−0.9)+(−0.1)·0.1=−0.25",  # z_g = w_xg0 + w_xg1 x1 + w_xg2 x2
        "yg=tanh(zg)=tanh(−0.25)=−0.24",
        "yf=S(zf)",
        "(1−0.42)", "=0.17",  # MSE = (1.0 − 0.42)²/2 = 0.17
        "MSE′=−(y−yf)=−(1−0.42)=−0.58",
        "errortermf=MSE′·y′f=−0.58·0.42·(1−0.42)=−0.14",
        "errortermg=errortermf·wgf1·y′g=−0.14·0.5·(1−(−0.24)2)=−0.066",
        "Δwxg0=−lr·1·errortermg=−0.1·1·(−0.066)=0.0066",
        "Δwxg1=−lr·x1·errortermg=−0.1·(−0.9)·(−0.066)=−0.006",
        "Δwxg2=−lr·x2·errortermg=−0.1·0.1·(−0.066)=0.00066",
        "Δwgf0=−lr·1·errortermf=−0.1·1·(−0.14)=0.014",
        "=−0.0035",  # Δw_gf1 = −0.1 · (−0.25) · (−0.14) in the book (it rounds y_g to −0.25 there)
        "=0.3+0.0066=", "=0.6−0.006=", "=−0.1+0.00066=", "=−0.2+0.014=", "=0.5−0.0035=",
    ])
    page4 = parse(render_report(run("ekman"), digits=4))
    for new in ("=0.3066", "=0.594", "=−0.09934", "=−0.1859", "=0.4965"):  # the book: 0.3066 0.5940 −0.0993 ...
        assert any(f.endswith(new) for f in page4.formulas), new
    assert "δ" not in "".join(page4.formulas)  # Ekman says "error term", never delta


def test_digits_control_the_precision():
    trace = run("ekman")
    three = parse(render_report(trace, digits=3)).formulas
    assert any(f.endswith("=0.307") for f in three) and not any("0.3066" in f for f in three)
    with pytest.raises(tracer.TracerError):
        render_report(trace, digits=0)


@pytest.mark.parametrize("name, pieces, absent", [
    ("frey-online", ["ŷ1", "δ1o", "η", "g′o(h1o)", "v01", "w01", "Σkδkw1k", "←", "=ŷ1−y1="], ["error", "NdInpt"]),
    ("maren", ["NdInptO0", "SSE", "−E0=−(Desired0−A0)", "αA0(1−A0)", "v0,0", "−η·∂SSE/∂v0,0", "w0,0new"], ["ŷ"]),
    ("cs510", ["z11", "a12", "δ12", "∂C/∂a12=a12−y1", "(1−α)", "b11", "h′(z11)"], ["η", "error"]),  # z^l_j
    ("davila-sse", ["zL−1", "aL", "∂C/∂aL=2(aL−y)", "σ′(zL)", "∂C/∂zL", "bL", "wL"], ["δ", "1/2"]),
])
def test_each_course_reads_in_its_own_notation(name, pieces, absent):
    formulas = "".join(parse(render_report(run(name))).formulas)
    for piece in pieces:
        assert piece in formulas, piece
    for word in absent:
        assert word not in formulas, word


def test_matrix_form_texts_read_in_sensitivities():
    """The matrix-form profile: net input n, sensitivity s = ∂F/∂n with F = eᵀe (Davila's sse has no 1/2), the
    input p, the target t and the learning rate α."""
    formulas = "".join(parse(render_report(run("davila-sse"), notation="sensitivity", steps="1")).formulas)
    for piece in ["F=(a12−t1)2", "s12=ḟ2(n12)·∂F/∂a12", "n11=b11+w1,11⁢p1", "∂F/∂w1,11=s11·p1", "α"]:
        assert piece in formulas, piece
    for word in ["δ", "z1", "η"]:
        assert word not in formulas, word


def test_loss_written_with_or_without_the_half():
    """Ekman divides by 2, Frey and Maren write 1/2 in front, Davila's C = (a − y)² has no 1/2."""
    ekman = parse(render_report(run("ekman"))).tags
    assert any(tag == "mfrac" for tag, _ in ekman)
    html = render_report(run("frey-online"))
    assert "<mfrac><mrow><mn>1</mn></mrow><mrow><mn>2</mn></mrow></mfrac>" in html
    davila = render_report(run("davila-sse"))
    assert "<mfrac><mrow><mn>1</mn></mrow><mrow><mn>2</mn></mrow></mfrac>" not in davila.split('id="step-1"')[1]


def test_same_trace_in_every_notation_shows_the_same_numbers():
    """Only names and the way of writing change with the notation: every value of the trace is shown in each."""
    trace = run("frey-online")
    pages = {n: parse(render_report(trace, notation=n, steps="1-2", digits=4)) for n in NOTATIONS}
    fmt = lambda v: f"{v:.4g}".replace("-", "−")
    nodes = trace.nodes[trace.nodes["step"] <= 2]
    updates = trace.updates[trace.updates["step"] <= 2]
    values = {fmt(v) for col in ("z", "a", "delta") for v in nodes[col]} | {fmt(v) for v in updates["w_new"]}
    for name, page in pages.items():
        text = "".join(page.formulas)
        missing = [v for v in values if f"={v}" not in text]
        assert not missing, (name, missing)
    tables = {name: page.cells[-len(trace.updates):] for name, page in pages.items()}
    assert all(t == tables["generic"] for t in tables.values())


def test_sign_conventions_as_the_sources_write_them():
    """Ekman and Maren put −η into Δw and add it; Frey subtracts η ∂E/∂w; CS 510 writes (1 − α) w − α a δ."""
    ekman = parse(render_report(run("ekman"))).formulas
    assert any(f.startswith("Δwxg1=−lr·") for f in ekman) and any(f.startswith("wxg1new=wxg1+Δwxg1=") for f in ekman)
    maren = parse(render_report(run("maren"))).formulas
    assert any(f.startswith("Δv0,0=−η·∂SSE/∂v0,0=−0.5·") for f in maren)
    frey = parse(render_report(run("frey-online"))).formulas
    assert any(f.startswith("w11←w11−η·∂E/∂w11=") for f in frey)
    cs510 = parse(render_report(run("cs510"))).formulas
    assert any(f.startswith("w112←(1−α)w112−α·a11·δ12=") for f in cs510)  # w^2_11 ← (1 − α) w^2_11 − α a^1_1 δ^2_1


def test_batch_gradients_are_the_mean_of_the_samples():
    trace = run("frey-batch")
    page = parse(render_report(trace, steps="1"))
    assert "mean over the 4 samples" in page.text
    g = trace.updates[trace.updates["step"] == 1]["grad"].iloc[0]
    assert any(f.startswith("∂E/∂v01=14Σ") and f.endswith(f"={g:.4g}".replace("-", "−")) for f in page.formulas)


def test_saturated_units_flagged_as_the_trace_says():
    trace = run("maren")
    nodes = trace.nodes
    expected = {(s, u) for s, u, d in zip(nodes["step"], nodes["unit"].astype(str), nodes["da_dz"]) if abs(d) < SATURATED}
    assert expected, "the Maren example is built to saturate"
    html = render_report(trace)
    steps = html.split('<section class="step">')[1:]
    for i, section in enumerate(steps, start=1):
        flagged = 'class="badge"' in section
        assert flagged == any(s == i for s, _ in expected), i
    assert 'class="badge"' not in render_report(run("ekman"))


def test_everything_from_the_spec_is_escaped(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(find_example("ekman").read_text().replace("units: [g]", "units: ['<script>alert(1)</script>']")
                    .replace("title: Two", "title: <b>Two").replace("inputs: [x1, x2]", "inputs: [x1, 'x&2']"))
    html = render_report(tracer.run(tracer.load_spec(spec)))
    page = parse(html)
    assert not any(tag in ("script", "b") for tag, _ in page.tags)
    assert "<script>alert(1)</script>" in page.text and "<b>Two" in page.text
    assert "&lt;script&gt;" in html


def test_deterministic_and_atomic(tmp_path):
    write_report(run("maren"), tmp_path / "a.html")
    write_report(run("maren"), tmp_path / "b.html")
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.html", "b.html"]
    with pytest.raises(tracer.TracerError):
        write_report(run("maren"), tmp_path / "c.html", steps="99")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.html", "b.html"]


@pytest.mark.slow
def test_long_runs_stay_small():
    """xor: 10,000 epochs of 4 samples (40,000 steps) -> the chosen steps, thinned charts, a limited table."""
    trace = run("xor")
    start = time.perf_counter()
    html = render_report(trace)
    seconds = time.perf_counter() - start
    print(f"xor report: {len(html.encode()) / 1e3:.0f} kB in {seconds:.2f} s")
    assert len(html.encode()) < 1_000_000
    assert "of 40000 steps shown" in html
    assert html.count('<section class="step">') == 4  # the spec's steps: 1-3,last


def test_self_contained():
    html = render_report(run("softmax-classifier"))
    for tag, attrs in parse(html).tags:
        assert tag not in ("script", "link", "img", "iframe", "object", "embed")
        assert not any(v and re.search(r"(https?:|//|url\((?!#))", v) for v in attrs.values()), (tag, attrs)
    assert "@import" not in html and "url(http" not in html


def test_repr_html_for_jupyter(tmp_path):
    html = run("ekman")._repr_html_()
    page = parse(html)
    assert "tracer-summary" in html and any("tanh(−0.25)" in f for f in page.formulas)
    assert len(html) < len(render_report(run("ekman")))
    from tracer.io.tracefiles import read_trace
    from tracer.io.tracewriter import write_trace

    write_trace(run("ekman"), tmp_path)
    assert "5 rows" in read_trace(tmp_path)._repr_html_()  # no spec: the tables' sizes


def test_notebook_summary_styles_only_itself():
    """_repr_html_'s CSS is scoped to its own container: a notebook page keeps its own body, tables and headings."""
    import re

    html = run("ekman")._repr_html_()
    css = html.split("<style>", 1)[1].split("</style>", 1)[0]
    selectors = [sel.strip() for block in re.findall(r"([^{}]+)\{", css) for sel in block.split(",")]
    assert selectors and all(sel.startswith(".tracer-summary") for sel in selectors), \
        [sel for sel in selectors if not sel.startswith(".tracer-summary")][:5]
    assert "@media print" not in css and "body" not in css


@pytest.mark.slow
def test_cli_html_default_path(tmp_path):
    p = tracer_cli(["run", find_example("cs510"), "--html", "-q", "--digits", "3", "--notation", "generic", "--steps",
                    "1"], tmp_path)
    assert p.returncode == 0, p.stderr
    html = (tmp_path / "out" / "cs510.html").read_text()
    assert html.count('<section class="step">') == 1 and "Generic" in html
    p = tracer_cli(["run", "ekman", "--html", "x.html", "--notation", "nope"], tmp_path)
    assert p.returncode == 2 and "unknown notation" in p.stderr and "Traceback" not in p.stderr
    p = tracer_cli(["run", "ekman", "--html", "x.html", "--digits", "0"], tmp_path)
    assert p.returncode == 2 and "--digits" in p.stderr and not (tmp_path / "x.html").exists()


def test_report_in_a_real_browser(example, chromium, tmp_path):
    trace = example_trace(example)
    path = tmp_path / f"{example.stem}.html"
    write_report(trace, path)
    with open_page(chromium, path) as (page, visit):
        assert visit.console_errors == []
        assert visit.requests == []
        assert trace.spec.title in visit.text
        first_step = trace.updates[trace.updates["step"] == 1]
        shown = [f"{v:.4g}".split("e")[0].replace("-", "−") + ("·10" if "e" in f"{v:.4g}" else "")
                 for v in first_step["w_new"]]  # 8.921e-05 written 8.921·10⁻⁵
        assert all(v in visit.text for v in shown), shown
        # MathML laid out as mathematics: math boxes with a size, scripts placed, no markup shown as text
        info = page.evaluate("""() => [...document.querySelectorAll('math')].slice(0, 80).map(m => {
            const r = m.getBoundingClientRect();
            return [getComputedStyle(m).display, r.width, r.height]; })""")
        assert info and all("math" in d and w > 0 and h > 0 for d, w, h in info), info[:5]
        # scripts set smaller than their base (MathML's scriptlevel; an unknown element would inherit the size),
        # superscripts raised
        scripts = page.evaluate("""() => [...document.querySelectorAll('.eq msub, .eq msup, .eq msubsup')].slice(0, 40)
            .map(s => { const b = s.children[0], i = s.children[1];
                return [s.tagName, parseFloat(getComputedStyle(b).fontSize), parseFloat(getComputedStyle(i).fontSize),
                        b.getBoundingClientRect().top, i.getBoundingClientRect().top]; })""")
        assert scripts
        for tag, base_size, script_size, base_top, script_top in scripts:
            assert script_size < base_size, (tag, base_size, script_size)
            if tag == "msup":
                assert script_top < base_top, (tag, base_top, script_top)
        assert "<mi>" not in visit.text and "<msub>" not in visit.text
        figures = "svg.grid" if trace.spec.grids else "svg.net"  # conv and rnn nets: their grid figures
        svg = page.evaluate(f"() => [...document.querySelectorAll('{figures}')]"
                            ".map(s => s.getBoundingClientRect().width)")
        assert svg and all(w > 100 for w in svg)
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / f"{example.stem}.png"), full_page=True)


SVG_GEOMETRY = """() => [...document.querySelectorAll('svg.net, svg.chart')].map(svg => {
    const box = r => ({x0: r.left, y0: r.top, x1: r.right, y1: r.bottom});
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    const size = e => parseFloat(getComputedStyle(e).fontSize) * scale;
    const texts = [...svg.querySelectorAll('text')].map(t => ({
        text: t.textContent, cls: t.getAttribute('class') || '', box: box(t.getBoundingClientRect()),
        sizes: [t, ...t.querySelectorAll('tspan')].map(size)}));
    const circles = [...svg.querySelectorAll('circle')].map(c => {
        const r = c.getBoundingClientRect(); return {cx: (r.left + r.right) / 2, cy: (r.top + r.bottom) / 2,
                                                     r: r.width / 2}; });
    const thick = [...svg.querySelectorAll('line')].map((l, edge) => ({l, edge}))
        .filter(({l}) => parseFloat(l.getAttribute('stroke-width') || 1) > 2)
        .map(({l, edge}) => { const m = l.getScreenCTM(), p = svg.createSVGPoint();
            const at = (x, y) => { p.x = x; p.y = y; const q = p.matrixTransform(m); return [q.x, q.y]; };
            return {a: at(l.x1.baseVal.value, l.y1.baseVal.value), b: at(l.x2.baseVal.value, l.y2.baseVal.value),
                    half: parseFloat(l.getAttribute('stroke-width')) * scale / 2, edge}; });
    return {cls: svg.getAttribute('class'), width: svg.getBoundingClientRect().width, texts, circles, thick};
})"""


def overlap(a, b) -> bool:
    return a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]


def touches_circle(box, c) -> bool:
    nx, ny = min(max(c["cx"], box["x0"]), box["x1"]), min(max(c["cy"], box["y0"]), box["y1"])
    return (c["cx"] - nx) ** 2 + (c["cy"] - ny) ** 2 < c["r"] ** 2


def touches_stroke(box, line) -> bool:
    (x1, y1), (x2, y2), h = line["a"], line["b"], line["half"]
    return any(box["x0"] - h < x1 + (x2 - x1) * k / 50 < box["x1"] + h and
               box["y0"] - h < y1 + (y2 - y1) * k / 50 < box["y1"] + h for k in range(51))


@pytest.mark.parametrize("name", ["ekman", "maren", "frey-batch", "xor", "mazur", "softmax-classifier"])
def test_diagrams_read_on_a_projector(name, chromium, tmp_path):
    """At 1280 px in Chromium: every SVG text at least 12 px as rendered, no label over another label, a node
    or another edge's thick arrow (a label sits on its own edge, over a halo), powers of ten as superscripts
    (no caret shown), and no diagram wider than the page."""
    path = tmp_path / f"{name}.html"
    write_report(run(name), path)
    with open_page(chromium, path, width=1280) as (page, _):
        drawings = page.evaluate(SVG_GEOMETRY)
        page_width = page.evaluate("() => document.body.getBoundingClientRect().width")
    assert drawings
    for svg in drawings:
        assert svg["width"] <= page_width + 1, (name, svg["cls"], svg["width"])
        texts = svg["texts"]
        small = [(t["text"], round(min(t["sizes"]), 1)) for t in texts if min(t["sizes"]) < 12 - 1e-6]
        assert not small, (name, svg["cls"], small[:5])
        assert not [t["text"] for t in texts if "^" in t["text"]], name
        pairs = [(a["text"], b["text"]) for i, a in enumerate(texts) for b in texts[i + 1:]
                 if overlap(a["box"], b["box"])]
        assert not pairs, (name, svg["cls"], pairs[:5])
        labels = [t for t in texts if "wlabel" in t["cls"]]  # the k-th label belongs to the k-th line
        on_nodes = [t["text"] for t in labels for c in svg["circles"] if touches_circle(t["box"], c)]
        assert not on_nodes, (name, on_nodes[:5])
        on_arrows = [t["text"] for k, t in enumerate(labels) for line in svg["thick"]
                     if line["edge"] != k and touches_stroke(t["box"], line)]
        assert not on_arrows, (name, on_arrows[:5])


def test_report_reads_with_scripts_off(chromium, tmp_path):
    path = tmp_path / "e.html"
    write_report(run("ekman"), path)
    with open_page(chromium, path, javascript=False) as (page, visit):
        assert "error term" in visit.text and "0.4201" in visit.text
        assert page.locator("math").count() > 10


# -- docs/html.md: its commands run, its Python runs, its example lines are what the reports show ------------
DOC = Path(__file__).resolve().parents[1] / "docs" / "html.md"


@pytest.mark.slow
def test_docs_commands_run(tmp_path):
    """Each `tracer ...` line of the sh blocks, with `# exit N` where it is not 0 (and then no file written)."""
    import shlex

    doc = DOC.read_text(encoding="utf-8")
    lines = [line for block in re.findall(r"```sh\n(.*?)```", doc, re.S) for line in block.splitlines()
             if line.startswith("tracer ")]
    assert len(lines) >= 5
    for line in lines:
        command, _, comment = line.partition("#")
        expected = int(m.group(1)) if (m := re.search(r"exit (\d)", comment)) else 0
        before = set(tmp_path.rglob("*"))
        command = command.replace("examples/", str(find_example("ekman").parent) + "/")
        p = tracer_cli([*shlex.split(command)[1:], "-q"], tmp_path)
        assert p.returncode == expected, (line, p.stderr)
        written = set(tmp_path.rglob("*.html")) - before
        assert bool(written) == (expected == 0), (line, written)
    assert (tmp_path / "out" / "ekman.html").is_file() and (tmp_path / "frey.html").is_file()


def test_docs_python_runs(tmp_path, monkeypatch):
    code = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code.replace("examples/", str(find_example("ekman").parent) + "/"), "docs/html.md", "exec"), {})
    assert (tmp_path / "ekman.html").is_file()


def _flat(text: str) -> str:
    """A formula as plain characters: no spaces, scripts markers, braces or invisible times; ' and ² as shown."""
    text = text.replace("'", "′").replace("²", "2").replace("\u2062", "")
    return re.sub(r"[\s_^{}]", "", text)


def test_docs_example_lines_are_what_the_reports_show():
    doc = DOC.read_text(encoding="utf-8")
    section = doc.split("The same trace in each notation")[1].split("\n\n")[1]
    bullets = re.findall(r"^- [^(]*\(`([\w-]+)`[^)]*\): (.*?)(?=^- |\Z)", section, re.S | re.M)
    assert {name for name, _ in bullets} == {"ekman", "frey-online", "maren", "cs510", "davila-sse"}
    for name, body in bullets:
        digits = 2 if "--digits 2" in body or name == "ekman" else 4
        formulas = [_flat(f) for f in parse(render_report(run(name), steps="1", digits=digits)).formulas]
        for line in body.rstrip().rstrip(".").split(";"):
            flat = _flat(line)
            assert any(flat in f for f in formulas), (name, line, [f for f in formulas if f[:4] == flat[:4]])


@pytest.mark.slow
def test_long_runs_are_cut_down_with_a_note(tmp_path):
    """No selection on a long run: steps 1-3 and the last; a huge selection: its first MAX_WRITTEN, noted."""
    from tracer.export.html import MAX_WRITTEN

    spec = tracer.load_spec(find_example("xor")).replace(steps="")
    trace = tracer.run(spec, epochs=100)  # 400 steps
    html = render_report(trace)
    assert html.count('<section class="step">') == 4 and "steps 1-3 and the last are written out" in html
    html = render_report(trace, steps="all")
    assert html.count('<section class="step">') == MAX_WRITTEN and "400 steps chosen" in html
    print(f"xor, {MAX_WRITTEN} steps written out: {len(html.encode()) / 1e6:.1f} MB")
    assert len(html.encode()) < 10_000_000
    small = example_trace("frey-online")  # 8 steps, no steps: in the spec
    assert render_report(small).count('<section class="step">') == 8


ARITY = {"msub": 2, "msup": 2, "mfrac": 2, "munder": 2, "mover": 2, "msubsup": 3, "munderover": 3}


class Arity(HTMLParser):
    """Counts the element children of each MathML script and fraction element (MathML fixes the number)."""

    VOID = {"mspace", "meta", "br", "img", "input", "link", "circle", "line", "path", "polyline"}

    def __init__(self):
        super().__init__()
        self.stack: list[list] = []
        self.bad: list[tuple[str, int]] = []

    def handle_starttag(self, tag, attrs):
        if self.stack:
            self.stack[-1][1] += 1
        if tag not in self.VOID:
            self.stack.append([tag, 0])

    def handle_startendtag(self, tag, attrs):
        if self.stack:
            self.stack[-1][1] += 1

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        name, children = self.stack.pop()
        assert name == tag, (name, tag)
        if name in ARITY and children != ARITY[name]:
            self.bad.append((name, children))


@pytest.mark.slow
def test_mathml_scripts_and_fractions_are_well_formed(example):
    """msub has a base and a script, msubsup three children ...: else browsers draw garbage."""
    trace = example_trace(example)
    for notation in NOTATIONS:
        p = Arity()
        p.feed(render_report(trace, notation=notation, steps="1"))
        assert p.bad == [], (notation, p.bad[:5])


@pytest.mark.parametrize("n", [3, 11, 12, 27])
def test_chart_legend_names_every_series(n):
    """Up to LEGEND_ROWS names at the chart's right, more in columns under it: never "… k more"."""
    from tracer.export.html.svg import LEGEND_ROWS, line_chart

    series = [(f"w{i}", "#000", [(0.0, float(i)), (1.0, float(i) + 0.5)]) for i in range(n)]
    svg = line_chart(series, "step", "weight")
    shown = re.findall(r'<text x="([\d.]+)" y="(\d+)" class="tick">(w\d+)</text>', svg)
    assert [name for _, _, name in shown] == [f"w{i}" for i in range(n)]
    assert "more" not in svg
    height = float(re.search(r'height="([\d.]+)"', svg)[1])
    assert all(float(y) < height - 3 for _, y, _ in shown)  # inside the drawing
    below = [float(y) > 300 for _, y, _ in shown]
    assert all(below) if n > LEGEND_ROWS else not any(below)


def test_chart_series_that_share_a_colour_differ_in_dashes():
    """Past the palette's length colours repeat; the repeats are dashed, in the lines and in the legend."""
    from tracer.export.html.svg import PALETTE, line_chart

    n = len(PALETTE) + 2
    series = [(f"w{i}", PALETTE[i % len(PALETTE)], [(0.0, float(i)), (1.0, float(i))]) for i in range(n)]
    svg = line_chart(series, "step", "weight")
    lines = re.findall(r'<polyline fill="none"[^>]*>', svg)
    legend = re.findall(r'<line [^>]*stroke-width="3"[^>]*/>', svg)
    for drawn in (lines, legend):
        styles = [(re.search(r'stroke="([^"]+)"', tag)[1], "stroke-dasharray" in tag) for tag in drawn]
        assert len(styles) == n and len(set(styles)) == n, styles


GRID_GEOMETRY = """() => [...document.querySelectorAll('svg.grid')].map(svg => {
    const box = r => ({x0: r.left, y0: r.top, x1: r.right, y1: r.bottom});
    const texts = [...svg.querySelectorAll('text')].map(t => ({text: t.textContent, cls: t.getAttribute('class'),
        box: box(t.getBoundingClientRect()), size: parseFloat(getComputedStyle(t).fontSize)}));
    const rects = [...svg.querySelectorAll('rect')].filter(r => r.getAttribute('fill') !== 'none')
        .map(r => box(r.getBoundingClientRect()));
    return {width: svg.getBoundingClientRect().width, texts, rects};
})"""


@pytest.mark.parametrize("seed", [None, 16, 4, "rnn-4", "rmit-conv-pool", "yeh-rnn"])  # tiny-conv; shared ties,
def test_grid_figures_read_on_a_projector(seed, chromium, tmp_path):  # two convs; 2 channels; rnn; the bundled
    """At 1280 px: every grid figure's text at least 12 px, no text over another, each number inside its cell,
    no operator over a panel; the conv's input, kernel and output and the pool's input and output are all there,
    the first window outlined and the chosen maxima shaded."""
    from test_grid import tiny
    from test_grid_oracle import random_spec
    from test_rnn_oracle import random_rnn

    if seed in ("rmit-conv-pool", "yeh-rnn"):
        spec = tracer.load_spec(find_example(seed))
    else:
        raw = tiny() if seed is None else random_rnn(int(seed[4:])) if isinstance(seed, str) else random_spec(seed)
        spec = tracer.parse_spec(raw)
    path = tmp_path / "grid.html"
    write_report(tracer.run(spec), path, steps="1")
    html = path.read_text()
    with open_page(chromium, path, width=1280) as (page, visit):
        assert visit.console_errors == []
        drawings = page.evaluate(GRID_GEOMETRY)
    rnn = spec.layers[0].recurrence is not None
    convs = sum(len(l.kernels) for l in spec.layers if l.grid is not None and l.grid.conv and not rnn)
    pools = sum(l.grid.in_shape[0] for l in spec.layers if l.grid is not None and not l.grid.conv)
    assert len(drawings) == 2 + (1 if rnn else convs + pools)  # the chains of the network and of the step's changes
    for svg in drawings:
        texts = svg["texts"]
        assert all(t["size"] >= 12 for t in texts), [t for t in texts if t["size"] < 12][:3]
        pairs = [(a["text"], b["text"]) for i, a in enumerate(texts) for b in texts[i + 1:]
                 if overlap(a["box"], b["box"])]
        assert not pairs, pairs[:5]
        cells = [t for t in texts if t["cls"] == "cell"]
        assert all(any(inside(t["box"], r) for r in svg["rects"]) for t in cells), "a number leaves its cell"
        ops = [t["text"] for t in texts if t["cls"] == "op" for r in svg["rects"] if overlap(t["box"], r)]
        assert not ops, ops[:5]
    if rnn:
        assert "unrolled over" in html
        return
    outlined = sum(l.grid.in_shape[0] + 1 for l in spec.layers if l.grid is not None and l.grid.conv)
    assert html.count(f'stroke="{gridsvg.WINDOW}"') == outlined  # in each input channel and at its output cell
    if any(l.grid is not None and l.grid.kind == "maxpool2d" for l in spec.layers):
        assert f'fill="{gridsvg.MARK}"' in html


def inside(a, b) -> bool:
    return (b["x0"] - 0.5 <= a["x0"] and a["x1"] <= b["x1"] + 0.5 and b["y0"] - 0.5 <= a["y0"]
            and a["y1"] <= b["y1"] + 0.5)
