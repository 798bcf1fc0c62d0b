"""``mono3d --version`` and ``mono3d --help``: they answer without importing torch (the
package ``mono3d.train`` resolves its public names lazily), and the version is the installed
distribution's."""

import importlib.metadata
import pathlib
import subprocess
import sys

import pytest

import mono3d.train

VERSION = importlib.metadata.version("mono3d-train")

#: modules that ``--help`` / ``--version`` must not load
HEAVY = ("torch", "torchvision", "numpy", "pydantic", "mono3d.detector", "mono3d.data")

PROBE = """
import runpy, sys
sys.argv = ["mono3d", *sys.argv[1:]]
try:
    runpy.run_module("mono3d.train", run_name="__main__", alter_sys=True)
    code = None
except SystemExit as stop:
    code = stop.code
heavy = [m for m in {heavy!r} if m in sys.modules]
print("PROBE", code, ",".join(heavy) or "-")
"""


def probe(*args: str) -> tuple[str, int, list[str]]:
    """Run ``python -m mono3d.train ARGS`` in a fresh interpreter: (stdout before the probe
    line, exit code, heavy modules loaded)."""
    process = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    *output, last = process.stdout.rstrip("\n").splitlines()
    _, code, heavy = last.split(" ")
    return "\n".join(output), int(code), [] if heavy == "-" else heavy.split(",")


def test_version_prints_the_distribution_version():
    process = subprocess.run(
        [sys.executable, "-m", "mono3d.train", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout == f"mono3d {VERSION}\n"
    assert mono3d.train.__version__ == VERSION


def test_the_console_script_prints_the_version():
    script = pathlib.Path(sys.executable).with_name("mono3d")
    if not script.is_file():
        pytest.skip("the mono3d console script is not installed next to this interpreter")
    process = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == f"mono3d {VERSION}"


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["train", "--help"]])
def test_help_and_version_import_no_torch(args):
    output, code, heavy = probe(*args)
    assert code == 0
    assert heavy == [], f"mono3d {' '.join(args)} imported {heavy}"
    assert ("usage: mono3d" in output) if "--help" in args else (output == f"mono3d {VERSION}")


def test_importing_the_package_is_light():
    process = subprocess.run(
        [sys.executable, "-c", "import sys, mono3d.train; print('torch' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "False"


def test_every_public_name_resolves_lazily():
    # __version__ is listed as in every package's __all__; it is not lazy
    assert set(mono3d.train.__all__) == set(mono3d.train._EXPORTS) | {"__version__"}
    for name in mono3d.train.__all__:
        value = getattr(mono3d.train, name)
        assert value is not None, name
        assert name in dir(mono3d.train)
    from mono3d.train import Trainer, load_detector  # the from-import form

    assert Trainer.__name__ == "Trainer" and callable(load_detector)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = mono3d.train.no_such_name  # type: ignore[attr-defined]
