"""One answer policy everywhere: for every bundled example and the policies exact (no --round or --sig), 2 and 3
decimals, 3 and 4 significant digits, one set of answers is graded by `tracer check`, the Moodle quiz (its Cloze
answers evaluated as Moodle does: the first answer whose absolute tolerance holds the number), the Canvas quiz
(the number rounded to Canvas's four decimals in the question's unit, then its margins), the PrairieLearn
question (its server.py's grade(), run without tracer) and the Gradescope autograder (its grade.py, run on a CSV
upload as run_autograder runs it). All agree. The set holds the right answers, the hand-rounded ones, every
classic mistake and a value just outside, each typed to the asked precision. Moodle and Canvas cannot grade the
exact policy (each answer to the digits it shows): they refuse it, and the other three agree on it."""
from __future__ import annotations

import csv
import json
import runpy
import sys
import zipfile

import pytest

import tracer
from tracer.errors import TracerError
from tracer.grading.check import SCORING, check_answers
from tracer.grading.gradescope import write_gradescope
from tracer.grading.lms import canvas_scales, check_quiz_policy, quiz_items
from tracer.grading.mistakes import MISTAKES, mistake_values
from tracer.grading.numbers import Rounding, decimals_for_significant
from tracer.grading.prairielearn import write_prairielearn
from tracer.grading.template import variant_exercises
from tracer.io.resources import example_paths
from test_prairielearn import run_question

pytestmark = pytest.mark.slow  # 29,913 answers, each graded three to five times: two minutes

EXACT = Rounding()  # no --round or --sig: each answer to the digits it shows
POLICIES = [EXACT, Rounding.decimals(2), Rounding.decimals(3), Rounding.significant(3), Rounding.significant(4)]
EXACT_DIGITS = 4  # the exact policy's answers are typed to 4 significant digits (any number is right)
SEED = 5


def places(value: float, policy: Rounding) -> int:
    """Decimals a student keeps of `value` at the asked precision."""
    if policy.kind == "decimals":
        return policy.n
    return decimals_for_significant(value, policy.n if policy.kind == "significant" else EXACT_DIGITS)


def typed(value: float, policy: Rounding) -> str:
    """What a student types for `value` at the asked precision."""
    keep = places(value, policy)
    return f"{value:.{keep}f}" if keep >= 0 else repr(round(value, keep))


def moodle_right(q: dict, number: float) -> bool:
    """Moodle's numerical answer: the first alternative (right answers first) whose tolerance holds it."""
    alternatives = [(v, m, True) for v, m in zip(q["right"], q["margins"])] + \
        [(v, m, False) for v, m, _, _ in q["wrong"]]
    return next((right for v, m, right in alternatives if abs(number - v) <= m * (1 + 1e-9)), False)


def canvas_right(q: dict, number: float, k: int) -> bool:
    """Canvas: the response in the question's unit of 10^k, kept to four decimals, within a right answer's
    margin."""
    response = round(number * 10 ** k, 4)
    return any(abs(response - v * 10 ** k) <= m * 10 ** k * (1 + 1e-9) for v, m in zip(q["right"], q["margins"]))


def reads(ex, item) -> set:
    """The quantities check reads to judge `item`: its operands and what its classic mistakes use."""
    read = set()

    def get(kind, *key):
        read.add((kind, *key))
        return ex.exact[(kind, *key)]

    ex.value(item, get)
    for mistake in MISTAKES:
        mistake_values(mistake, ex, item, get)
    return read - {item.key}


def sheets_of(ex, candidates: list[list[str]]) -> list[dict]:
    """The candidates (per item, the texts to try) packed into answer sheets, item index -> text, in which no
    answered item is read to judge another: each is judged as if it were the sheet's only answer (the other
    quantities blank, so taken as exact), with many fewer sheets than answers."""
    deps = [reads(ex, item) for item in ex.items]
    keys = [item.key for item in ex.items]
    left = [list(texts) for texts in candidates]
    sheets = []
    while any(left):
        sheet: dict = {}
        for i in sorted(range(len(left)), key=lambda i: -len(left[i])):  # the longest lists first
            if left[i] and not any(keys[j] in deps[i] or keys[i] in deps[j] for j in sheet):
                sheet[i] = left[i].pop(0)
        sheets.append(dict(sorted(sheet.items())))
    return sheets


def gradescope_scores(tmp_path, spec, policy: Rounding, sheets: list[dict], labels: list[str]) -> list[dict]:
    """Each sheet uploaded as a CSV (label,value) and graded by the autograder's own grade.py, as
    run_autograder runs it (here with this checkout's tracer, which the zip's wheel holds): label -> score."""
    write_gradescope(tmp_path / "autograder.zip", spec, spec.name, 1, SEED, False,
                     None if policy == EXACT else policy)
    root = tmp_path / "gradescope"
    with zipfile.ZipFile(tmp_path / "autograder.zip") as z:
        z.extractall(root / "source", [n for n in z.namelist() if not n.endswith(".whl")])
    (root / "submission").mkdir()
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"id": "1"}]}))
    upload, argv, scores = root / "submission" / "answers.csv", sys.argv, []
    try:
        for sheet in sheets:
            with open(upload, "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows([labels[i], text] for i, text in sheet.items())
            sys.argv = ["grade.py", str(root)]
            runpy.run_path(str(root / "source" / "grade.py"), run_name="__main__")
            results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
            scores.append({t["name"]: t["score"] for t in results["tests"]})
    finally:
        sys.argv = argv
    return scores


@pytest.mark.parametrize("example", [path.stem for path in example_paths()])
def test_check_moodle_canvas_prairielearn_and_gradescope_agree(example, tmp_path):
    spec = tracer.load_spec(example)
    [(vid, ex)] = variant_exercises(spec, 1, SEED, steps="1")
    labels = [item.label for item in ex.items]
    compared, disagreements = 0, []
    for n, policy in enumerate(POLICIES):
        folder = tmp_path / f"policy{n}"
        folder.mkdir()
        rounding = None if policy == EXACT else policy
        if policy == EXACT:
            for option in ("--moodle", "--qti"):
                with pytest.raises(TracerError, match="one fixed margin"):
                    check_quiz_policy(rounding, option)
            items = [{"right": [ex.exact[item.key]], "wrong": []} for item in ex.items]
        else:
            items = quiz_items(ex, policy)
        scales = canvas_scales([(vid, ex, items)], policy) if rounding else {}
        candidates = []
        for item, q in zip(ex.items, items):
            mistakes = [v for v, _, _, _ in q["wrong"]] if rounding else \
                [c for m in MISTAKES for c in mistake_values(m, ex, item, lambda k, *key: ex.exact[(k, *key)])]
            right = q["right"][0]
            outside = right + 3 * 0.5 * 10.0 ** -places(right, policy)
            candidates.append(list(dict.fromkeys(typed(v, policy) for v in [*q["right"], *mistakes, outside])))
        sheets = sheets_of(ex, candidates)
        by_pl = run_question(write_prairielearn(folder / "question", ex.spec, [(vid, ex)], rounding),
                             [{"variant": 0, "texts": {str(i): t for i, t in sheet.items()}} for sheet in sheets])
        by_gradescope = gradescope_scores(folder, spec, policy, sheets, labels)
        for sheet, pl, gs in zip(sheets, by_pl["graded"], by_gradescope):
            marks = check_answers(ex.spec, {labels[i]: text for i, text in sheet.items()}, rounding=rounding,
                                  steps="1")
            for i, text in sheet.items():
                verdicts = {"check": marks[i].status in SCORING, "prairielearn": pl["partial"][f"q{i}"]["score"] == 1,
                            "gradescope": gs[labels[i]] == 1}
                if rounding:
                    number = float(text)
                    verdicts["moodle"] = moodle_right(items[i], number)
                    verdicts["canvas"] = canvas_right(items[i], number, scales.get(labels[i], 0))
                compared += 1
                if len(set(verdicts.values())) > 1:
                    disagreements.append((policy.describe(), labels[i], text, verdicts))
    assert compared > 100
    assert not disagreements, disagreements[:5]
