"""Files shipped beside the package: Jinja2 templates and the bundled example specs.

In a wheel they live inside the package (tracer/templates, tracer/examples); in a source checkout
they are the top-level templates/ and examples/ folders.
"""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The folder `name` ('templates' or 'examples'), wherever this installation keeps it."""
    for candidate in (HERE / name, HERE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"{name}/ is missing from this installation of backprop-tracer")


def example_paths() -> list[Path]:
    """The bundled example specs, sorted by file name."""
    return sorted(resource_dir("examples").glob("*.yaml"))


def find_example(name: str) -> Path | None:
    """The bundled example whose file stem is `name`, if any."""
    for path in example_paths():
        if path.stem == name:
            return path
    return None
