"""The Gradescope autograder of `tracer template --gradescope`: unpacked into a root of its own, set up in a fresh
virtual environment (its setup.sh installs the wheel inside the zip), run on uploads as Gradescope runs it, and
its results.json checked against Gradescope's documented results format."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile

import openpyxl
import pytest

from tracer.cli import main

pytestmark = pytest.mark.slow  # a virtual environment and a pip install

# Gradescope's results.json (Autograder Specifications, "Output format"): the keys it reads, and their types
TOP = {"score": float, "execution_time": (int, float), "output": str, "output_format": str, "visibility": str,
       "stdout_visibility": str, "extra_data": dict, "tests": list, "leaderboard": list}
TEST = {"score": float, "max_score": float, "status": str, "name": str, "name_format": str, "number": str,
        "output": str, "output_format": str, "tags": list, "visibility": str, "extra_data": dict}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def valid_results(results: dict) -> None:
    assert set(results) <= set(TOP) and "score" in results or all("score" in t for t in results["tests"])
    for key, value in results.items():
        assert isinstance(value, TOP[key]), key
    assert results.get("visibility", "visible") in VISIBILITY
    for test in results["tests"]:
        assert set(test) <= set(TEST), set(test) - set(TEST)
        for key, value in test.items():
            assert isinstance(value, TEST[key]), key
        assert test.get("status", "passed") in {"passed", "failed"} and test.get("visibility", "visible") in VISIBILITY


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    """The zip unpacked as Gradescope lays it out (ROOT/source), set up once in a fresh venv."""
    out = tmp_path_factory.mktemp("gradescope")
    assert main(["template", "ekman", "--variants", "3", "--seed", "2", "--out", str(out / "v"),
                 "--gradescope", str(out / "autograder.zip"), "--round", "3"]) == 0
    root = out / "root"
    with zipfile.ZipFile(out / "autograder.zip") as z:
        z.extractall(root / "source")
        assert {"setup.sh", "run_autograder"} <= set(z.namelist())
    venv = out / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": ""}
    subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, check=True, capture_output=True, cwd=out)
    installed = subprocess.run([str(venv / "bin" / "python"), "-c", "import tracer; print(tracer.__file__)"],
                               env=env, capture_output=True, text=True, check=True, cwd=out).stdout
    assert str(venv) in installed  # the wheel from the zip, not this checkout
    return out, root, env


def grade(autograder, upload, student_id: str) -> dict:
    out, root, env = autograder
    submission = root / "submission"
    for old in submission.glob("*") if submission.exists() else []:
        old.unlink()
    submission.mkdir(exist_ok=True)
    (submission / upload.name).write_bytes(upload.read_bytes())
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"id": student_id, "name": "S"}]}))
    subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, check=True, capture_output=True,
                   cwd=out)
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    valid_results(results)
    return results


def test_a_right_key_scores_full_marks(autograder):
    out, _, _ = autograder
    results = grade(autograder, sorted((out / "v" / "keys").glob("*.xlsx"))[1], "1001")
    assert results["score"] == 26.0 and len(results["tests"]) == 26
    assert results["output"].startswith("ekman-variant-02-key.xlsx: variant ekman:2:2 (its variant row)")


def test_a_file_without_its_row_is_graded_against_the_variant_assigned_to_the_student(autograder, tmp_path):
    """No variant row: the student's variant comes from submission_metadata.json (a hash of their id, the same
    every time); a sign slip in one answer is named in that quantity's test."""
    out, _, _ = autograder
    student = "2002"
    index = int(hashlib.sha256(student.encode()).hexdigest(), 16) % 3
    wb = openpyxl.load_workbook(sorted((out / "v" / "keys").glob("*.xlsx"))[index])
    ws = wb["answers"]
    ws.delete_rows([r[0].row for r in ws.iter_rows() if r[0].value == "variant"][0])
    row = next(r for r in ws.iter_rows() if r[0].value == "error term g")
    row[1].value = -row[1].value
    wb.save(tmp_path / "mine.xlsx")
    results = grade(autograder, tmp_path / "mine.xlsx", student)
    assert f"variant ekman:2:{index + 1} (assigned to the student (no variant row))" in results["output"]
    test = next(t for t in results["tests"] if t["name"] == "error term g")
    assert (test["score"], test["status"]) == (0.0, "failed") and "sign flipped" in test["output"]
    assert results["score"] == 25.0


def test_no_upload_scores_zero_with_a_message(autograder, tmp_path):
    (tmp_path / "notes.txt").write_text("forgot the file")
    results = grade(autograder, tmp_path / "notes.txt", "3003")
    assert results["score"] == 0.0 and results["tests"] == [] and "No answer file" in results["output"]
