"""Files shipped beside the package: Jinja2 templates and the bundled example specs.

In a wheel they live inside the package (tracer/templates, tracer/examples); in a source checkout
they are the top-level templates/ and examples/ folders.
"""
from __future__ import annotations

import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # tracer/


def resource_dir(name: str) -> Path:
    """The folder `name` ('templates' or 'examples'), wherever this installation keeps it."""
    for candidate in (PACKAGE / name, PACKAGE.parent / name):
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


def render_template(template: str, **data) -> str:
    """A bundled Jinja2 template rendered with prepared data; every value is autoescaped."""
    return _environment().get_template(template).render(**data)


@functools.lru_cache(maxsize=1)
def _environment():
    """One Jinja2 environment per process: its templates are compiled once (a class's 500 feedback pages);
    Jinja2 is imported only here, by what writes HTML."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(str(resource_dir("templates"))),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)

