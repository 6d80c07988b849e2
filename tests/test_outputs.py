"""Outputs never replace what is not ours, are written whole or not at all, and a full disk is one line.

Symlinks are written through; folders, FIFOs and devices are refused before anything is written; a
read-only place is refused first; a trace folder is swapped in whole (killed or concurrent runs never leave
a mix of tables); stale temporaries of a run that is gone are removed; a full disk is exit 3, one line,
nothing left behind. Root can mount small and read-only filesystems for the last two; otherwise a fault is
injected at the write.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tools.cli import tracer_cli
from tracer.cli import main

pytestmark = pytest.mark.slow  # subprocesses, real tools or whole workbooks: left out of the quick loop

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args) -> tuple[int, str, str]:
    ran = tracer_cli(args, Path.cwd())
    return ran.returncode, ran.stdout, ran.stderr


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tracer-" in p.name)


def test_a_symlink_is_written_through(tmp_path):
    real = tmp_path / "real.html"
    real.write_text("old")
    (tmp_path / "link.html").symlink_to(real)
    assert run_cli("run", "ekman", "--html", tmp_path / "link.html", "-q")[0] == 0
    assert (tmp_path / "link.html").is_symlink() and "<!DOCTYPE html>" in real.read_text()
    (tmp_path / "dangling.xlsx").symlink_to(tmp_path / "target.xlsx")
    assert run_cli("run", "ekman", "--xlsx", tmp_path / "dangling.xlsx", "-q")[0] == 0
    assert (tmp_path / "dangling.xlsx").is_symlink() and (tmp_path / "target.xlsx").stat().st_size > 0


def test_a_fifo_is_refused_and_never_opened(tmp_path):
    os.mkfifo(tmp_path / "fifo.html")
    p = subprocess.run([sys.executable, "-m", "tracer", "run", "ekman", "--html", tmp_path / "fifo.html",
                        "--trace", tmp_path / "t"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "is a FIFO, not a file" in p.stderr and len(p.stderr.splitlines()) == 1
    assert stat.S_ISFIFO(os.stat(tmp_path / "fifo.html").st_mode) and not (tmp_path / "t").exists()


def test_dev_null_and_a_character_device_are_left_as_they_are(tmp_path):
    status, _, err = run_cli("run", "ekman", "--html", "/dev/null")
    assert status == 2 and "is a character device" in err and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    try:
        os.mknod(tmp_path / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod of a character device is not permitted here (not root); /dev/null was tested above")
    status, _, err = run_cli("run", "ekman", "--xlsx", tmp_path / "null")
    assert status == 2 and stat.S_ISCHR(os.stat(tmp_path / "null").st_mode)


def test_a_folder_is_refused_and_a_trailing_slash_writes_inside(tmp_path):
    (tmp_path / "existing").mkdir()
    status, _, err = run_cli("run", "ekman", "--xlsx", tmp_path / "existing")
    assert status == 2 and "is a folder, not a file" in err and list((tmp_path / "existing").iterdir()) == []
    assert run_cli("run", "ekman", "--xlsx", f"{tmp_path / 'new'}/", "--html", f"{tmp_path / 'new'}/", "-q")[0] == 0
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["ekman.html", "ekman.xlsx"]


@contextlib.contextmanager
def filesystem(tmp_path: Path, options: str):
    """A small tmpfs mounted at tmp_path/mnt (root only), or None."""
    target = tmp_path / "mnt"
    target.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        yield None
        return
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True)
    if p.returncode != 0:
        yield None
        return
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def test_a_read_only_place_is_refused_before_anything_is_written(tmp_path):
    with filesystem(tmp_path, "ro,size=1m") as ro:
        if ro is None:
            ro = tmp_path / "mnt"
            ro.chmod(0o555)
        status, _, err = run_cli("run", "ekman", "--trace", tmp_path / "t", "--xlsx", ro / "w.xlsx")
        assert status == 2 and "cannot write in" in err and len(err.splitlines()) == 1
        assert not (tmp_path / "t").exists()


def test_a_full_disk_is_exit_3_in_one_line_with_nothing_left(tmp_path, monkeypatch):
    with filesystem(tmp_path, "size=256k") as small:
        if small is not None:
            status, _, err = run_cli("run", "xor", "--trace", small / "t")
        else:  # no mount here: the disk fills up while the second table is written
            import tracer.io.tracewriter as tracefiles

            real, calls = tracefiles.write_table, []

            def full(df, path, format="csv"):
                calls.append(path)
                if len(calls) == 2:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return real(df, path, format)
            monkeypatch.setattr(tracefiles, "write_table", full)
            small = tmp_path / "mnt"
            status, _, err = run_cli("run", "xor", "--trace", small / "t")
        assert status == 3 and "no space left on the device" in err and len(err.splitlines()) == 1, err
        assert list(small.iterdir()) == []  # no partial folder, no temporary


def full_disk(monkeypatch, module, name: str, after: int = 0) -> None:
    """Where no small filesystem can be mounted: the disk fills up at call number `after` + 1 of module.name."""
    real, calls = getattr(module, name), []

    def full(*args, **kwargs):
        calls.append(args)
        if len(calls) > after:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)
    monkeypatch.setattr(module, name, full)


def test_a_full_disk_leaves_no_folder_the_run_made_and_prints_one_line(tmp_path, monkeypatch):
    """A workbook, a report and a trace folder in folders the run makes: exit 3, one line (no second error from
    the zip writer's cleanup), and the folders are gone too."""
    with filesystem(tmp_path, "size=256k") as small:
        if small is not None:  # a real full disk, in its own process: everything it prints is seen
            p = subprocess.run([sys.executable, "-m", "tracer", "run", "xor", "--xlsx", small / "a/b/w.xlsx",
                                "--html", small / "a/b/r.html", "--trace", small / "a/t"],
                               capture_output=True, text=True, timeout=120)
            status, err = p.returncode, p.stderr
        else:
            from tracer.io import xlsxwriting

            full_disk(monkeypatch, xlsxwriting.Path, "write_bytes")
            small = tmp_path / "mnt"
            status, _, err = run_cli("run", "xor", "--xlsx", small / "a/b/w.xlsx", "--html", small / "a/b/r.html",
                                     "--trace", small / "a/t")
        assert status == 3 and "no space left on the device" in err and len(err.splitlines()) == 1, err
        assert list(small.iterdir()) == []


def test_a_full_disk_at_the_last_output_of_a_class_leaves_none(tmp_path, monkeypatch):
    """template writes 40 handouts and keys, then the quiz: the disk is full at the quiz, so nothing is left."""
    with filesystem(tmp_path, "size=1m") as small:
        if small is None:
            from tracer.grading import lms

            full_disk(monkeypatch, lms, "write_text")
            small = tmp_path / "mnt"
        status, _, err = run_cli("template", "frey-online", "--variants", "40", "--out", small / "class/ex",
                                 "--moodle", small / "class/quiz.xml", "--sig", "4")
        assert status == 3 and "no space left on the device" in err and len(err.splitlines()) == 1, err
        assert list(small.iterdir()) == []


def test_a_trace_folder_is_replaced_whole_and_a_folder_of_the_users_never(tmp_path, monkeypatch):
    t = tmp_path / "t"
    assert run_cli("run", "frey-online", "--trace", t, "-q")[0] == 0
    before = {p.name: p.read_bytes() for p in t.iterdir()}
    import tracer.io.tracewriter as tracefiles

    real, calls = tracefiles.TraceStream.sink, []

    def killed(stream, name, table):
        calls.append(name)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the run is stopped halfway through its tables, as they stream
        return real(stream, name, table)
    monkeypatch.setattr(tracefiles.TraceStream, "sink", killed)
    with pytest.raises(KeyboardInterrupt):
        run_cli("run", "frey-online", "--epochs", "1", "--trace", t, "-q")
    monkeypatch.undo()
    assert calls == ["nodes", "weights", "updates"]
    assert {p.name: p.read_bytes() for p in t.iterdir()} == before and leftovers(tmp_path) == []
    (t / "my-notes.txt").write_text("mine")
    status, _, err = run_cli("run", "frey-online", "--trace", t)
    assert status == 2 and "holds files that are not trace tables (my-notes.txt)" in err
    assert (t / "my-notes.txt").read_text() == "mine"


def test_stale_temporaries_of_a_run_that_is_gone_are_removed(tmp_path):
    stale = tmp_path / ".t.tracer-tmp-999999999-abc"
    stale.mkdir()
    (stale / "nodes.csv").write_text("half")
    (tmp_path / ".w.xlsx.tracer-tmp-999999999-def").write_text("half")
    (tmp_path / "..w.xlsx.tracer-tmp-999999999-def.tracer-tmp-999999999-ghi").write_text("half")  # older versions'
    mine = tmp_path / f".t.tracer-tmp-{os.getpid()}-xyz"  # a live process's: kept
    mine.mkdir()
    assert run_cli("run", "ekman", "--trace", tmp_path / "t", "--xlsx", tmp_path / "w.xlsx", "-q")[0] == 0
    assert leftovers(tmp_path) == [mine.name]


def test_each_output_has_one_temporary(tmp_path, monkeypatch):
    """The workbook and trace writers write straight into the temporary the run gave them (a killed run left
    doubly wrapped temporaries the cleanup did not match)."""
    from tracer.export.xlsx import book
    from tracer.io import tracewriter as tracefiles

    books, tables = [], []
    new_workbook, write_table = book.new_workbook, tracefiles.write_table
    monkeypatch.setattr(book, "new_workbook",
                        lambda path, *a, **k: books.append(Path(path)) or new_workbook(path, *a, **k))
    monkeypatch.setattr(tracefiles, "write_table",
                        lambda df, path, *a: tables.append(Path(path)) or write_table(df, path, *a))
    sink = tracefiles.TraceStream.sink  # the streamed tables
    monkeypatch.setattr(tracefiles.TraceStream, "sink", lambda stream, name, table: tables.append(
        stream.folder / f"{name}.{stream.format}") or sink(stream, name, table))
    assert run_cli("run", "ekman", "--trace", tmp_path / "t", "--xlsx", tmp_path / "w.xlsx", "-q")[0] == 0
    assert len(books) == 1 and books[0].name.startswith(".w.xlsx.tracer-tmp-") and len(tables) == 4
    assert all(p.parent.name.startswith(".t.tracer-tmp-") for p in tables), tables
    assert all(str(p.relative_to(tmp_path)).count(".tracer-tmp-") == 1 for p in books + tables), books + tables


def test_concurrent_runs_never_mix_their_tables(tmp_path):
    t = tmp_path / "t"
    runs = [subprocess.Popen([sys.executable, "-m", "tracer", "run", "frey-online", "--epochs", str(e), "--trace",
                              t, "-q"], stderr=subprocess.PIPE, text=True) for e in (1, 2, 1, 2)]
    assert all(r.wait(timeout=120) == 0 for r in runs), [r.stderr.read() for r in runs]
    info = json.loads((t / "trace.json").read_text())
    steps = {name: pd.read_csv(t / f"{name}.csv")["step"].max() for name in ("nodes", "weights", "updates", "losses")}
    assert set(steps.values()) == {info["total_steps"]}, (steps, info)
    assert leftovers(tmp_path) == []


def snapshot(folder: Path) -> dict:
    """Every file under a folder with its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("args, option, message", [
    (["run", "s.yaml", "--html", "s.yaml"], "--html", "also an input"),
    (["run", "s.yaml", "--xlsx", "a.xlsx", "--html", "a.xlsx"], "--html", "also the output of --xlsx"),
    (["run", "s.yaml", "--trace", "t", "--xlsx", "t/w.xlsx"], "--trace", "lies inside it"),
    (["run", "s.yaml", "--trace", "."], "--trace", "lies inside it"),
    (["run", "s.yaml", "--xlsx", "link.yaml"], "--xlsx", "also an input"),
    (["template", "s.yaml", "--out", "ex.xlsx", "--key", "s.yaml"], "--key", "also an input"),
    (["check", "s.yaml", "alice.xlsx", "--report", "alice.xlsx"], "--report", "also an input"),
    (["check", "s.yaml", "grades/gradebook.csv", "alice.xlsx", "--out", "grades"], "--out (gradebook.csv)",
     "also an input"),
    (["diff", "alice.xlsx", "s.yaml", "--report", "alice.xlsx"], "--report", "also an input"),
], ids=["report over the spec", "two outputs one file", "workbook inside the trace folder",
        "trace folder holding the spec", "output through a symlink to the spec", "key over the spec",
        "feedback over the answers", "gradebook over an answer file", "diff report over an input"])
def test_no_output_is_an_input_or_another_output(tmp_path, monkeypatch, args, option, message):
    """Refused in one line naming the option, before anything runs: every file is as it was, nothing new."""
    from tracer.io.resources import find_example

    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(find_example("ekman").read_text())
    (tmp_path / "link.yaml").symlink_to(tmp_path / "s.yaml")
    assert main(["template", "s.yaml", "--out", "blank.xlsx", "--key", "alice.xlsx"]) == 0
    (tmp_path / "grades").mkdir()
    (tmp_path / "grades" / "gradebook.csv").write_text("quantity,value\nz_g,-0.25\n")
    before = snapshot(tmp_path)
    status, out, err = run_cli(*args)
    assert status == 2 and err.startswith(f"tracer: error: {option}: ") and message in err, err
    assert len(err.splitlines()) == 1 and out == ""
    assert snapshot(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["s.yaml", "link.yaml", "blank.xlsx", "alice.xlsx", "grades"])


@pytest.mark.parametrize("option", ["--moodle", "--qti"])
def test_a_quiz_path_that_is_not_a_file_is_refused_before_any_variant_is_written(tmp_path, option):
    os.mkfifo(tmp_path / "quiz")
    status, out, err = run_cli("template", "ekman", "--variants", "3", "--out", tmp_path / "v", option,
                               tmp_path / "quiz")
    assert status == 2 and "is a FIFO" in err and "nothing was written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiz"]  # no variant, no key, no folder
