"""A Gradescope autograder for a class's variants: `tracer template SPEC --variants N --gradescope FILE.zip`.

The zip holds what Gradescope's documented autograder layout asks for: `setup.sh`, which installs this project
from the wheel inside the zip (its dependencies from the image's index), and `run_autograder`, which grades the
student's upload (the first .xlsx or .csv) with `tracer check` against the student's variant and writes
`results/results.json`: one test per quantity (score, max_score, and the verdict with the named mistake), the
total, and which variant was graded. The variant is the one the file's variant row names (the handout the
student got), else the one chosen from submission_metadata.json, the same for a student every time (a hash
of their Gradescope id). AUTOGRADER_ROOT (default /autograder) moves the root, so tests run it anywhere.
"""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from .. import __version__
from ..errors import TracerError
from ..io.atomic import atomic_path
from ..io.resources import resource_dir
from ..io.specfile import read_spec_file
from ..io.zips import zipped
from .numbers import Rounding

WHEEL = f"backprop_tracer-{__version__}-py3-none-any.whl"
DEPENDENCIES = ("jinja2>=3.1", "numpy>=1.24", "openpyxl>=3.1", "pandas>=2.2", "polars>=1.0", "pyarrow>=14",
                "pyyaml>=6.0", "xlsxwriter>=3.1")

SETUP = f"""#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder's image: install backprop-tracer from its wheel.
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
python3 -m pip install --quiet "$ROOT/source/{WHEEL}"
"""
RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade it and write results/results.json.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
mkdir -p "$ROOT/results"
python3 "$ROOT/source/grade.py" "$ROOT"
"""
GRADE = '''"""Grade a Gradescope submission with tracer check against the student's variant (see config.json)."""
import hashlib
import json
import sys
from pathlib import Path

import tracer
from tracer.grading.check import SCORING, check_file
from tracer.grading.numbers import Rounding
from tracer.grading.variants import variant_ids

root = Path(sys.argv[1])
config = json.loads((root / "source" / "config.json").read_text(encoding="utf-8"))
spec_file = root / "source" / config["spec"]
spec = tracer.load_spec(spec_file if spec_file.is_file() else config["spec"])
variants = variant_ids(spec, config["variants"], config["seed"], config["saturated"])
meta_path = root / "submission_metadata.json"
meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
users = meta.get("users") or [{}]
student = str(users[0].get("id") or users[0].get("email") or "")
assigned = variants[int(hashlib.sha256(student.encode("utf-8")).hexdigest(), 16) % len(variants)]
uploads = sorted(p for p in (root / "submission").rglob("*") if p.is_file() and p.suffix.lower() in (".xlsx", ".csv"))
if not uploads:
    results = {"score": 0.0, "output": "No answer file: upload the exercise workbook (.xlsx) or a CSV file.",
               "visibility": "visible", "tests": []}
else:
    result = check_file(spec, uploads[0], rounding=Rounding.parse(config["rounding"]), assigned=assigned)
    tests = [{"name": m.label, "number": str(n), "score": 1.0 if m.status in SCORING else 0.0, "max_score": 1.0,
              "status": "passed" if m.status in SCORING else "failed",
              "output": m.status + (f": {m.diagnosis}" if m.diagnosis else "") + (f". {m.explain}" if m.explain else ""),
              "visibility": "visible"} for n, m in enumerate(result.marks, start=1)]
    lines = [f"{uploads[0].name}: variant {result.variant} ({result.identified})", *result.problems]
    if result.error:
        lines.append(f"not graded: {result.error}")
    results = {"score": float(sum(t["score"] for t in tests)), "output": "\\n".join(lines),
               "visibility": "visible", "tests": tests}
(root / "results").mkdir(parents=True, exist_ok=True)
(root / "results" / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\\n",
                                               encoding="utf-8")
'''


def write_gradescope(path, spec, spec_source: str, n: int, seed: int, saturated: bool,
                     rounding: Rounding | None) -> Path:
    """The autograder zip of a class's N variants. spec_source: the spec's file, or a bundled example's name."""
    source = Path(spec_source)
    config = {"spec": source.name if source.is_file() else spec_source, "variants": n, "seed": seed,
              "saturated": saturated, "rounding": (rounding or Rounding()).describe()}
    if source.is_file() and isinstance(read_spec_file(source).get("data"), dict):
        raise TracerError("--gradescope", "a spec whose data is in a CSV file cannot be packed yet; put the data in "
                                          "the spec (data: [{x: ..., y: ...}])")
    files = {"setup.sh": SETUP, "run_autograder": RUN, "grade.py": GRADE,
             "config.json": json.dumps(config, indent=1) + "\n", WHEEL: wheel()}
    if source.is_file():
        files[source.name] = source.read_bytes()
    with atomic_path(path) as tmp:
        tmp.write_bytes(zipped(files, 0o644, executable=("setup.sh", "run_autograder")))
    return Path(path)


def wheel() -> bytes:
    """This installation of backprop-tracer as a wheel (the package, its templates and examples, its metadata),
    built in memory; its dependencies are installed from the index."""
    package = Path(__file__).resolve().parents[1]
    files = {f"tracer/{p.relative_to(package).as_posix()}": p.read_bytes() for p in sorted(package.rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    for name in ("templates", "examples"):
        folder = resource_dir(name)
        if package not in folder.parents:  # a source checkout keeps them beside the package
            files.update({f"tracer/{name}/{p.relative_to(folder).as_posix()}": p.read_bytes()
                          for p in sorted(folder.rglob("*")) if p.is_file()})
    info = f"backprop_tracer-{__version__}.dist-info"
    files[f"{info}/METADATA"] = ("Metadata-Version: 2.1\nName: backprop-tracer\nVersion: " + __version__ + "\n" +
                                 "".join(f"Requires-Dist: {d}\n" for d in DEPENDENCIES)).encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: backprop-tracer\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/entry_points.txt"] = b"[console_scripts]\ntracer = tracer.cli:main\n"
    record = "".join(f"{name},sha256={_digest(data)},{len(data)}\n" for name, data in files.items())
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    return zipped(files, 0o644)


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
