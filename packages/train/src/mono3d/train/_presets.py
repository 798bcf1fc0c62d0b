"""The run configs shipped inside mono3d-train, by name: ``mono3d train synthetic``,
``mono3d train kitti``, ``mono3d config show NAME``.

A preset is a YAML file of this package (``mono3d/train/<name>.yaml``, package data of the
wheel). The repository's ``configs/<name>.yaml`` is the file people edit; the packaged copy
must be byte-identical (``tests/train/test_train_cli_presets.py`` fails otherwise and says
which ``cp`` brings them back in line), so a pip install without the repository trains the
same runs as a checkout.
"""

import contextlib
import pathlib
from collections.abc import Iterator
from importlib import resources

__all__ = [
    "PresetError",
    "config_source",
    "preset_names",
    "preset_path",
    "preset_summary",
    "preset_text",
]

_SUFFIX = ".yaml"


class PresetError(FileNotFoundError):
    """A config argument that is neither a file nor the name of a shipped preset."""


def _package_files() -> "resources.abc.Traversable":
    return resources.files("mono3d.train")


def preset_names() -> tuple[str, ...]:
    """The shipped presets' names, sorted (``("kitti", "synthetic")``)."""
    return tuple(
        sorted(
            entry.name.removesuffix(_SUFFIX)
            for entry in _package_files().iterdir()
            if entry.name.endswith(_SUFFIX) and entry.is_file()
        )
    )


def _preset_file(name: str) -> "resources.abc.Traversable":
    key = name.removesuffix(_SUFFIX)
    if key not in preset_names():
        raise PresetError(
            f"{name}: no such config file, and not a preset (presets: {', '.join(preset_names())})"
        )
    return _package_files() / f"{key}{_SUFFIX}"


def preset_text(name: str) -> str:
    """The YAML text of preset ``name`` (``synthetic`` or ``synthetic.yaml``), comments kept."""
    return _preset_file(name).read_text(encoding="utf-8")


def preset_summary(name: str) -> str:
    """The first comment line of preset ``name``, without its ``#``."""
    for line in preset_text(name).splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""


@contextlib.contextmanager
def preset_path(name: str) -> Iterator[pathlib.Path]:
    """A real file holding preset ``name`` for as long as the context is open (a zipped
    install extracts it to a temporary file)."""
    with resources.as_file(_preset_file(name)) as packaged:
        yield packaged


@contextlib.contextmanager
def config_source(spec: str | pathlib.Path) -> Iterator[pathlib.Path]:
    """The file a ``CONFIG`` argument names: ``spec`` itself when it is a file or cannot be
    a preset name (it has a folder or another suffix: the config reader then reports the
    missing file), else the packaged preset of that name (a real path for as long as the
    context is open, even from a zipped install). Raises :class:`PresetError` for a bare
    name that is neither a file nor a preset."""
    path = pathlib.Path(spec)
    if path.is_file() or path.parent != pathlib.Path(".") or path.suffix not in ("", _SUFFIX):
        yield path
        return
    with preset_path(str(spec)) as packaged:
        yield packaged
