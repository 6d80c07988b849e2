"""Recalculate a workbook in LibreOffice (headless) and return the path of the recalculated copy."""
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


def recalculate(soffice: str, src: Path, workdir: Path) -> Path:
    """Strip cached values, let LibreOffice recompute every formula, save as xlsx; return that file."""
    workdir.mkdir(parents=True, exist_ok=True)
    stripped = workdir / f"stripped-{Path(src).name}"
    strip_cached_values(Path(src), stripped)
    out = workdir / "recalculated"
    profile = workdir / "lo-profile"  # private profile: parallel runs do not collide
    cmd = [soffice, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless", "--norestore",
           "--calc", "--convert-to", "xlsx", "--outdir", str(out), str(stripped)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300, env={"HOME": str(workdir), "PATH": "/usr/bin:/bin"})
    result = out / stripped.name
    if not result.exists():
        raise RuntimeError(f"LibreOffice wrote nothing for {src}")
    return result
