"""Recalculate workbooks in LibreOffice (headless) and return the paths of the recalculated copies."""
from __future__ import annotations

import subprocess
from pathlib import Path

import openpyxl


def strip_cached_values(src: Path, dst: Path) -> None:
    """Save a copy through openpyxl, which keeps formulas but drops their cached values.

    LibreOffice then has nothing to show but what it computes itself.
    """
    wb = openpyxl.load_workbook(src)
    wb.save(dst)


def recalculate_many(soffice: str, sources: list[Path], workdir: Path) -> list[Path]:
    """Strip cached values, let LibreOffice recompute every formula (one soffice call), save as xlsx."""
    workdir.mkdir(parents=True, exist_ok=True)
    stripped = []
    for n, src in enumerate(sources):
        dst = workdir / f"{n}-{Path(src).name}"
        strip_cached_values(Path(src), dst)
        stripped.append(dst)
    out = workdir / "recalculated"
    profile = workdir / "lo-profile"  # private profile: parallel runs do not collide
    always_recalculate(profile)
    cmd = [soffice, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless", "--norestore",
           "--calc", "--convert-to", "xlsx", "--outdir", str(out), *map(str, stripped)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=600,
                   env={"HOME": str(workdir), "PATH": "/usr/bin:/bin"})
    results = [out / s.name for s in stripped]
    missing = [str(r) for r in results if not r.exists()]
    if missing:
        raise RuntimeError(f"LibreOffice wrote nothing for {', '.join(missing)}")
    return results


RECALC_ON_LOAD = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
</oor:items>
"""


def always_recalculate(profile: Path) -> None:
    """Set the profile's 'recalculate xlsx files on load' to Always: a full (hard) recalculation.

    Without it LibreOffice computes formulas that lack a cached value lazily, and a MAX() over cells not yet
    computed was seen to read them as 0.
    """
    user = profile / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(RECALC_ON_LOAD)


def recalculate(soffice: str, src: Path, workdir: Path) -> Path:
    """One workbook recalculated by LibreOffice."""
    return recalculate_many(soffice, [src], workdir)[0]
