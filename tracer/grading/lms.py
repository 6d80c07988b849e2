"""Quizzes for learning management systems: each variant's exercise where students answer, with its tolerance
and (Moodle) the classic mistakes as wrong answers that name themselves.

- Moodle XML: one Cloze question per variant (`{1:NUMERICAL:=value:tolerance#feedback~%0%wrong:tolerance#why}`
  per quantity, Moodle's multianswer syntax); each classic mistake's value is a 0 % answer whose feedback names
  the mistake, so students see why and Moodle's reports show how often each mistake was made.
- QTI 1.2 (Canvas): one assessment per variant, the givens once at the top, one numerical question per quantity
  with its margin. Canvas keeps four decimals of a numerical answer, so under a significant-digits policy a
  small quantity is asked in a scaled unit (`Δw_xg2 × 10^4`), one unit per quantity across the quiz; a
  decimals policy needs none, and more than four decimals are refused for Canvas.
Both grade under the class's policy (--round N or --sig N) exactly as `tracer check` does; a quiz without one
is refused, since check then reads each answer to the digits it shows, which no fixed margin can.
The variant id is written into every question, so `tracer check --moodle-responses` can grade Moodle's
responses report against each student's own numbers.
"""
from __future__ import annotations

import html
import math
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from ..errors import TracerError
from ..io.atomic import atomic_path, write_text
from ..io.zips import zipped
from ..steps import describe_steps
from .check import rounded_trace
from .exercise import Exercise, given_rows
from .mistakes import each_mistake
from .numbers import Rounding

VARIANT_MARK = "variant:"  # "[variant: ekman:7:3]" in each question's text


def marks(vid: str, ex: Exercise) -> str:
    """What `tracer check` needs to grade an answer exported from the LMS: variant, steps and notation."""
    return f"[{VARIANT_MARK} {vid}] [steps: {describe_steps(ex.steps)}] [notation: {ex.names.profile.name}]"


def tolerance(value: float, rounding: Rounding) -> float:
    """The absolute margin of an answer: half a unit of the policy's last place (widened by 1e-9 of itself, as
    check's, so that a tie typed either way is not lost to the last bit of a double)."""
    return 0.5 * 10.0 ** -rounding.places(value, 0) * (1 + 1e-9)


def number(value: float) -> str:
    """A number as the LMS parses it: 15 significant digits (0.1, not 0.09999999999999998), far within any
    margin."""
    return f"{float(value):.15g}"


def quiz_items(ex: Exercise, rounding: Rounding) -> list[dict]:
    """Per quantity: label, the right answers (exact, and as computed by hand), the margin, each classic
    mistake's value with its own margin (its value at the asked precision), name and why, and the mistakes
    that cannot be told apart from a right answer at that precision (left out of the wrong answers)."""
    # by hand: each value from the earlier ones as the key rounds them, before its own rounding, so that its
    # margin holds either rounding of a tie (-0.0385 at 3 decimals: -0.038 or -0.039), as check accepts
    hand = rounded_trace(ex, lambda v: rounding.hand(v, 0))
    exact_get = lambda kind, *key: ex.exact[(kind, *key)]
    out = []
    for item in ex.items:
        value = ex.exact[item.key]
        margin = tolerance(value, rounding)
        right = [value] + ([hand[item.key]] if abs(hand[item.key] - value) > 1e-12 * max(1.0, abs(value)) else [])
        margins = [tolerance(v, rounding) for v in right]  # each right answer at the asked precision of itself
        wrong, indistinct = [], []
        taken = list(zip(right, margins))  # answers so far, each with its margin
        for mistake, candidates in each_mistake(ex, item, exact_get):
            for c in candidates:
                if not math.isfinite(c):
                    continue
                own = tolerance(c, rounding)
                near = [v for v, m in taken if abs(c - v) <= max(m, own)]
                if any(v in right for v in near):
                    indistinct.append(mistake.name)
                elif not near:
                    wrong.append((c, own, mistake.name, mistake.explain))
                    taken.append((c, own))
        out.append({"label": item.label, "right": right, "margin": margin, "margins": margins, "wrong": wrong,
                    "indistinct": list(dict.fromkeys(indistinct))})
    return out


def given_table(ex: Exercise, names) -> str:
    """The given data as an HTML table."""
    rows = "".join(f"<tr><td>{_text(label)}</td><td>{_text(v if isinstance(v, str) else number(v))}</td></tr>"
                   for label, v in given_rows(ex, names))
    return f"<table border='1'><tr><th>given</th><th>value</th></tr>{rows}</table>"


def cloze(quantity: dict) -> str:
    """One NUMERICAL blank in Moodle's Cloze syntax: the right answers, then 0 % answers naming mistakes."""
    parts = [f"={number(v)}:{number(m)}#right" for v, m in zip(quantity["right"], quantity["margins"])]
    parts += [f"%0%{number(v)}:{number(own)}#{_feedback(name + ': ' + why)}"
              for v, own, name, why in quantity["wrong"]]
    return "{1:NUMERICAL:" + "~".join(parts) + "}"


def _feedback(text: str) -> str:
    """Feedback text inside a Cloze blank: '}' and '#' escaped as Moodle reads them, '~' avoided, no '{'."""
    return (html.escape(text, quote=False).replace("}", "\\}").replace("#", "\\#").replace("~", "∼")
            .replace("{", "&#123;"))


def _text(text: str) -> str:
    """Question text: escaped HTML in which no '{' can start a Cloze blank."""
    return escape(text).replace("{", "&#123;").replace("}", "&#125;")


def moodle_question(ex: Exercise, vid: str, items: list[dict], rounding: Rounding) -> str:
    """One variant (its quiz_items) as a Moodle Cloze question (XML)."""
    how = instruction(rounding)
    rows = "".join(f"<tr><td>{_text(q['label'])}</td><td>{cloze(q)}</td></tr>" for q in items)
    apart = "; ".join(f"{q['label']}: {', '.join(q['indistinct'])}" for q in items if q["indistinct"])
    note = (f"Not told apart from the right answer at this precision (a student making them is marked right): "
            f"{apart}") if apart else ""
    body = (f"<p>{_text(ex.spec.title or ex.spec.name)}: compute step{'s' * (len(ex.steps) > 1)} "
            f"{_text(', '.join(map(str, ex.steps)))} by hand and enter each number {_text(how)}. "
            f"{_text(marks(vid, ex))}</p>{given_table(ex, ex.names)}"
            f"<table border='1'><tr><th>quantity</th><th>answer</th></tr>{rows}</table>")
    return (f'  <question type="cloze">\n    <name><text>{escape(vid)}</text></name>\n'
            f'    <questiontext format="html"><text><![CDATA[{body}]]></text></questiontext>\n'
            f'    <generalfeedback format="html"><text>{_text(note)}</text></generalfeedback>\n'
            f'    <penalty>0</penalty>\n    <hidden>0</hidden>\n    <idnumber>{escape(vid)}</idnumber>\n'
            f'  </question>\n')


def write_moodle(path, spec, exercises: list[tuple[str, Exercise, list]], rounding: Rounding) -> Path:
    """A Moodle XML quiz file: a category, then one Cloze question per variant."""
    questions = "".join(moodle_question(ex, vid, items, rounding) for vid, ex, items in exercises)
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n  <question type="category">\n'
           f'    <category><text>$course$/backprop-tracer/{escape(spec.name)}</text></category>\n  </question>\n'
           f'{questions}</quiz>\n')
    write_text(path, xml)
    return Path(path)


CANVAS_DECIMALS = 4  # Canvas keeps four decimals of a numerical answer
LMS = {"--moodle": "Moodle", "--qti": "Canvas"}


def check_quiz_policy(rounding: Rounding | None, option: str) -> None:
    """Refuse, before anything is written, a policy the quiz of `option` (--moodle, --qti) cannot grade as check
    does: none, since check then reads each answer to the digits it shows and an LMS gives each answer one
    fixed margin; and (Canvas) more decimals than it keeps."""
    if rounding is None:
        raise TracerError(option, f"{LMS[option]} gives each answer one fixed margin, so it cannot grade answers "
                                  "to the digits each shows (no --round or --sig); give the policy to ask for, "
                                  "e.g. --sig 5 or --round 4")
    if option == "--qti" and rounding.kind == "decimals" and rounding.n > CANVAS_DECIMALS:
        raise TracerError("--qti", f"Canvas keeps {CANVAS_DECIMALS} decimals of an answer, so --round {rounding.n} "
                                   f"cannot be graded there; use --round {CANVAS_DECIMALS} or --sig {rounding.n}")


def scale_of(value: float, digits: int) -> int:
    """The power of ten a quantity is asked in so that Canvas's four decimals keep `digits` significant digits
    of it (0 where they already do, and for 0)."""
    if value == 0 or not math.isfinite(value):
        return 0
    return max(0, digits - CANVAS_DECIMALS - math.floor(math.log10(abs(value))) - 1)


def canvas_scales(quizzes: list, rounding: Rounding) -> dict:
    """One power of ten per quantity across the whole quiz, the largest any variant's right answers need (the
    hand computation's too: 0.00967 where the exact value is 0.0101), none under a decimals policy, which
    Canvas's four decimals hold as it is."""
    if rounding.kind == "decimals":
        return {}
    scales: dict = {}
    for _, _, items in quizzes:
        for q in items:
            scales[q["label"]] = max(scales.get(q["label"], 0), *(scale_of(v, rounding.n) for v in q["right"]))
    return scales


def instruction(rounding: Rounding) -> str:
    """What the student is told, matching the margin: the policy."""
    return f"rounded to {rounding.describe()}"


def qti_item(ident: str, mark: str, label: str, quantity: dict, intro: str, k: int) -> str:
    """One Canvas numerical question (QTI 1.2 item) with its margin, in the quantity's unit of 10^k."""
    unit = f" × 10^{k}" if k else ""
    text = f"<p>{intro}</p><p><strong>{escape(label)}{unit}</strong> = ? {escape(mark)}</p>"
    conditions = []
    for v, m in zip(quantity["right"], quantity["margins"]):
        value, margin = v * 10 ** k, m * 10 ** k
        conditions.append(
            f'<respcondition continue="No"><conditionvar><or>'
            f'<varequal respident="response1">{number(value)}</varequal><and>'
            f'<vargte respident="response1">{number(value - margin)}</vargte>'
            f'<varlte respident="response1">{number(value + margin)}</varlte></and></or></conditionvar>'
            f'<setvar action="Set" varname="SCORE">100</setvar></respcondition>')
    return (f'<item ident={quoteattr(ident)} title={quoteattr(label + unit)}><itemmetadata><qtimetadata>'
            f'<qtimetadatafield><fieldlabel>question_type</fieldlabel><fieldentry>numerical_question</fieldentry>'
            f'</qtimetadatafield><qtimetadatafield><fieldlabel>points_possible</fieldlabel><fieldentry>1.0'
            f'</fieldentry></qtimetadatafield></qtimetadata></itemmetadata><presentation><material>'
            f'<mattext texttype="text/html">{escape(text)}</mattext></material>'
            f'<response_str ident="response1" rcardinality="Single"><render_fib fibtype="Decimal">'
            f'<response_label ident="answer1"/></render_fib></response_str></presentation><resprocessing>'
            f'<outcomes><decvar maxvalue="100" minvalue="0" varname="SCORE" vartype="Decimal"/></outcomes>'
            f'{"".join(conditions)}</resprocessing></item>')


def qti_givens(ident: str, text: str) -> str:
    """The givens once, at the top of the quiz: a text item, no answer."""
    return (f'<item ident={quoteattr(ident)} title="given"><itemmetadata><qtimetadata><qtimetadatafield>'
            f'<fieldlabel>question_type</fieldlabel><fieldentry>text_only_question</fieldentry></qtimetadatafield>'
            f'<qtimetadatafield><fieldlabel>points_possible</fieldlabel><fieldentry>0</fieldentry>'
            f'</qtimetadatafield></qtimetadata></itemmetadata><presentation><material>'
            f'<mattext texttype="text/html">{escape(text)}</mattext></material></presentation></item>')


def qti_assessment(ident: str, vid: str, ex: Exercise, items: list[dict], rounding: Rounding,
                   scales: dict) -> str:
    """One variant (its quiz_items) as a QTI 1.2 assessment: the givens once, then its numerical questions in
    worked-example order, each quantity in its unit across the quiz (`scales`)."""
    title = escape(ex.spec.title or ex.spec.name)
    givens = qti_givens(f"{ident}_0", f"<p>{title}, variant {escape(vid)}: the given numbers.</p>"
                                      f"{given_table(ex, ex.names)}")
    intro = f"{title}, variant {escape(vid)}: enter the value {escape(instruction(rounding))}."
    questions = "".join(qti_item(f"{ident}_{n}", marks(vid, ex), q["label"], q, intro, scales.get(q["label"], 0))
                        for n, q in enumerate(items, start=1))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<questestinterop xmlns="http://www.imsglobal.org/xsd/'
            f'ims_qtiasiv1p2"><assessment ident={quoteattr(ident)} title={quoteattr(vid)}>'
            f'<section ident="root_section">{givens}{questions}</section></assessment></questestinterop>\n')


def write_qti(path, spec, exercises: list[tuple[str, Exercise, list]], rounding: Rounding) -> Path:
    """A QTI 1.2 content package (.zip): the manifest and one assessment per variant (deterministic bytes)."""
    files, resources = {}, []
    scales = canvas_scales(exercises, rounding)
    for n, (vid, ex, items) in enumerate(exercises, start=1):
        ident = f"{spec.name.replace('.', '_')}_variant_{n:02d}"
        files[f"{ident}.xml"] = qti_assessment(ident, vid, ex, items, rounding, scales)
        resources.append(f'<resource identifier="res_{ident}" type="imsqti_xmlv1p2" href="{ident}.xml">'
                         f'<file href="{ident}.xml"/></resource>')
    files["imsmanifest.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<manifest identifier="backprop_tracer_quiz" '
        'xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"><metadata><schema>IMS Content</schema>'
        f'<schemaversion>1.1.3</schemaversion></metadata><organizations/><resources>{"".join(resources)}'
        '</resources></manifest>\n')
    with atomic_path(path) as tmp:
        tmp.write_bytes(zipped(files))
    return Path(path)


def write_quizzes(spec, exercises: list[tuple[str, Exercise]], rounding: Rounding | None, moodle=None,
                  qti=None) -> list[Path]:
    """The variants of `tracer template --variants` (template.variant_exercises) as a Moodle XML quiz and/or a
    QTI 1.2 package, under a policy both can grade (check_quiz_policy)."""
    for option, path in (("--moodle", moodle), ("--qti", qti)):
        if path is not None:
            check_quiz_policy(rounding, option)
    if moodle is None and qti is None:
        return []
    quizzes = [(vid, ex, quiz_items(ex, rounding)) for vid, ex in exercises]  # once for both formats
    written = []
    if moodle is not None:
        written.append(write_moodle(moodle, spec, quizzes, rounding))
    if qti is not None:
        written.append(write_qti(qti, spec, quizzes, rounding))
    return written
