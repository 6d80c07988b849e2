"""A PrairieLearn question for a class's variants: `tracer template SPEC --variants N --prairielearn DIR`.

DIR is a question folder as PrairieLearn documents it: `info.json` (a uuid fixed by the spec, seed and N),
`question.html` (the givens of the student's variant as a table, then a `pl-number-input` per quantity in
hand-computation order) and `server.py`. Its `generate()` picks the student's variant from PrairieLearn's
variant seed and sets the correct answers; its `grade()` judges every answer as `tracer check` does, under the
same rounding policy: right, rounded, carried forward from the student's own earlier answers (full credit), or
wrong with the classic mistake named in the answer's feedback (tracer.grading.prairielearn_runtime). server.py
needs numpy and the standard library only: the exercise's items and mistakes are compiled to Python
(tracer.grading.compiled), and the variants' numbers are data in it.
"""
from __future__ import annotations

import html
import json
import uuid
from pathlib import Path

from ..io.atomic import atomic_directory
from ..options import CHECK_RTOL
from .compiled import Python, StudentCompiler, update_constants
from .exercise import given_rows
from .mistakes import MISTAKES
from .numbers import Rounding

FILES = ("info.json", "question.html", "server.py")
WHAT = "a PrairieLearn question's files"
HERE = Path(__file__).resolve().parent
PASTED_MODULES = ("numbers", "verdict", "prairielearn_runtime")  # what server.py holds, in this order
PASTED = "# pasted"  # an import of a module pasted above it, dropped from server.py

SERVER_TAIL = '''

QUESTION = json.loads(QUESTION_JSON)
VARIANTS = json.loads(VARIANTS_JSON)


def generate(data):
    """The student's variant (from PrairieLearn's variant seed), its givens and the correct answers."""
    k = variant_of(data, len(VARIANTS))
    data["params"]["variant"] = k
    data["params"]["variant_id"] = VARIANTS[k]["id"]
    data["params"]["givens"] = VARIANTS[k]["givens"]
    for i, value in enumerate(VARIANTS[k]["exact"]):
        data["correct_answers"][f"q{i}"] = value


def grade(data):
    """Every answer judged as tracer check judges it; carried-forward errors score, mistakes are named."""
    variant = VARIANTS[data["params"]["variant"]]
    raw = data.get("raw_submitted_answers", {})
    texts = [raw.get(f"q{i}") if str(raw.get(f"q{i}", "")).strip() else None for i in range(len(QUESTION["items"]))]
    with np.errstate(all="ignore"):
        marks = grade_answers(QUESTION, variant, texts, OWN, MISTAKES)
    for i, mark in enumerate(marks):
        score = 1.0 if mark["status"] in SCORING else 0.0
        data["partial_scores"][f"q{i}"] = {"score": score, "weight": 1, "feedback": feedback(mark)}
        data["feedback"][f"q{i}"] = feedback(mark)
    data["score"] = sum(data["partial_scores"][f"q{i}"]["score"] for i in range(len(marks))) / len(marks)
'''


def write_prairielearn(folder, spec, variants: list, rounding: Rounding | None, title: str = "",
                       seed: int = 0) -> Path:
    """The question folder of a class's variants ((variant id, Exercise) each, as variant_exercises draws
    them), written whole or not at all; a folder holding anything but these three files is refused."""
    policy = rounding or Rounding()
    first = variants[0][1]
    compiler = StudentCompiler(first.spec, first.steps, first.names.profile.name, lambda step, k: (step, k),
                               first.trace, language=Python)
    items = compiler.ex.items
    own = [compiler.own(item) for item in items]
    mistakes = [compiler.mistakes(item) for item in items]
    question = {"items": [item.label for item in items], "rtol": CHECK_RTOL,
                "policy": {"kind": policy.kind, "n": policy.n, "truncation": policy.truncation},
                "constants": update_constants(spec),
                "mistakes": [{"name": m.name, "explain": m.explain} for m in MISTAKES]}
    data = [{"id": vid, "givens": givens_table(ex), "exact": [ex.exact[item.key] for item in ex.items],
             "leaves": [ex.recorded.value(step, k) for step, k in compiler.leaves]} for vid, ex in variants]
    title = title or f"{spec.title or spec.name}: backpropagation by hand"
    with atomic_directory(folder, FILES, WHAT) as tmp:
        (tmp / "info.json").write_text(info_json(spec, title, seed, len(variants)), encoding="utf-8")
        (tmp / "question.html").write_text(question_html(question["items"], policy), encoding="utf-8")
        (tmp / "server.py").write_text(server_py(question, data, own, mistakes, title), encoding="utf-8")
    return Path(folder)


def info_json(spec, title: str, seed: int, n: int) -> str:
    """PrairieLearn's info.json: the same uuid for the same spec, seed and number of variants."""
    qid = uuid.uuid5(uuid.NAMESPACE_URL, f"backprop-tracer:{spec.name}:{seed}:{n}")
    return json.dumps({"uuid": str(qid), "title": title, "topic": "Backpropagation", "tags": ["backprop-tracer"],
                       "type": "v3"}, indent=2) + "\n"


def givens_table(ex) -> str:
    """What the student is given, as an HTML table (every text escaped)."""
    rows = "".join(f"<tr><th>{html.escape(str(label))}</th><td>{html.escape(str(value))}</td></tr>"
                   for label, value in given_rows(ex, ex.names))
    return f'<table class="table table-sm">{rows}</table>'


def question_html(labels: list[str], policy: Rounding) -> str:
    """The givens of the student's variant, then one number input per quantity, in hand-computation order."""
    inputs = "\n".join(f'<pl-number-input answers-name="q{i}" label="{html.escape(label)}" allow-blank="true" '
                       f'show-correct-answer="true"></pl-number-input>' for i, label in enumerate(labels))
    return (f"<pl-question-panel>\n<p>Compute each quantity by hand from the givens, in this order. Answers are "
            f"judged as <code>tracer check</code> judges them ({html.escape(policy.describe())}): an error carried "
            f"forward from your own earlier answers costs nothing, and a classic mistake is named.</p>\n"
            "{{{params.givens}}}\n</pl-question-panel>\n" + inputs + "\n")


def server_py(question: dict, variants: list, own: list[str], mistakes: list, title: str) -> str:
    """The modules server.py runs on, pasted, then the data and the compiled functions."""
    functions = ("OWN = [\n" + "".join(f"    {f},\n" for f in own) + "]\n" +
                 "MISTAKES = [\n" + "".join("    [" + ", ".join("[" + ", ".join(fs) + "]" for fs in item) + "],\n"
                                            for item in mistakes) + "]\n")
    head = (f'"""PrairieLearn server for {title!r}, written by backprop-tracer (tracer template --prairielearn).\n'
            'Do not edit: write it again from the spec."""\nimport json\n')
    data = (f"QUESTION_JSON = {json.dumps(json.dumps(question, allow_nan=False))}\n"
            f"VARIANTS_JSON = {json.dumps(json.dumps(variants, allow_nan=False))}\n")
    return head + "".join(pasted(name) for name in PASTED_MODULES) + "\n" + data + "\n" + functions + SERVER_TAIL


def pasted(name: str) -> str:
    """A module of this package as server.py holds it: without its __future__ import and its imports of the
    modules pasted before it (marked `# pasted`)."""
    lines = (HERE / f"{name}.py").read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if line != "from __future__ import annotations" and not line.endswith(PASTED)]
    return f"\n\n# -- tracer.grading.{name} --\n" + "\n".join(kept) + "\n"
