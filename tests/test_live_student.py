"""Student mode of the live page, in Chromium: each answer judged as `tracer check` judges it (tracer.grading),
by functions the page compiles from the plan and the classic mistakes' substitutions of it."""
from __future__ import annotations

import numpy as np
import pytest

import tracer
from tools.browser import open_page
from tracer.grading.check import check_answers, check_file
from tracer.grading.exercise import Exercise
from tracer.grading.mistakes import MISTAKES, mistake_values
from tracer.grading.numbers import Rounding

GRADE_ONE = """([i, text]) => {
    const input = document.getElementById("answer-" + i);
    input.value = text;
    const mark = tracerLive.grade()[i];
    input.value = "";
    return [mark.status, mark.diagnosis, mark.explain];
}"""


def mistake_cases(spec, steps) -> list[tuple[int, str]]:
    """(item, answer) for each classic mistake's value of each item, from the exact values, to 6 digits."""
    ex = Exercise(spec, steps)
    exact = lambda kind, *k: ex.exact[(kind, *k)]
    cases = []
    for i, item in enumerate(ex.items):
        for mistake in MISTAKES:
            for value in dict.fromkeys(mistake_values(mistake, ex, item, exact)):
                if np.isfinite(value) and not np.isclose(value, ex.exact[item.key], rtol=1e-6, atol=0):
                    cases.append((i, f"{value:.6g}"))
        cases.append((i, f"{ex.exact[item.key] * 1.37 + 0.0113:.5g}"))  # explained by nothing: every mistake tried
    return cases


@pytest.mark.parametrize("name", ["ekman", "frey-batch", "softmax-classifier"])
def test_each_classic_mistake_is_named_as_check_names_it(name, chromium, tmp_path):
    """Student mode: each classic mistake's value typed alone gives the verdict, the diagnosis and the
    explanation that `tracer check` gives the same answer."""
    spec = tracer.load_spec(name)
    path = tmp_path / "student.live.html"
    tracer.write_live(spec, path, steps="1", exercise=True)
    ex = Exercise(spec, "1")
    cases = mistake_cases(spec, "1")
    assert len(cases) >= 20
    with open_page(chromium, path) as (page, visit):
        assert page.is_visible("#exercise") and not page.is_visible("#worked")
        page_marks = [page.evaluate(GRADE_ONE, [i, text]) for i, text in cases]
        assert visit.console_errors == []
    wrong = []
    for (i, text), got in zip(cases, page_marks):
        mark = check_answers(spec, {ex.items[i].label: text}, steps="1")[i]
        if got != [mark.status, mark.diagnosis, mark.explain]:
            wrong.append((ex.items[i].label, text, got, (mark.status, mark.diagnosis)))
    assert wrong == [], wrong[:5]
    assert sum(got[1] not in ("", "not explained by a known mistake") for got in page_marks) >= len(cases) // 2


@pytest.mark.parametrize("rounding", [Rounding.decimals(3), Rounding.significant(4), None],
                         ids=["round-3", "sig-4", "as-written"])
def test_a_whole_sheet_is_judged_as_check_judges_its_csv(rounding, chromium, tmp_path):
    """A student who rounds as the class does, drops the 1/2 of the loss and carries it forward, truncates one
    answer and types text in another: the page's verdicts are those `tracer check` gives the answers CSV the
    page downloads, under the page's policy."""
    spec = tracer.load_spec("frey-batch")
    path = tmp_path / "frey.live.html"
    tracer.write_live(spec, path, steps="1", exercise=True, rounding=rounding)
    ex = Exercise(spec, "1")
    policy = rounding or Rounding.significant(4)
    texts = {}
    for item in ex.items:
        places = policy.places(ex.exact[item.key], 0)
        texts[item.label] = f"{round(ex.exact[item.key], max(places, 0)):.{max(places, 0)}f}"
    loss = next(i for i in ex.items if i.kind == "loss")
    texts[loss.label] = f"{2 * ex.exact[loss.key]:.6f}"
    last = ex.items[-1]
    texts[last.label] = f"{np.trunc(ex.exact[last.key] * 100) / 100:.2f}"
    texts[ex.items[3].label] = "abc"
    with open_page(chromium, path) as (page, visit):
        page.evaluate("""(texts) => texts.forEach((t, i) => { document.getElementById("answer-" + i).value = t; })""",
                      [texts[item.label] for item in ex.items[:-1]])
        page.fill(f"#answer-{len(ex.items) - 1}", texts[last.label])  # typed: the verdicts follow
        assert page.inner_text(f"#verdict-{ex.items.index(loss)}").startswith("wrong: 1/2 of the loss dropped")
        page_marks = [(m["status"], m["diagnosis"]) for m in page.evaluate("tracerLive.grade()")]
        with page.expect_download() as download:
            page.click("#answers-csv")
        csv_path = tmp_path / "answers.csv"
        download.value.save_as(csv_path)
        assert visit.console_errors == []
    result = check_file(spec, csv_path)
    assert result.error == ""
    assert page_marks == [(m.status, m.diagnosis) for m in result.marks]
    statuses = {m.status for m in result.marks}
    assert {"correct", "wrong", "unparseable"} <= statuses | {"rounded"}
    assert page_marks[ex.items.index(loss)] == ("wrong", "1/2 of the loss dropped")


def test_a_page_that_writes_out_more_than_an_exercise_asks_for_its_first_steps(chromium, tmp_path):
    """frey-online's page writes out 8 steps (616 quantities, more than a hand exercise); its student mode asks
    for the first 5 (385) and says so, and the answers it downloads are graded by `tracer check` as the page
    grades them (a learning rate not applied, carried into the new weight)."""
    spec = tracer.load_spec("frey-online")
    path = tmp_path / "frey.live.html"
    tracer.write_live(spec, path)
    ex = Exercise(spec, "1-5")
    assert len(ex.items) == 385
    delta_w = next(i for i, item in enumerate(ex.items) if item.step == 5 and item.kind == "delta_w")
    grad = next(i for i, item in enumerate(ex.items)
                if item.kind == "grad" and item.step == 5 and item.key[3:] == ex.items[delta_w].key[3:])
    with open_page(chromium, path) as (page, visit):
        page.click("#mode")
        page.wait_for_function("!document.getElementById('exercise').hidden")
        assert "It asks for steps 1, 2, 3, 4, 5 of the 8 written out" in page.inner_text("#exercise")
        assert len(page.query_selector_all("input[data-a]")) == 385
        page.fill(f"#answer-{grad}", f"{ex.exact[ex.items[grad].key]:.6g}")
        page.fill(f"#answer-{delta_w}", f"{-ex.exact[ex.items[grad].key]:.6g}")  # Δw = −G: η left out
        assert page.inner_text(f"#verdict-{delta_w}").startswith("wrong: learning rate not applied")
        page_marks = [(m["status"], m["diagnosis"]) for m in page.evaluate("tracerLive.grade()")]
        with page.expect_download() as download:
            page.click("#answers-csv")
        download.value.save_as(tmp_path / "answers.csv")
        assert visit.console_errors == []
    result = check_file(spec, tmp_path / "answers.csv")
    assert result.error == "" and page_marks == [(m.status, m.diagnosis) for m in result.marks]
