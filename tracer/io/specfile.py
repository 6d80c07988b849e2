"""Spec files read safely: YAML (the 1.2 core schema) or JSON, and the CSV data files they name.

Untrusted text gets one-line errors naming the place (`ekman.yaml:12:5`), never a traceback and never the
file's content: size limits, UTF-8 (a byte-order mark is fine), no duplicate keys (a second `learning_rate`
would silently win), no YAML 1.1 surprises (`1:30` read as 90, `no` read as false), bounded numbers and
nesting. `load_spec` then validates the spec (tracer.model.spec).
"""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import yaml

from ..errors import SpecError, TracerError
from ..model.spec import Spec, parse_spec
from .atomic import atomic_path, output_target
from .resources import find_example

MAX_SPEC_BYTES = 5 * 2**20  # a spec is a few kB; the weights of a big net a few MB
MAX_CSV_BYTES = 200 * 2**20
MAX_DIGITS = 400  # longer numbers are not weights or data
MAX_DEPTH = 50  # nesting of mappings and lists
MAX_NODES = 1_000_000  # values, counted as YAML aliases expand them (nine levels of ten aliases: a billion)


def load_spec(path) -> Spec:
    """Read and validate a spec file (YAML, or JSON by extension), or a bundled example by name ('ekman')."""
    path = Path(path)
    if not path.exists() and (bundled := find_example(str(path))) is not None:
        path = bundled
    where = str(path)
    text = read_spec_text(path)
    raw = _json(text, where) if path.suffix.lower() == ".json" else _yaml(text, where)
    try:
        return parse_spec(raw, base=path.parent, path=path, read_csv=read_data_csv)
    except SpecError as e:
        at = locate(text, e.place) if e.place else None
        where = f"{where}:{at[0]}:{at[1]}" if at else where
        raise SpecError(f"{where}: {e.place}" if e.place else where, e.message) from None


PLACE_PARTS = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")  # 'layers[1].weights[0]' -> layers, 1, weights, 0


def locate(text: str, place: str) -> tuple[int, int] | None:
    """Line and column (from 1) in a YAML or JSON spec of the value a place names ('layers[1].weights[0]'), or
    of the deepest mapping or list on its way that the text has (a missing key: where it belongs); None for
    a place at the top that the text lacks."""
    try:
        node = yaml.compose(text, Loader=SpecLoader)  # nodes keep their marks; aliases are not expanded here
    except (yaml.YAMLError, RecursionError, ValueError):
        return None
    found = None
    for key, index in PLACE_PARTS.findall(place):
        if isinstance(node, yaml.MappingNode) and key:
            node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and index and int(index) < len(node.value):
            node = node.value[int(index)]
        else:
            node = None
        if node is None:
            break
        found = node
    return (found.start_mark.line + 1, found.start_mark.column + 1) if found is not None else None


def read_spec_file(path: Path):
    """The mapping a spec file holds, read safely."""
    text = read_spec_text(path)
    return _json(text, str(path)) if path.suffix.lower() == ".json" else _yaml(text, str(path))


def read_spec_text(path: Path) -> str:
    """A spec file's text, read safely (a regular file, within the size limit, UTF-8)."""
    where = str(path)
    if not path.is_file():
        what = "not a regular file" if path.exists() else "no such spec file"
        raise SpecError(where, f"{what} (check the path, or run `tracer examples` for the bundled ones)")
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError(where, f"{size / 2**20:.1f} MB is more than a spec file's {MAX_SPEC_BYTES / 2**20:g} MB; "
                                   "put large data in a CSV file (data: {csv: ...})")
        data = path.read_bytes()
    except OSError as e:
        raise SpecError(where, f"cannot read the file ({e.strerror})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SpecError(where, f"not UTF-8 text (byte {e.start}); save the file as UTF-8") from None


def _json(text: str, where: str):
    def pairs(items):
        out = {}
        for k, v in items:
            if k in out:
                raise SpecError(where, f"the key {k!r} appears twice in one mapping; keep one")
            out[k] = v
        return out

    def integer(s: str):
        if len(s.lstrip("-")) > MAX_DIGITS:
            raise SpecError(where, f"a number with {len(s)} digits; numbers have at most {MAX_DIGITS}")
        return int(s)

    try:
        raw = json.loads(text, object_pairs_hook=pairs, parse_int=integer)
    except json.JSONDecodeError as e:
        raise SpecError(f"{where}:{e.lineno}:{e.colno}", f"invalid JSON: {e.msg}") from None
    except RecursionError:
        raise SpecError(where, f"nested more than {MAX_DEPTH} levels deep") from None
    _depth(raw, where)
    return raw


class SpecLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core scalars and duplicate keys refused."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            k = self.construct_object(key_node, deep=True)
            try:
                duplicate = k in seen
                seen.add(k)
            except TypeError:
                raise yaml.constructor.ConstructorError(None, None, "a mapping key must be text or a number",
                                                        key_node.start_mark) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"the key {k!r} appears twice in one mapping; "
                                                                    "keep one", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


# YAML 1.2 core schema: only true/false are booleans, integers have no sexagesimal (1:30) or underscores
SpecLoader.yaml_implicit_resolvers = {k: [(tag, r) for tag, r in v if tag not in (
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
SpecLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                 list("tTfF"))
SpecLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
                                 list("-+0123456789"))


def _int(loader, node) -> int:
    """A YAML 1.2 core integer: decimal (`010` is ten), `0o` octal or `0x` hexadecimal, never YAML 1.1's octal."""
    text = loader.construct_scalar(node)
    if text[:2] in ("0o", "0x"):  # unsigned, as the resolver above matches them
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text)


SpecLoader.add_constructor("tag:yaml.org,2002:int", _int)
SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def _yaml(text: str, where: str):
    try:
        raw = yaml.load(text, Loader=SpecLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        place = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else where
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SpecError(place, f"invalid YAML: {problem}") from None
    except RecursionError:
        raise SpecError(where, f"nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as e:  # an integer longer than Python converts
        raise SpecError(where, f"a number too long to read ({str(e).split(':')[0]})") from None
    _depth(raw, where)
    return raw


def _depth(value, where: str, level: int = 0, count: list | None = None) -> None:
    """Refuse structures nested deeper than any spec needs, or of more values than MAX_NODES as aliases expand
    them (counted before anything walks them whole); refuse integers too long to be numbers."""
    count = [0] if count is None else count
    count[0] += 1
    if count[0] > MAX_NODES:
        raise SpecError(where, f"more than {MAX_NODES:,} values (YAML aliases (*name) repeat what they name); "
                               "write the data out, or put it in a CSV file")
    if level > MAX_DEPTH:
        raise SpecError(where, f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        for v in value.values():
            _depth(v, where, level + 1, count)
    elif isinstance(value, list):
        for v in value:
            _depth(v, where, level + 1, count)
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3.33 * MAX_DIGITS:
        raise SpecError(where, f"a number with more than {MAX_DIGITS} digits")


def read_data_csv(file: Path, place: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a data CSV (UTF-8, with or without a byte-order mark), read safely.

    Errors name the file and never echo its content.
    """
    if not file.is_file():
        what = "not a regular file" if file.exists() else "no such file"
        raise SpecError(place, f"{what} {str(file)!r} (the path is relative to the spec file)")
    try:
        if file.stat().st_size > MAX_CSV_BYTES:
            raise SpecError(place, f"{file.name} is larger than {MAX_CSV_BYTES // 2**20} MB")
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SpecError(place, f"{file.name} is not UTF-8 text (byte {e.start}); save it as CSV UTF-8") from None
    except OSError as e:
        raise SpecError(place, f"cannot read {file.name} ({e.strerror})") from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as e:
        raise SpecError(place, f"{file.name} is not a CSV file ({str(e).split(':')[0]})") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise SpecError(place, f"{file.name} has no data rows under its header")
    header = [c.strip() for c in rows[0]]
    if len(set(header)) != len(header):
        raise SpecError(place, f"{file.name} has two columns of the same name in its header; rename one")
    return header, rows[1:]


def copy_example(name: str, folder) -> list[Path]:
    """Copy a bundled example's spec (and the data file it names) into `folder` to edit; never over a file."""
    source = find_example(name)
    if source is None:
        raise TracerError(name, "no bundled example of that name; `tracer examples` lists them")
    raw = read_spec_file(source)
    data = raw.get("data") if isinstance(raw, dict) else None
    files = [source] + ([source.parent / str(data["csv"])] if isinstance(data, dict) and "csv" in data else [])
    targets = [Path(folder) / f.name for f in files]
    for target in targets:
        if target.exists() or target.is_symlink():
            raise TracerError(str(target), "already exists; remove it or copy into another folder")
        output_target(target)
    for f, target in zip(files, targets):
        with atomic_path(target) as tmp:
            tmp.write_bytes(f.read_bytes())
    return targets
