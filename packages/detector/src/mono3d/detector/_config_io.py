"""Reading configs: YAML/JSON files, ``key=value`` overrides, errors that name the dotted field.

Every YAML the project reads goes through :func:`load_yaml`: ``yaml.safe_load`` (no tags
beyond the standard ones, nothing executed) that refuses a key given twice in one mapping
(``yaml.safe_load`` keeps the last: a second ``train:`` section would replace the first)
and reads ``1e-4`` as a float, as YAML 1.2 and JSON do (YAML 1.1 wants ``1.0e-4``).
Validation is strict about scalar types (:func:`validate_config`): a bool, a float or a
string is not an integer, a bool or a string is not a number (an integer is).
"""

import json
import pathlib
import re
from typing import Any, TypeVar

import pydantic
import yaml

M = TypeVar("M", bound=pydantic.BaseModel)

_MERGE_TAG = "tag:yaml.org,2002:merge"


class ConfigError(ValueError):
    """A config file or override is unreadable or invalid. ``str()`` names the file and the
    dotted field of every problem, one per line."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` refusing duplicate mapping keys, with YAML 1.2 exponent floats."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue  # ``<<: *anchor`` merges; explicit keys may override those
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # unhashable: SafeConstructor reports it
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first given on line {first})",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"),
)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``, refusing duplicate keys (``yaml.YAMLError`` with the line)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _yaml_error(where: str, error: yaml.YAMLError, *, line: bool = True) -> ConfigError:
    mark = getattr(error, "problem_mark", None)
    if mark is not None and line:
        where = f"{where}:{mark.line + 1}"
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return ConfigError(f"{where}: invalid YAML: {problem}")


def read_mapping(path: str | pathlib.Path) -> dict[str, Any]:
    """The mapping stored in a YAML (``.yaml``/``.yml``) or JSON file (:func:`load_yaml`;
    a key given twice in one mapping is refused in both)."""
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not a text file ({error.reason} at byte {error.start})"
        ) from None
    if path.suffix == ".json":
        try:
            data = json.loads(text, object_pairs_hook=_unique_pairs)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path}:{error.lineno}: invalid JSON: {error.msg}") from None
        except ValueError as error:  # a key given twice in one object
            raise ConfigError(f"{path}: invalid JSON: {error}") from None
    else:
        try:
            data = load_yaml(text)
        except yaml.YAMLError as error:
            raise _yaml_error(str(path), error) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def _copy_sections(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _copy_sections(v) if isinstance(v, dict) else v for k, v in data.items()}


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of ``data`` with each ``dotted.key=value`` applied (value parsed as YAML; a
    value that is not YAML stays a string, one with a duplicate key is refused)."""
    result = _copy_sections(data)
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {override!r}: expected dotted.key=value")
        try:
            value = load_yaml(raw)
        except yaml.constructor.ConstructorError as error:
            raise _yaml_error(f"override {override!r}", error, line=False) from None
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
    """One line per problem: ``source: dotted.field: reason`` (``(got VALUE)`` added when
    the input was a scalar of the wrong type)."""
    lines = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        given = problem.get("input")
        got = ""
        if problem["type"].endswith(("_type", "_parsing")) and isinstance(
            given, (bool, int, float, str)
        ):
            got = f" (got {given!r})"
        lines.append(f"{source}: {field}: {problem['msg']}{got}")
    return "\n".join(lines)


def _as_tuples(value: Any) -> Any:
    """``value`` with every list a tuple (strict validation takes only tuples for tuple fields;
    configs hold no list-typed field)."""
    if isinstance(value, dict):
        return {key: _as_tuples(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_as_tuples(item) for item in value)
    return value


def validate_config(model: type[M], data: dict[str, Any], source: str = "config") -> M:
    """``model`` validated strictly from ``data`` (pydantic's ``strict=True``: ``steps: true``,
    ``steps: 2.5``, ``steps: "3"`` are refused, ``lr: 1`` is a float); a :class:`ConfigError`
    names every bad field."""
    try:
        return model.model_validate(_as_tuples(data), strict=True)
    except pydantic.ValidationError as error:
        raise ConfigError(format_validation_error(error, source)) from None


def load_config(model: type[M], path: str | pathlib.Path, overrides: list[str] | None = None) -> M:
    """Read ``path`` (YAML or JSON), apply overrides, validate as ``model``."""
    data = apply_overrides(read_mapping(path), overrides or [])
    return validate_config(model, data, str(path))
