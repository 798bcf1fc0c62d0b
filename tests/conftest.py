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
KITTI_SAMPLE = ROOT.parent / "shared" / "data" / "kitti_sample"


@pytest.fixture(scope="session")
def kitti_sample() -> pathlib.Path:
    """The real 11-frame KITTI sample (../shared/data/kitti_sample relative to the root)."""
    if not (KITTI_SAMPLE / "training" / "label_2").is_dir():
        pytest.skip(f"KITTI sample not found at {KITTI_SAMPLE}")
    return KITTI_SAMPLE
