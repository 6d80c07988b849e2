"""The PrairieLearn question (tracer template --prairielearn): its server.py, run without tracer importable and
called as PrairieLearn calls it (generate(data), grade(data) with the documented data dict), grades every
answer as `tracer check` grades the same answer of the same variant."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import tracer
from test_live_student import mistake_cases
from tools.cli import tracer_cli
from tracer.grading.check import SCORING, check_answers
from tracer.grading.exercise import Exercise
from tracer.grading.numbers import Rounding
from tracer.grading.compiled import Python, StudentCompiler, update_constants
from tracer.grading.prairielearn import write_prairielearn
from tracer.grading.prairielearn_runtime import Constants
from tracer.grading.template import variant_exercises

HARNESS = r"""
import importlib.abc, json, random, sys

class NoTracer(importlib.abc.MetaPathFinder):  # PrairieLearn has no tracer: importing it must fail
    def find_spec(self, name, path=None, target=None):
        if name == "tracer" or name.startswith("tracer."):
            raise ImportError("tracer is not installed on PrairieLearn")
sys.meta_path.insert(0, NoTracer())
with open(sys.argv[1], encoding="utf-8") as f:  # as PrairieLearn's zygote.py runs server.py: exec in a fresh dict
    code = compile(f.read(), sys.argv[1], "exec")
server = {}
exec(code, server)

def fresh(seed):  # the data dict PrairieLearn passes (docs/question/server.md)
    return {"params": {}, "correct_answers": {}, "submitted_answers": {}, "raw_submitted_answers": {},
            "format_errors": {}, "partial_scores": {}, "score": 0, "feedback": {}, "variant_seed": seed}

out = {"generated": [], "graded": []}
for seed in range(40):
    data = fresh(seed)
    random.seed(seed)  # zygote.py seeds the generators with the variant seed before calling
    server["generate"](data)
    out["generated"].append([data["params"]["variant"], data["params"]["variant_id"], data["correct_answers"]])
for case in json.load(sys.stdin):
    data = fresh(0)
    data["params"]["variant"] = case["variant"]
    data["raw_submitted_answers"] = {f"q{i}": t for i, t in case["texts"].items()}
    data["submitted_answers"] = dict(data["raw_submitted_answers"])
    server["grade"](data)
    out["graded"].append({"score": data["score"], "partial": data["partial_scores"], "feedback": data["feedback"]})
print(json.dumps(out))
"""


def run_question(folder, cases: list[dict]) -> dict:
    ran = subprocess.run([sys.executable, "-c", HARNESS, str(folder / "server.py")], input=json.dumps(cases),
                         capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr[-2000:]
    return json.loads(ran.stdout)


@pytest.mark.parametrize("name, rounding", [("ekman", None), ("frey-batch", Rounding.decimals(3)),
                                            ("softmax-classifier", Rounding.significant(4))])
def test_server_py_grades_every_mistake_as_check_does(name, rounding, tmp_path):
    """Every classic mistake's value of every item (and one value no mistake explains), typed alone into
    variant 2: the score and the named mistake are those `tracer check` gives; generate() spreads the students
    over the variants and sets each one's correct answers."""
    spec = tracer.load_spec(name)
    variants = variant_exercises(spec, 3, 7, steps="1")
    folder = write_prairielearn(tmp_path / "question", spec, variants, rounding, seed=7)
    vid, ex = variants[1]
    cases = mistake_cases(ex.spec, "1")
    graded = run_question(folder, [{"variant": 1, "texts": {str(i): text}} for i, text in cases])
    generated = graded["generated"]
    assert {k for k, _, _ in generated} == {0, 1, 2}
    for k, got_id, answers in generated:
        assert got_id == variants[k][0]
        assert answers == {f"q{i}": variants[k][1].exact[item.key] for i, item in enumerate(variants[k][1].items)}
    wrong = []
    for (i, text), got in zip(cases, graded["graded"]):
        mark = check_answers(ex.spec, {ex.items[i].label: text}, rounding=rounding, steps="1")[i]
        want_score = 1.0 if mark.status in SCORING else 0.0
        want = "wrong: " + mark.diagnosis if mark.status == "wrong" else mark.status
        part = got["partial"][f"q{i}"]
        if part["score"] != want_score or not part["feedback"].replace("right (rounded)", "rounded").replace(
                "right", "correct").startswith(want.split(" (")[0]):
            wrong.append((ex.items[i].label, text, part, mark.status, mark.diagnosis))
    assert wrong == [], wrong[:5]
    assert len(cases) > 50


def test_a_whole_sheet_scores_carried_forward_errors_and_names_the_mistake(tmp_path):
    """A student who doubles ∂E/∂y (the ½ of the loss dropped) and carries it through every later answer: the
    mistake is named and scores 0, the answers computed from it score as carried forward, as check scores them."""
    spec = tracer.load_spec("ekman")
    policy = Rounding.decimals(4)
    variants = variant_exercises(spec, 2, 3, steps="1")
    folder = write_prairielearn(tmp_path / "question", spec, variants, policy, seed=3)
    ex = variants[0][1]
    labels = [item.label for item in ex.items]
    texts = {item.label: f"{ex.exact[item.key]:.4f}" for item in ex.items}
    at = next(i for i, item in enumerate(ex.items) if item.kind == "dE_da")
    texts[labels[at]] = f"{2 * ex.exact[ex.items[at].key]:.4f}"
    for j in range(at + 1, len(labels)):  # each later answer from the student's own earlier ones
        texts[labels[j]] = f"{check_answers(ex.spec, texts, rounding=policy, steps='1')[j].from_own:.4f}"
    marks = check_answers(ex.spec, texts, rounding=policy, steps="1")
    assert marks[at].status == "wrong" and sum(m.status == "carried forward" for m in marks) >= 5
    got = run_question(folder, [{"variant": 0, "texts": {str(i): texts[label] for i, label in enumerate(labels)}}])
    got = got["graded"][0]
    assert [got["partial"][f"q{i}"]["score"] for i in range(len(labels))] == \
        [1.0 if m.status in SCORING else 0.0 for m in marks]
    assert got["score"] == pytest.approx(sum(m.status in SCORING for m in marks) / len(marks))
    assert got["feedback"][f"q{at}"] == f"wrong: {marks[at].diagnosis} ({marks[at].explain})"
    carried = next(i for i, m in enumerate(marks) if m.status == "carried forward")
    assert got["feedback"][f"q{carried}"] == "carried forward: right from your earlier answers"


def test_the_cli_writes_the_question_folder_and_refuses_a_folder_of_the_user_s(tmp_path):
    ran = tracer_cli(["template", "ekman", "--variants", "2", "--out", "ex", "--prairielearn", "q", "--round", "3"],
                     tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == ["info.json", "question.html", "server.py"]
    info = json.loads((tmp_path / "q" / "info.json").read_text())
    assert info["type"] == "v3" and len(info["uuid"]) == 36
    html = (tmp_path / "q" / "question.html").read_text()
    items = Exercise(tracer.load_spec("ekman"), "1").items
    assert html.count("<pl-number-input") == len(items) == 26 and "{{{params.givens}}}" in html
    assert f'answers-name="q25" label="{items[25].label}"' in html
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    ran = tracer_cli(["template", "ekman", "--variants", "2", "--out", "ex2", "--prairielearn", "mine"], tmp_path)
    assert ran.returncode == 2 and "notes.txt" in ran.stderr and "Traceback" not in ran.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep" and not (tmp_path / "ex2").exists()
    ran = tracer_cli(["template", "ekman", "--out", "one.xlsx", "--prairielearn", "q2"], tmp_path)
    assert ran.returncode == 2 and "--prairielearn" in ran.stderr


def python_functions(spec, steps="1"):
    """The items of an exercise compiled to Python, evaluated in the runtime's namespace, and the exercise."""
    from tracer.grading import prairielearn_runtime as runtime

    c = StudentCompiler(spec, steps, None, lambda step, k: (step, k), language=Python)
    namespace = vars(runtime)
    own = [eval(c.own(item), namespace) for item in c.ex.items]
    leaves = [c.ex.recorded.value(step, k) for step, k in c.leaves]
    return c, own, leaves


@pytest.mark.filterwarnings("ignore:layers\\[0\\].activation. threshold has derivative 0")
@pytest.mark.parametrize("source", ["examples", "variants"])
def test_every_item_compiled_to_python_computes_the_engine_s_value(source):
    """Every bundled example, and the networks of every activation, loss and update the examples do not use
    (tests/test_live.py's VARIANTS): each item's Python function over the exact earlier values gives the
    engine's value to a relative 1e-12 (the rules' JavaScript read as Python)."""
    from test_live import VARIANTS, variant_spec
    from tracer.io.resources import example_paths
    from tracer.model.spec import parse_spec

    specs = ([tracer.load_spec(p) for p in example_paths()] if source == "examples"
             else [parse_spec(variant_spec(*v)) for v in VARIANTS])
    worst = 0.0
    for spec in specs:
        c, own, leaves = python_functions(spec, "2" if len(spec.x) > 1 else "1")
        n = len(c.ex.items)
        exact = [c.ex.exact[item.key] for item in c.ex.items]
        g = lambda r: np.float64(leaves[r - n] if r >= n else exact[r])
        for item, f, want in zip(c.ex.items, own, exact):
            got = float(f(g, Constants(update_constants(spec))))
            assert got == pytest.approx(want, rel=1e-12, abs=1e-300), (spec.name, item.label, got, want)
            worst = max(worst, abs(got - want) / max(abs(want), 1e-300))
    assert worst <= 1e-12
