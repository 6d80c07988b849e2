"""Writes are atomic: a failure leaves neither a half-written file nor a temporary one."""
from __future__ import annotations

import os

import pytest

from tracer.io.atomic import atomic_path, write_text


def test_failure_leaves_nothing(tmp_path):
    target = tmp_path / "report.html"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("exporter failed")
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_the_previous_file(tmp_path):
    target = tmp_path / "t.csv"
    write_text(target, "old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("new")
            raise RuntimeError
    assert target.read_text() == "old\n" and len(list(tmp_path.iterdir())) == 1


def test_written_file_has_the_usual_permissions(tmp_path):
    write_text(tmp_path / "a.txt", "x")
    mask = os.umask(0o022)
    os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask
