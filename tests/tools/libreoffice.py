"""Recalculate workbooks in LibreOffice (headless) and return the paths of the recalculated copies."""
from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path


CACHED = re.compile(rb"(<f>[^<]*</f>)<v>[^<]*</v>")  # a formula cell's cached value (XlsxWriter, openpyxl)


def strip_cached_values(src: Path, dst: Path) -> None:
    """A copy with every formula's cached value removed from the sheets' XML (the formulas kept), so LibreOffice
    has nothing to show but what it computes itself."""
    with zipfile.ZipFile(src) as zin:
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
            for item in zin.infolist():
                data = zin.read(item)
                if item.filename.startswith("xl/worksheets/sheet"):
                    data = CACHED.sub(rb"\1", data)
                zout.writestr(item, data)


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


def convert_many(soffice: str, sources: list[Path], workdir: Path, fmt: str) -> list[Path]:
    """Workbooks converted by LibreOffice to `fmt` ('pdf': printed with each sheet's page setup; 'png': the
    first printed page), formulas recalculated first; the paths of the results."""
    workdir.mkdir(parents=True, exist_ok=True)
    profile = workdir / "lo-profile"
    always_recalculate(profile)
    cmd = [soffice, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless", "--norestore",
           "--convert-to", fmt, "--outdir", str(workdir), *map(str, sources)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=600,
                   env={"HOME": str(workdir), "PATH": "/usr/bin:/bin"})
    results = [workdir / f"{Path(s).stem}.{fmt}" for s in sources]
    missing = [str(r) for r in results if not r.exists()]
    if missing:
        raise RuntimeError(f"LibreOffice wrote nothing for {', '.join(missing)}")
    return results


def pdf_pages(path: Path) -> list[tuple[float, float]]:
    """The size (width, height in points) of each page of a PDF that LibreOffice or Chromium wrote (their page
    objects are plain text: /Type /Page with a /MediaBox)."""
    import re

    data = Path(path).read_bytes()
    pages = []
    for m in re.finditer(rb"/Type\s*/Page\b(?!s)", data):
        start = data.rfind(b"obj", 0, m.start())
        end = data.find(b"endobj", m.end())
        box = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", data[start:end])
        if box:
            x0, y0, x1, y1 = map(float, box.groups())
            pages.append((x1 - x0, y1 - y0))
        else:
            pages.append((0.0, 0.0))
    return pages
