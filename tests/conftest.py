"""Shared fixtures: the real tools (LibreOffice, Chromium) and the bundled examples.

A test that needs a real tool skips with the reason when the tool is missing on this machine;
with CI=true it fails instead, so CI never passes by skipping.
"""
from __future__ import annotations

import os
import shutil

import pytest

from tracer.io.resources import example_paths

IN_CI = os.environ.get("CI", "").lower() == "true"
TOOL_MARKS = {"soffice": "libreoffice", "chromium": "browser", "torch": "torch"}  # fixture -> mark


def pytest_collection_modifyitems(items):
    """Mark each test by the real tool it needs (libreoffice, browser, torch); those are slow too, so
    `pytest -m "not slow"` is the quick loop of pure-Python tests."""
    for item in items:
        marks = [mark for fixture, mark in TOOL_MARKS.items() if fixture in getattr(item, "fixturenames", ())]
        for mark in marks:
            item.add_marker(mark)
        if marks:
            item.add_marker("slow")


def pytest_runtest_setup(item):
    """Before an in-process pytester session: import what the installed pytest plugins import. pytester drops
    every module first imported inside an inner session, so hypothesis's plugin would import (and
    assertion-rewrite) about 500 modules again in each one, 1.5 s a session."""
    if "pytester" in getattr(item, "fixturenames", ()):
        import hypothesis  # noqa: F401


def require_tool(names: tuple[str, ...], package: str) -> str:
    """Path of the first of `names` on PATH; skip (locally) or fail (CI=true) when none is there."""
    for name in names:
        if path := shutil.which(name):
            return path
    reason = f"{names[0]} not found: install Debian's {package} (apt-get install {package})"
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def soffice() -> str:
    """The LibreOffice binary, for tests that recalculate workbooks in a real spreadsheet engine."""
    return require_tool(("soffice", "libreoffice"), "libreoffice-calc")


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium binary, for tests that render reports in a real browser (tools.browser opens one
    browser per session, a fresh context per page, and it is closed here at the session's end)."""
    yield require_tool(("chromium", "chromium-browser"), "chromium")
    from tools.browser import close_browsers

    close_browsers()


@pytest.fixture(scope="session")
def pdftotext() -> str:
    """poppler's pdftotext, for tests that read printed pages back."""
    return require_tool(("pdftotext",), "poppler-utils")


@pytest.fixture(scope="session")
def torch():
    """PyTorch, for the tests of tracer.torch (the [torch] extra; CI installs the CPU wheel)."""
    try:
        import torch
    except ImportError:
        reason = "torch not installed: pip install -e '.[torch]' (the CPU wheel is enough)"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    return torch


EXAMPLES = example_paths()


@pytest.fixture(params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def example(request):
    """Each bundled example spec file."""
    return request.param
