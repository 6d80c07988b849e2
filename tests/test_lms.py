"""LMS quizzes: Moodle XML (Cloze) and QTI 1.2 (Canvas), parsed back and checked against the engine.

There is no XML schema for Moodle's question format, nor a QTI 1.2 ASI schema in the package registries, so
the files are checked against the formats' documentation: the Moodle XML structure (quiz/question type="cloze",
name, questiontext with CDATA, idnumber), each Cloze blank parsed with a port of the regular expressions of
Moodle's own parser (question/type/multianswer/questiontype.php: ANSWER_REGEX, ANSWER_ALTERNATIVE_REGEX,
NUMERICAL_ALTERNATIVE_REGEX), and the QTI content package (imsmanifest.xml, questestinterop/assessment/section/
item with question_type numerical_question, response_str/render_fib, the varequal/vargte/varlte bounds Canvas
exports). Every right answer must be the engine's value of that variant, every 0 % answer the value of the
mistake it names.
"""
from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
import zipfile

import pytest

import tracer
from tracer.cli import main
from tracer.grading.check import rounded_trace
from tracer.grading.exercise import Exercise
from tracer.grading.numbers import Rounding
from tracer.grading.mistakes import MISTAKES, mistake_values
from tracer.grading.variants import variant_spec
from tracer.io.resources import find_example

# Moodle's parser (question/type/multianswer/questiontype.php), as PCRE -> Python
FRACTION = r"=|%(-?[0-9]+)%"
ANSWER = r".+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$)"  # PCRE's (?<!\\|&|&amp;): Python needs fixed widths
FEEDBACK = r".*?(?<!\\)(?=[~}]|$)"
ALTERNATIVE = rf"({FRACTION})?({ANSWER})(#({FEEDBACK}))?"
NUMBER = r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)"
NUMERICAL = rf"^({NUMBER})(:{NUMBER})?$"
TYPES = r"(NUMERICAL|NM)|(MULTICHOICE|MC)|(MULTICHOICE_V|MCV)|(MULTICHOICE_H|MCH)|(SHORTANSWER|SA|MW)|(SHORTANSWER_C|SAC|MWC)"
CLOZE = rf"\{{([0-9]*):({TYPES}):({ALTERNATIVE}(~{ALTERNATIVE})*)\}}"


def blanks(text: str) -> list[list[tuple[float, float, float, str]]]:
    """Each NUMERICAL blank of a Cloze text as Moodle parses it: (fraction, answer, tolerance, feedback)."""
    out = []
    while (m := re.search(CLOZE, text, re.S)) is not None:
        assert m.group(3), f"not a NUMERICAL blank: {m.group(0)[:80]}"
        alternatives, rest = [], m.group(9)
        while rest and (a := re.match("~?" + ALTERNATIVE, rest, re.S)) is not None:
            fraction = 1.0 if a.group(1) == "=" else 0.01 * int(a.group(2)) if a.group(2) else 0.0
            n = re.match(NUMERICAL, a.group(3))
            assert n, f"not a number Moodle reads: {a.group(3)}"
            alternatives.append((fraction, float(n.group(1)), float(n.group(6) or 0), a.group(5) or ""))  # Moodle: 1, 6
            rest = rest[a.end():]
        out.append(alternatives)
        text = text[:m.start()] + "{#}" + text[m.end():]
    return out


@pytest.fixture(scope="module")
def quizzes(tmp_path_factory):
    out = tmp_path_factory.mktemp("lms")
    assert main(["template", str(find_example("frey-online")), "--variants", "4", "--seed", "7", "--steps", "1-2",
                 "--notation", "frey", "--out", str(out / "ex"), "--moodle", str(out / "quiz.xml"),
                 "--qti", str(out / "quiz.zip"), "--round", "4"]) == 0
    return out


def exercise_of(vid: str) -> Exercise:
    return Exercise(variant_spec(tracer.load_spec(find_example("frey-online")), vid), "1-2", "frey")


def test_moodle_xml_is_one_cloze_question_per_variant_with_the_engines_answers(quizzes):
    root = ET.parse(quizzes / "quiz.xml").getroot()
    assert root.tag == "quiz"
    category, *questions = root.findall("question")
    assert category.get("type") == "category" and "frey-online" in category.find("category/text").text
    assert len(questions) == 4 and {q.get("type") for q in questions} == {"cloze"}
    for q in questions:
        vid = q.find("idnumber").text
        assert q.find("name/text").text == vid and f"[variant: {vid}]" in q.find("questiontext/text").text
        ex = exercise_of(vid)
        parsed = blanks(q.find("questiontext/text").text)
        assert len(parsed) == len(ex.items)
        exact_get = lambda kind, *key: ex.exact[(kind, *key)]
        for item, alternatives in zip(ex.items, parsed):
            right = [a for a in alternatives if a[0] == 1.0]
            assert right and right[0][1] == pytest.approx(ex.exact[item.key], rel=1e-13, abs=1e-15), item.label
            assert all(a[2] == pytest.approx(0.5e-4) for a in alternatives)  # --round 4: half a unit
            for fraction, value, _, feedback in alternatives:
                if fraction == 0.0:
                    name = feedback.split(":")[0]
                    mistake = next(m for m in MISTAKES if m.name == name)
                    assert any(value == pytest.approx(v, rel=1e-13, abs=1e-15)
                               for v in mistake_values(mistake, ex, item, exact_get)), (item.label, name)


def test_moodle_shows_students_the_mistakes(quizzes):
    text = (quizzes / "quiz.xml").read_text(encoding="utf-8")
    named = {name for q in ET.fromstring(text).findall("question")[1:]
             for b in blanks(q.find("questiontext/text").text) for f, _, _, fb in b if f == 0.0
             for name in [fb.split(":")[0]]}
    assert {"sign flipped", "1/2 of the loss dropped", "learning rate not applied",
            "hidden error term with the already-updated weights"} <= named


def test_qti_package_has_one_assessment_per_variant_with_margins(quizzes):
    with zipfile.ZipFile(quizzes / "quiz.zip") as z:
        names = z.namelist()
        manifest = ET.fromstring(z.read("imsmanifest.xml"))
        ns = {"cp": "http://www.imsglobal.org/xsd/imscp_v1p1", "q": "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"}
        resources = manifest.findall("cp:resources/cp:resource", ns)
        assert len(resources) == 4 and {r.get("type") for r in resources} == {"imsqti_xmlv1p2"}
        assert sorted(names) == sorted(["imsmanifest.xml"] + [r.get("href") for r in resources])
        for r in resources:
            root = ET.fromstring(z.read(r.get("href")))
            assessment = root.find("q:assessment", ns)
            vid = assessment.get("title")
            ex = exercise_of(vid)
            given, *items = assessment.findall("q:section/q:item", ns)
            assert given.get("title") == "given" and "<table" in given.find(".//q:mattext", ns).text
            assert len(items) == len(ex.items)
            for item, quantity in zip(items, ex.items):
                meta = {f.find("q:fieldlabel", ns).text: f.find("q:fieldentry", ns).text
                        for f in item.findall(".//q:qtimetadatafield", ns)}
                assert meta["question_type"] == "numerical_question"
                assert item.find(".//q:response_str/q:render_fib", ns).get("fibtype") == "Decimal"
                value = ex.exact[quantity.key]
                assert item.get("title") == quantity.label  # --round 4: Canvas's four decimals hold it unscaled
                lo = float(item.find(".//q:vargte", ns).text)
                hi = float(item.find(".//q:varlte", ns).text)
                assert lo <= value <= hi and hi - lo == pytest.approx(1e-4)
                text = item.find(".//q:mattext", ns).text
                assert f"[variant: {vid}]" in text and "rounded to 4 decimals" in text and "<table" not in text


def test_quizzes_are_deterministic(quizzes, tmp_path):
    assert main(["template", str(find_example("frey-online")), "--variants", "4", "--seed", "7", "--steps", "1-2",
                 "--notation", "frey", "--out", str(tmp_path / "ex"), "--moodle", str(tmp_path / "quiz.xml"),
                 "--qti", str(tmp_path / "quiz.zip"), "--round", "4"]) == 0
    for name in ("quiz.xml", "quiz.zip"):
        assert (tmp_path / name).read_bytes() == (quizzes / name).read_bytes(), name


def test_moodle_responses_report_is_graded_against_each_students_variant(quizzes, tmp_path, capsys):
    """Moodle's responses report (Question text and Response columns; a Cloze response is summarised as
    'part 1: ...; part 2: ...'), from the quiz's own right answers, one student with a planted mistake."""
    root = ET.parse(quizzes / "quiz.xml").getroot()
    rows = []
    for n, q in enumerate(root.findall("question")[1:3], start=1):
        text = q.find("questiontext/text").text
        parts = [f"part {i}: {b[0][1]:.6f}" for i, b in enumerate(blanks(text), start=1)]
        if n == 2:
            parts[5] = "part 6: " + str(-float(parts[5].split(": ")[1]))  # sign flipped
        rows.append({"Last name": f"Student{n}", "First name": "A", "Email address": f"s{n}@example.org",
                     "State": "Finished", "Grade/10.00": "", "Question 1": re.sub(r"<[^>]+>", " ", text),
                     "Response 1": "; ".join(parts)})
    path = tmp_path / "responses.csv"
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    status = main(["check", str(find_example("frey-online")), "--moodle-responses", str(path), "--round", "4",
                   "--out", str(tmp_path / "grades")])
    out = capsys.readouterr().out
    assert status == 1
    first, second = [line for line in out.splitlines() if line.startswith("A Student")]
    right = len(exercise_of(root.findall("question")[1].find("idnumber").text).items)
    assert first.endswith(f"{right}/{right}") and f"{right - 1}/{right}" in second and "sign flipped" in second
    assert (tmp_path / "grades" / "gradebook.csv").is_file()


def test_a_report_without_question_text_is_refused_in_one_line(tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text("Last name,First name,Response 1\nDoe,Jane,part 1: 0.1\n", encoding="utf-8")
    assert main(["check", "ekman", "--moodle-responses", str(path)]) == 2
    assert "Question text" in capsys.readouterr().err


def test_each_response_is_graded_in_the_notation_its_question_was_written_in(tmp_path):
    """Two quizzes' questions in one report (frey's notation, then generic): each row's labels are its own."""
    from tracer.grading.lms import marks
    from tracer.grading.responses import check_responses

    spec = tracer.load_spec(find_example("frey-online"))
    rows = []
    for n, notation in ((1, "frey"), (2, "generic")):
        vid = f"frey-online:7:{n}"
        ex = Exercise(variant_spec(spec, vid), "1", notation)
        parts = "; ".join(f"part {i}: {ex.exact[item.key]:.6f}" for i, item in enumerate(ex.items, start=1))
        rows.append({"Last name": f"S{n}", "First name": "A", "Question 1": marks(vid, ex), "Response 1": parts})
    path = tmp_path / "responses.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    frey, generic = check_responses(spec, path)
    for result, notation in ((frey, "frey"), (generic, "generic")):
        expected = [item.label for item in Exercise(variant_spec(spec, result.variant), "1", notation).items]
        assert not result.error and [m.label for m in result.marks] == expected
        assert result.score == result.total
    assert [m.label for m in frey.marks] != [m.label for m in generic.marks]


def test_names_in_cloze_syntax_add_no_blank_and_a_right_student_scores_full(tmp_path, capsys):
    """An input, a unit and a layer named in Moodle's Cloze syntax: the question still has one blank per
    quantity (the givens table and the labels escape '{' and '}'), and a student right on every quantity
    gets every mark from --moodle-responses."""
    text = find_example("ekman").read_text().replace("notation: ekman\n", "").replace(
        "inputs: [x1, x2]", 'inputs: ["{1:NUMERICAL:=1}", x2]').replace("units: [g]", 'units: ["{1:SA:=g}"]').replace(
        "name: F", 'name: "F#~}"').replace("name: ekman", "name: cloze")
    spec_file = tmp_path / "cloze.yaml"
    spec_file.write_text(text)
    assert main(["template", str(spec_file), "--variants", "1", "--seed", "3", "--out", str(tmp_path / "ex"),
                 "--moodle", str(tmp_path / "quiz.xml"), "--sig", "5"]) == 0
    question = ET.parse(tmp_path / "quiz.xml").getroot().findall("question")[1]
    text = question.find("questiontext/text").text
    vid = question.find("idnumber").text
    ex = Exercise(variant_spec(tracer.load_spec(spec_file), vid), 1, None)
    parsed = blanks(text)
    assert len(parsed) == len(ex.items) and text.count("{1:") == len(ex.items)
    parts = "; ".join(f"part {i}: {b[0][1]:.8f}" for i, b in enumerate(parsed, start=1))
    path = tmp_path / "responses.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["Last name", "First name", "Question 1", "Response 1"])
        writer.writeheader()
        writer.writerow({"Last name": "S", "First name": "A", "Question 1": re.sub(r"<[^>]+>", " ", text),
                         "Response 1": parts})
    capsys.readouterr()
    assert main(["check", str(spec_file), "--moodle-responses", str(path), "--out", str(tmp_path / "g")]) == 0
    total = len(ex.items)
    assert f"{total}/{total}" in capsys.readouterr().out


def first_match(alternatives, typed: float):
    """The answer Moodle marks a typed number with: the first whose absolute tolerance holds it."""
    return next((a for a in alternatives if abs(typed - a[1]) <= a[2] * (1 + 1e-12)), None)


@pytest.mark.parametrize("example", ["frey-batch", "mazur"])
def test_a_mistake_typed_to_the_asked_precision_gets_its_own_feedback(example, tmp_path):
    """Each mistake's answer has its own tolerance, half a unit of its own 5th significant digit: a student
    who types the mistaken value to 5 significant digits is told the mistake (it used to get the right
    answer's tolerance: 158 of 4,717 frey-batch mistakes fell to a plain "Incorrect"). A mistake that rounds
    into the right answer is left out, and the question's general feedback names it."""
    assert main(["template", str(find_example(example)), "--variants", "2", "--out", str(tmp_path / "ex"),
                 "--moodle", str(tmp_path / "quiz.xml"), "--sig", "5"]) == 0
    checked = 0
    for q in ET.parse(tmp_path / "quiz.xml").getroot().findall("question")[1:]:
        for alternatives in blanks(q.find("questiontext/text").text):
            for alternative in alternatives:
                typed = float(f"{alternative[1]:.5g}")
                found = first_match(alternatives, typed)  # a right answer may be met first by another right one
                assert found == alternative or alternative[0] == found[0] == 1.0, (alternative, typed, found)
                checked += alternative[0] == 0.0
    assert checked > 50


def test_mistakes_that_round_into_the_right_answer_are_named_in_the_general_feedback(tmp_path):
    """To 2 decimals some mistakes give the right answer's value (Ekman's error term g without its derivative,
    1 - y_g^2 near 1): they are no wrong answer of their blank, and the question's general feedback names them;
    each named one is checked to be within half a unit of the 2nd decimal of the right value."""
    assert main(["template", "ekman", "--variants", "1", "--out", str(tmp_path / "ex"),
                 "--moodle", str(tmp_path / "quiz.xml"), "--round", "2"]) == 0
    question = ET.parse(tmp_path / "quiz.xml").getroot().findall("question")[1]
    note = question.find("generalfeedback/text").text
    assert note.startswith("Not told apart from the right answer at this precision")
    ex = Exercise(variant_spec(tracer.load_spec("ekman"), question.find("idnumber").text), 1, None)
    items = {item.label: item for item in ex.items}
    exact_get = lambda kind, *key: ex.exact[(kind, *key)]
    named = [part.split(": ", 1) for part in note.split("): ", 1)[1].split("; ")]
    assert named
    hand = rounded_trace(ex, lambda v: Rounding.decimals(2).hand(v, 0))  # the key's chain, before its rounding
    for label, mistakes in named:
        rights = (ex.exact[items[label].key], hand[items[label].key])
        for name in mistakes.split(", "):
            mistake = next(m for m in MISTAKES if m.name == name)
            assert any(abs(v - r) <= 0.005 for v in mistake_values(mistake, ex, items[label], exact_get)
                       for r in rights), (label, name)


def test_canvas_asks_each_quantity_in_one_unit_across_the_quiz_and_refuses_what_it_cannot_grade(tmp_path):
    """--sig 4: a quantity is asked in the same unit of 10^k in every variant, large enough that Canvas's four
    decimals keep 4 significant digits of every variant's value; --round 5 is refused for Canvas in one line."""
    assert main(["template", "frey-online", "--variants", "6", "--out", str(tmp_path / "ex"),
                 "--qti", str(tmp_path / "quiz.zip"), "--sig", "4"]) == 0
    ns = {"q": "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"}
    units: dict = {}
    with zipfile.ZipFile(tmp_path / "quiz.zip") as z:
        for name in sorted(n for n in z.namelist() if n != "imsmanifest.xml"):
            assessment = ET.fromstring(z.read(name)).find("q:assessment", ns)
            ex = exercise_of_spec("frey-online", assessment.get("title"))
            for item, quantity in zip(assessment.findall("q:section/q:item", ns)[1:], ex.items):
                k = int(item.get("title").split("10^")[1]) if "10^" in item.get("title") else 0
                units.setdefault(quantity.label, set()).add(k)
                value = ex.exact[quantity.key] * 10 ** k
                assert value == 0 or abs(value) >= 0.1, (quantity.label, k)  # 4 decimals of it: 4 significant digits
                assert "rounded to 4 significant digits" in item.find(".//q:mattext", ns).text
    assert all(len(ks) == 1 for ks in units.values()), units  # one unit per quantity
    assert any(ks != {0} for ks in units.values())
    status = main(["template", "frey-online", "--variants", "2", "--out", str(tmp_path / "ex5"),
                   "--qti", str(tmp_path / "q5.zip"), "--round", "5"])
    assert status == 2 and not (tmp_path / "ex5").exists() and not (tmp_path / "q5.zip").exists()


def exercise_of_spec(name: str, vid: str) -> Exercise:
    return Exercise(variant_spec(tracer.load_spec(find_example(name)), vid), 1, None)


@pytest.mark.parametrize("option, name", [("--moodle", "Moodle"), ("--qti", "Canvas")])
def test_a_quiz_without_a_policy_is_refused_in_one_line_naming_the_policies_it_can_grade(option, name, tmp_path,
                                                                                          capsys):
    """Without --round or --sig, check reads each answer to the digits it shows (0.42 and 0.4201 are both right
    for 0.4200765); a Moodle or Canvas answer has one fixed margin, so the quiz would accept other answers than
    check: it is refused before any variant is written, naming policies it can grade."""
    status = main(["template", "ekman", "--variants", "2", "--out", str(tmp_path / "ex"), option,
                   str(tmp_path / "quiz")])
    err = capsys.readouterr().err
    assert status == 2 and len(err.splitlines()) == 1, err
    assert f"{option}: {name} gives each answer one fixed margin" in err and "--sig 5 or --round 4" in err
    assert list(tmp_path.iterdir()) == []
