"""Shared test set-up: the hypothesis profile (no deadline, few examples) and data paths."""

import os
import pathlib
import re
import struct
import zlib

import pytest

try:  # every block but the logger depends on contracts
    from mono3d.contracts.testing import register_profiles
except ImportError:  # pragma: no cover - logger-only environment
    from hypothesis import settings

    def register_profiles() -> None:
        settings.register_profile("mono3d", max_examples=25, deadline=None)
        settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "mono3d"))


register_profiles()

ROOT = pathlib.Path(__file__).resolve().parent.parent
KITTI_SAMPLE = ROOT / "tests" / "data" / "kitti_sample"


@pytest.fixture(scope="session")
def kitti_sample() -> pathlib.Path:
    """The real 11-frame KITTI sample kept in the repository (tests/data/kitti_sample: see its
    README.md and LICENSE.md, CC BY-NC-SA 3.0). Part of the checkout, so a missing folder fails."""
    if not (KITTI_SAMPLE / "training" / "label_2").is_dir():
        pytest.fail(f"KITTI sample missing at {KITTI_SAMPLE} (it belongs to the checkout)")
    return KITTI_SAMPLE


def _run_readme(block: str) -> dict[str, object]:
    """Run every python block of packages/<block>/README.md as written, in one namespace (a
    later block may use an earlier one's names); returns the namespace."""
    readme = ROOT / "packages" / block / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, f"no python block in {readme}"
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, str(readme), "exec"), namespace)
    return namespace


@pytest.fixture(scope="session")
def run_readme():
    """``run_readme(block)``: the python blocks of that package's README run as written."""
    return _run_readme


@pytest.fixture
def step_folder(kitti_sample, tmp_path):
    """A trainer-style ``eval/step_N`` folder of the KITTI sample's own labels as results
    (score 0.9): result files in data/, metrics.txt and metrics.json beside it."""
    step = tmp_path / "run" / "eval" / "step_0000010"
    (step / "data").mkdir(parents=True)
    for label in sorted((kitti_sample / "training" / "label_2").glob("*.txt")):
        lines = [line + " 0.9" for line in label.read_text().splitlines() if line.strip()]
        (step / "data" / label.name).write_text("".join(f"{line}\n" for line in lines))
    (step / "metrics.txt").write_text("the AP table of the run\n")
    (step / "metrics.json").write_text("{}\n")
    return step


def _wide_png(width: int, height: int) -> bytes:
    """A valid all-black 8-bit greyscale PNG of width x height made of zero rows, compressed
    (a few KiB even at 12000 x 4000)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * ((width + 1) * height), 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="session")
def wide_png():
    """Callable (width, height) -> the bytes of a valid, tiny, all-black greyscale PNG."""
    return _wide_png
