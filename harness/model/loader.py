"""Load YAML into models, with errors that point at file, line and field.

ruamel.yaml's round-trip loader keeps the line of every key; when pydantic rejects a
value we walk the error's ``loc`` through the parsed tree to find the nearest line,
so the user reads ``scenarios/x.yaml:12: field 'faults[0].type': ...``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from harness.errors import ConfigError
from harness.model.scenario import Scenario
from harness.model.system import SystemSpec

M = TypeVar("M", bound=BaseModel)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def parse_yaml_text(text: str, path: str) -> Any:
    """Parse YAML text; raise ConfigError with the line of a syntax error."""
    try:
        return _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", path=path, line=line) from None
    except YAMLError as exc:
        raise ConfigError(f"invalid YAML: {str(exc).splitlines()[0]}", path=path) from None
    except (ValueError, TypeError, IndexError, RecursionError) as exc:  # bad timestamps, deep nesting, ruamel on "-_"
        raise ConfigError(f"invalid YAML: {exc}", path=path) from None


def _line_of(tree: Any, loc: tuple[int | str, ...]) -> int | None:
    """Best line (1-based) for a pydantic ``loc`` inside a ruamel tree."""
    node, line = tree, getattr(getattr(tree, "lc", None), "line", None)
    for part in loc:
        if isinstance(node, CommentedMap) and isinstance(part, str) and part in node:
            line = node.lc.key(part)[0]
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0]
            node = node[part]
        else:
            break
    return None if line is None else line + 1


def line_of_field(tree: Any, field: str) -> int | None:
    """Best line (1-based) for a field path as ``ConfigError`` names it (``faults[0].params.x``)."""
    loc = tuple(int(part) if part.isdigit() else part for part in re.findall(r"[^.\[\]]+", field))
    return _line_of(tree, loc)


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    previous: int | str | None = None
    for part in loc:
        after_index, previous = isinstance(previous, int), part
        if isinstance(part, int):
            out += f"[{part}]"
        elif (after_index and part in {"http", "workflow", "command", "other"}) or "[" in str(part):
            # pydantic's discriminated-union tag (probes[0].workflow...), not a user field;
            # system.yaml's own ``workflow`` section is a field and stays
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _plain(value: Any) -> Any:
    """ruamel's Commented* types -> plain dict/list, so pydantic sees ordinary data."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def validate_tree(tree: Any, model: type[M], path: str) -> M:
    if tree is None:
        raise ConfigError(f"the file is empty; expected a mapping for {model.__name__}", path=path, line=1)
    if not isinstance(tree, dict):
        raise ConfigError(
            f"expected a mapping at the top level, got {type(tree).__name__}", path=path, line=1
        )
    try:
        return model.model_validate(_plain(tree))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; see `harness schema` for allowed fields)"
        elif "input" in first and first["type"] not in {"missing"} and not isinstance(first["input"], dict):
            message = f"{message} (got {first['input']!r})"
        more = len(exc.errors()) - 1
        if more:
            message += f" (+{more} more error{'s' if more > 1 else ''})"
        raise ConfigError(message, path=path, line=_line_of(tree, loc), field=_field_path(loc)) from None


def load_text(text: str, model: type[M], path: str = "<string>") -> M:
    return validate_tree(parse_yaml_text(text, path), model, path)


def error_at_field(path: str | Path, field: str, detail: str) -> ConfigError:
    """A ``ConfigError`` naming ``path``, ``field`` and the field's line in the file (no line
    when the file can no longer be read or parsed: the error is still worth raising)."""
    try:
        line = line_of_field(parse_yaml_text(read_text_file(path), str(path)), field)
    except ConfigError:
        line = None
    return ConfigError(detail, path=str(path), line=line, field=field)


def read_text_file(path: str | Path, what: str = "file") -> str:
    """A UTF-8 text file's content; ConfigError naming the file (exit 2) when it cannot be read."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", path=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what}: {exc}", path=str(p)) from None


def load_file(path: str | Path, model: type[M]) -> M:
    return load_text(read_text_file(path), model, str(path))


def load_system(path: str | Path) -> SystemSpec:
    return load_file(path, SystemSpec)


def load_scenario(path: str | Path) -> Scenario:
    return load_file(path, Scenario)


def detect_kind(tree: Any) -> type[BaseModel]:
    """Guess whether a parsed YAML document is a system or a scenario."""
    if isinstance(tree, dict) and "services" in tree:
        return SystemSpec
    return Scenario


def validate_file(path: str | Path) -> BaseModel:
    """Validate a system or scenario file (kind guessed from its content)."""
    tree = parse_yaml_text(read_text_file(path), str(path))
    return validate_tree(tree, detect_kind(tree), str(path))
