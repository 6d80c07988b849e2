"""Zips made in memory with fixed entry dates, so the same contents give the same bytes (the QTI package, the
Gradescope autograder and the wheel inside it)."""
from __future__ import annotations

import io
import zipfile

DATE = (2000, 1, 1, 0, 0, 0)


def zipped(files: dict, mode: int | None = None, executable: tuple = ()) -> bytes:
    """A zip of name -> text or bytes, entries sorted by name; with `mode`, each entry has that mode, and the
    `executable` ones 755."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.external_attr = (0o755 if name in executable else mode) << 16
            data = files[name]
            z.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)
    return buffer.getvalue()
