"""Reading configs: YAML/JSON files, ``key=value`` overrides, errors that name the dotted field."""

import json
import pathlib
from typing import Any, TypeVar

import pydantic
import yaml

M = TypeVar("M", bound=pydantic.BaseModel)


class ConfigError(ValueError):
    """A config file or override is unreadable or invalid. ``str()`` names the file and the
    dotted field of every problem, one per line."""


def read_mapping(path: str | pathlib.Path) -> dict[str, Any]:
    """The mapping stored in a YAML (``.yaml``/``.yml``) or JSON file (``yaml.safe_load``)."""
    path = pathlib.Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config ({error.strerror or error})") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}:{error.lineno}: invalid JSON: {error.msg}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of ``data`` with each ``dotted.key=value`` applied (value parsed as YAML)."""
    result = json.loads(json.dumps(data))
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {override!r}: expected dotted.key=value")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        node = result
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {override!r}: {part} is not a section")
            node = child
        node[parts[-1]] = value
    return result


def format_validation_error(error: pydantic.ValidationError, source: str) -> str:
    """One line per problem: ``source: dotted.field: reason``."""
    lines = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"{source}: {field}: {problem['msg']}")
    return "\n".join(lines)


def validate_config(model: type[M], data: dict[str, Any], source: str = "config") -> M:
    """``model`` validated from ``data``; a :class:`ConfigError` names every bad field."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as error:
        raise ConfigError(format_validation_error(error, source)) from None


def load_config(model: type[M], path: str | pathlib.Path, overrides: list[str] | None = None) -> M:
    """Read ``path`` (YAML or JSON), apply overrides, validate as ``model``."""
    data = apply_overrides(read_mapping(path), overrides or [])
    return validate_config(model, data, str(path))
