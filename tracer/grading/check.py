"""Grading hand calculations: each answer against the trace, rounding first, then errors carried forward,
then the classic mistakes.

For each quantity, in worked-example order, an answer is
- correct: the exact value, or under a rounding policy (--round N decimals, --sig N significant digits) the
  exact value or the hand computation with every intermediate rounded the same way, as the class rounds;
- rounded (no policy): the exact value to the digits the student wrote, or between the exact value and the
  same computation with every intermediate rounded to the student's digits, or what the student's own
  accepted earlier values give (Ekman's -0.066 from -0.14);
- carried forward: wrong, but what the student's own earlier wrong values give: it scores, not counted twice;
- wrong, always with a why: rounded to too few digits, a named classic mistake (tracer.grading.mistakes), or
  "not explained by a known mistake" with the value the student's own earlier answers give;
- blank or unparseable.
A rounding explanation always wins over a mistake. Recomputations are the plan's ops (tracer.model.plan).
"""
from __future__ import annotations

import difflib
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..model.fields import ascii_spelling
from ..options import CHECK_RTOL
from .answers import AnswerFileError, read_answers
from .exercise import Exercise, Item
from .mistakes import each_mistake
from .numbers import Rounding, parse_number, significant
from .verdict import SCORING, UNEXPLAINED, close, show, verdict
from .identify import ITSELF, identify
from .variants import variant_spec

DEFAULT_RTOL = CHECK_RTOL
SHOWN_UNKNOWN = 20  # unknown labels listed (with the closest known label) in a file's feedback
SECONDS_PER_FILE = 60.0  # a student's file gets this long; a batch of hundreds stays quick
MAX_ITEMS = 20_000  # quantities one file may ask to grade


@dataclass
class Mark:
    """The verdict on one answer."""

    label: str
    answer: str | None
    expected: float
    status: str  # correct, rounded, carried forward, wrong, blank, unparseable
    diagnosis: str = ""
    explain: str = ""
    from_own: float | None = None  # what the student's own earlier values give (shown when it differs)


@dataclass
class Result:
    """One student file: its marks, or the reason it could not be read."""

    file: str
    variant: str = ""
    marks: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    error: str = ""
    unknown: list = field(default_factory=list)  # labels in the file that are no quantity of the exercise
    identified: str = ""  # how the file's variant was found (tracer.grading.identify)

    @property
    def score(self) -> int:
        return sum(m.status in SCORING for m in self.marks)

    @property
    def total(self) -> int:
        return len(self.marks)

    @property
    def all_correct(self) -> bool:
        return not self.error and self.total > 0 and self.score == self.total

    def leading_cause(self) -> tuple[str, int, int] | None:
        """(mistake, answers it explains, answers marked down) when one named cause explains more of the marked
        down answers than any other and at least two: what the student should hear first."""
        down = [m for m in self.marks if m.status not in SCORING and m.status != "blank"]
        ranked = Counter(m.diagnosis for m in down if m.diagnosis and m.diagnosis != UNEXPLAINED).most_common(2)
        if not ranked or ranked[0][1] < 2 or (len(ranked) > 1 and ranked[1][1] == ranked[0][1]):
            return None
        return ranked[0][0], ranked[0][1], len(down)


def normal_label(label: str) -> str:
    """A label as compared: exactly, but for spaces around it and the typographic minus and primes typed in
    ASCII (units `g` and `G`, or `a b` and `a  b`, are different quantities; the spec refuses names that
    differ only in those characters)."""
    return ascii_spelling(label.strip())


ASCII_DELTA = ("Delta ", "Delta", "delta_", "delta ", "d")  # Δw typed as Delta w, delta_w or dw


def loose_match(label: str, known: dict) -> tuple[str | None, bool]:
    """(the one exercise label a student's spelling stands for, or None; whether a lossy export's '?' was read):
    '?' for a character an export in a legacy encoding dropped (Δ, δ, ∂, Σ), Δ written in ASCII (`dw_h1`,
    `Delta w_h1`, `delta_w_h1`). Nothing is guessed: a spelling that fits several labels matches none."""
    found = set()
    if "?" in label:
        pattern = re.compile("".join("[^\\x00-\\x7f]" if c == "?" else re.escape(c) for c in label))
        found |= {k for k in known if pattern.fullmatch(k)}
    for prefix in ASCII_DELTA:
        if label.startswith(prefix) and label[len(prefix):].strip():
            found |= {k for k in ("Δ" + label[len(prefix):].lstrip(),) if k in known}
    return (known[found.pop()] if len(found) == 1 else None), "?" in label


def match_labels(answers: dict, items: list) -> tuple[dict, list[str], list[str]]:
    """Answers keyed by the exercise's labels (matched by normal_label, else by an unambiguous loose spelling),
    the labels that match none, and notes on how labels were matched (said first: a lossy export explains many
    problems at once)."""
    known = {normal_label(i.label): i.label for i in items}
    out, unknown, lossy = {}, [], 0
    for label, text in answers.items():
        exact = known.get(normal_label(label))
        if exact is None:
            exact, via_lost = loose_match(normal_label(label), known)
            lossy += exact is not None and via_lost
        if exact is None:
            unknown.append(label)
        else:
            out.setdefault(exact, text)
    notes = [f"{lossy} label(s) lost characters such as Δ or δ to '?' in the file's encoding and were matched by "
             "the rest; save the answers as CSV UTF-8"] if lossy else []
    return out, unknown, notes


def unknown_warnings(unknown: list[str], items: list) -> list[str]:
    """A line per unknown label (the first SHOWN_UNKNOWN), each naming the closest known label (difflib on
    thousands of junk rows took minutes, so only those shown get a hint)."""
    known = {normal_label(i.label): i.label for i in items}
    lines = []
    for label in unknown[:SHOWN_UNKNOWN]:
        close = difflib.get_close_matches(normal_label(label[:40]), list(known), n=1, cutoff=0.0)
        hint = f"; did you mean {known[close[0]]!r}?" if close else ""
        lines.append(f"unknown label {label[:40]!r}: not a quantity of this exercise{hint}")
    if len(unknown) > SHOWN_UNKNOWN:
        lines.append(f"{len(unknown) - SHOWN_UNKNOWN} more unknown labels")
    return lines


def check_answers(spec, answers: dict, rtol: float = DEFAULT_RTOL, rounding: Rounding | None = None,
                  notation: str | None = None, steps=None, deadline: float | None = None) -> list[Mark]:
    """Marks for a student's answers (label -> text) to the exercise of `steps` of `spec` (a count, step
    numbers or '1-3,last'; default: as many as the labels show), judged under a rounding policy (default: as
    each answer is written)."""
    steps = steps or steps_answered(answers)
    ex = Exercise(spec, steps, notation)
    if len(ex.items) > MAX_ITEMS:
        raise ValueError(f"{len(ex.items):,} quantities is more than a file may ask to grade")
    answers, _, _ = match_labels(answers, ex.items)
    policy = rounding or Rounding()
    parsed = {i.key: parse_number(answers.get(i.label)) for i in ex.items}
    student = {k: v[0] for k, v in parsed.items() if v is not None}
    if policy.kind == "written":  # the significant digits the student usually keeps (Ekman: 2), at least 2
        sig = [significant(answers.get(i.label)) for i in ex.items if parsed[i.key] is not None]
        keep = max(2, max(sorted(set(sig)), key=sig.count) if sig else 4)
    else:
        keep = 0
    hand = rounded_trace(ex, lambda v: policy.hand(v, keep))
    status, used = {}, set()

    def own(kind, step, sample, layer, unit, source):
        """The student's value where they gave one (noting that it was used), else the exact one."""
        key = (kind, step, sample, layer, unit, source)
        if key in student:
            used.add(key)
            return student[key]
        return ex.exact.get(key, hand.get(key))

    marks = []
    for item in ex.items:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError("took longer than a file may")
        text, got = answers.get(item.label), parsed[item.key]
        mark = Mark(item.label, text, ex.exact[item.key], "")
        if text is None:
            mark.status = "blank"
        elif got is None:
            mark.status = "unparseable"
        else:
            used.clear()
            mark.from_own = ex.value(item, own)
            judge(mark, item, got, policy, rtol, ex.exact[item.key], hand[item.key], status, used, ex, own)
        status[item.key] = mark.status
        marks.append(mark)
    return marks


def judge(mark: Mark, item: Item, got, policy: Rounding, rtol: float, exact: float, hand: float, status: dict,
          used: set, ex: Exercise, own) -> None:
    """The verdict on one number (tracer.grading.verdict), with the classic mistakes of the item's op."""
    value, written = got
    earlier_wrong = any(status.get(k) in ("wrong", "carried forward") for k in used)
    mark.status, mark.diagnosis, mark.explain = verdict(
        value, written, policy, rtol, exact, hand, mark.from_own, earlier_wrong,
        lambda: diagnose(ex, item, value, written, own, policy, rtol))


def rounded_trace(ex: Exercise, rounding) -> dict:
    """Each value computed by hand from earlier values written down rounded (`rounding`); each is returned
    before its own rounding, so the band reaches what a student gets."""
    values, raw = {}, {}

    def get(kind, step, sample, layer, unit, source):
        key = (kind, step, sample, layer, unit, source)
        return values[key] if key in values else ex.exact[key]

    for item in ex.items:
        raw[item.key] = ex.value(item, get)
        values[item.key] = rounding(raw[item.key])
    return raw


def diagnose(ex: Exercise, item: Item, value: float, written: int, own, policy: Rounding,
             rtol: float) -> tuple[str, str]:
    """The first classic mistake whose value matches the answer (from the student's or the exact inputs), or
    'not explained' with the value the student's own earlier answers give."""
    exact_get = lambda kind, *key: ex.exact.get((kind, *key), own(kind, *key))
    for (mistake, mine), (_, theirs) in zip(each_mistake(ex, item, own), each_mistake(ex, item, exact_get)):
        if any(close(value, c, rtol) or policy.same(value, c, written) for c in (*mine, *theirs)):
            return mistake.name, mistake.explain
    from_own = ex.value(item, own)
    return UNEXPLAINED, (f"expected {show(ex.exact[item.key])}; your earlier answers give {show(from_own)}; "
                         "check this step again")


def steps_answered(answers: dict) -> int:
    """The number of steps an answer sheet covers, from its labels ('step 2: ...'); 1 without prefixes."""
    found = [int(m.group(1)) for a in answers for m in [re.match(r"\s*step (\d{1,6}): ", str(a), re.I)] if m]
    return max(found or [1])


def check_file(spec, path, rtol: float = DEFAULT_RTOL, rounding: Rounding | None = None,
               notation: str | None = None, variants: tuple = (), known: dict | None = None,
               assigned: str | None = None) -> Result:
    """Grade one student file against its own variant; a bad file gives a Result with `error` set, never raises.

    The variant, notation and steps come from the file (as `tracer template` wrote them); `notation`
    overrides the file's. A file may claim only the steps its labels show, and gets SECONDS_PER_FILE.
    `variants`: the class's variant ids, which a file without its variant row is matched against by the givens
    it repeats (tracer.grading.identify); `known` keeps their givens across files; `assigned`: the student's
    variant where an LMS knows it.
    """
    result = Result(file=str(path))
    deadline = time.monotonic() + SECONDS_PER_FILE  # the whole file's work: reading, preparing, grading
    try:
        sheet = read_answers(Path(path))
    except AnswerFileError as e:
        result.error = str(e)
        return result
    except OSError as e:  # /proc/self/mem, an unreadable file, a vanished disk: this file's verdict alone
        result.error = f"cannot be read ({e.strerror or type(e).__name__})"
        return result
    result.problems = sheet.problems
    own = len(result.problems)  # the file's own problems; what explains the grading goes before them
    steps = claimed_steps(sheet)
    notation = notation or sheet.meta.get("notation")
    try:
        vid, result.identified = identify(spec, sheet, tuple(variants), steps, notation,
                                          {} if known is None else known, assigned)
    except AnswerFileError as e:
        result.error = str(e)
        return result
    result.variant = vid
    rounding = class_policy(sheet.meta.get("rounding"), rounding, result.problems)
    if result.identified == ITSELF:  # said, never silent: in a class of variants this would be the wrong numbers
        result.problems.insert(0, f"no variant row: graded against {spec.name} itself")
    try:
        result.marks = check_answers(variant_spec(spec, vid), sheet.answers, rtol=rtol, rounding=rounding,
                                     notation=notation, steps=steps, deadline=deadline)
    except TimeoutError:
        result.error = f"not graded: took longer than {SECONDS_PER_FILE:g} s"
        return result
    except Exception as e:  # a student's file never stops the batch: say what went wrong and go on
        result.error = f"cannot be graded ({str(e)[:200]})"
        return result
    _, unknown, notes = match_labels(sheet.answers, result.marks)
    cause = result.leading_cause()
    if cause is not None:  # after the notes on labels, variant and policy, before the file's own problems
        share = f"all {cause[1]}" if cause[1] == cause[2] else f"{cause[1]} of the {cause[2]}"
        result.problems.insert(len(result.problems) - own, f"{share} answers marked down come from one mistake: "
                                                           f"{cause[0]}")
    result.problems[:0] = notes
    known = len(sheet.answers) - len(unknown)
    if known == 0 and sheet.answers:  # not an answer sheet: say so without echoing its lines
        result.problems.append("no label matches this exercise: is it the right file, or in another notation "
                               "(--notation)?")
        return result
    result.unknown = unknown
    result.problems.extend(unknown_warnings(unknown, result.marks))
    if len(unknown) > known:
        result.problems.append("most labels do not match the exercise: were they changed, or is the file in "
                               "another notation (--notation)?")
    return result


def class_policy(written: str | None, given: Rounding | None, problems: list) -> Rounding | None:
    """The rounding a file is graded by: the one given to check, else the one the exercise carries (`written`,
    its rounding row); a given one that differs from the file's is said first."""
    own = Rounding.parse(written) if written else None
    if given is not None and written and own != given:
        problems.insert(0, f"the exercise says rounding to {written}; graded by {given.describe()} as given")
    return given if given is not None else own


def claimed_steps(sheet) -> str | None:
    """The steps a file says it answers, no more than its labels cover (a short file cannot claim 40,000)."""
    claim = sheet.meta.get("steps")
    if not claim:
        return None
    covered = steps_answered(sheet.answers)
    if claim.strip().isdigit() and int(claim) > covered:
        return str(covered)
    return claim.strip()[:200]
