"""The wheel works on its own: `pip install .` (not editable) into a fresh venv, then `tracer run` elsewhere."""
from __future__ import annotations

import pytest

import subprocess
import sys
from pathlib import Path

import pandas as pd

pytestmark = pytest.mark.slow  # subprocesses, real tools or whole workbooks: left out of the quick loop

ROOT = Path(__file__).resolve().parents[1]


def test_fresh_venv_install_runs_the_ekman_example_from_another_directory(tmp_path):
    """The venv sees the test environment's packages (a .pth file naming its site-packages; the .pth files in
    there, such as this checkout's editable install, are not read), so pip builds and installs only
    backprop-tracer itself: the installed wheel, not this checkout, must then serve every file."""
    import site
    import sysconfig

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = subprocess.run([str(venv / "bin" / "python"), "-c", where], capture_output=True, text=True,
                             check=True).stdout.strip()
    parents = [p for p in {*site.getsitepackages(), sysconfig.get_path("purelib")} if Path(p).is_dir()]
    (Path(purelib) / "test-environment.pth").write_text("\n".join(parents) + "\n")
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(ROOT)],
                         capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = subprocess.run([str(venv / "bin" / "tracer"), "run", str(ROOT / "examples" / "ekman.yaml"),
                          "--trace", "out/"], cwd=elsewhere, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    updates = pd.read_csv(elsewhere / "out" / "updates.csv")
    assert updates["w_new"].round(4).tolist() == [0.3066, 0.5940, -0.0993, -0.1859, 0.4965]
    # bundled examples and templates come from inside the installed package, not from this checkout
    probe = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import tracer.io.resources as r; print(r.resource_dir('examples')); "
                            "print(r.resource_dir('templates')); print(len(r.example_paths()))"],
                           cwd=elsewhere, capture_output=True, text=True, check=True)
    examples_dir, templates_dir, count = probe.stdout.split()
    assert str(venv) in examples_dir and str(venv) in templates_dir
    assert int(count) == len(list((ROOT / "examples").glob("*.yaml")))
    by_name = subprocess.run([str(venv / "bin" / "tracer"), "run", "xor", "--epochs", "2", "-q"], cwd=elsewhere)
    assert by_name.returncode == 0
