"""Shared test set-up: the hypothesis profile (no deadline, few examples) and data paths."""

import os
import pathlib

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
