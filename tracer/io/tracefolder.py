"""A trace folder as files, without reading a table: which tables it holds, its manifest (trace.json), and the
check that the tables hold exactly the steps the manifest names. Needs neither pandas nor pyarrow, so that
`tracer diff` of two Parquet folders loads neither pandas (tracer.compare.folders) nor anything unused.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..engine.tables import COLUMNS
from ..errors import TracerError
from ..steps import describe_steps, select_steps

MANIFEST = "trace.json"


def read_manifest(directory: Path) -> dict:
    """trace.json of a folder, or {} when there is none (other code's tables, older folders)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        raise TracerError(str(path), "not a trace manifest; remove it or write the trace again") from None
    return info if isinstance(info, dict) else {}


def table_files(directory: Path) -> dict[str, Path]:
    """The trace tables a folder holds, by name (in the contract's order): name.parquet, else name.csv. A table's
    name that is not a regular file (a folder named nodes.csv) is refused, never passed over as missing."""
    out = {}
    for name in COLUMNS:
        for path in (directory / f"{name}.{ext}" for ext in ("parquet", "csv")):
            if (path.exists() or path.is_symlink()) and not path.is_file():
                raise TracerError(str(path), "not a regular file; a trace table is a CSV or Parquet file")
            if path.is_file():
                out.setdefault(name, path)
    return out


def table_path(directory: Path, name: str) -> Path:
    """The table's file in a folder: name.parquet or name.csv."""
    path = table_files(Path(directory)).get(name)
    if path is not None:
        return path
    raise TracerError(str(directory / f"{name}.csv"), f"missing; a trace directory holds "
                                                      f"{', '.join(f'{n}.csv' for n in COLUMNS)} (or .parquet)")


def held_steps(folder: Path, info: dict, present: list[str], found: list[int]) -> list[int] | None:
    """The steps a folder tracer wrote holds, checked against its manifest `info`, so that a diff never says
    "same" about what it did not compare: it must hold all four tables (`present`) and exactly the steps its
    manifest names (the range read only up to the tables' last step); `found` are the steps the tables hold,
    sorted. None when it holds its whole run, else those steps."""
    where = str(folder / MANIFEST)
    missing = [n for n in COLUMNS if n not in present]
    if missing:
        raise TracerError(str(folder), f"holds no {', '.join(missing)} table, though its trace.json says tracer "
                                       "wrote it whole; write the trace again")
    steps, held, total = info.get("steps"), info.get("steps_held"), info.get("total_steps")
    if not isinstance(steps, str) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                             for n in (held, total)):
        raise TracerError(where, "not a trace manifest (steps, steps_held and total_steps); write the trace again")
    named = select_steps(steps, max(found[-1] if found else 0, 1), option=where) if steps else []
    if found != named or held != len(found) or total < held:
        raise TracerError(where, f"says steps {steps or 'none'} ({held} of {total}), but the tables hold "
                                 f"{describe_steps(found) or 'no step'}; write the trace again")
    return found if held < total else None
