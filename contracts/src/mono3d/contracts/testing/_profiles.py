"""Hypothesis profiles: no deadline (torch's first call is slow), few examples by default."""

import os

from hypothesis import HealthCheck, settings


def register_profiles() -> None:
    """Register ``mono3d`` (default, 25 examples) and ``mono3d-thorough`` (200) and load one.

    ``HYPOTHESIS_PROFILE`` in the environment picks the profile.
    """
    common = {
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
        "derandomize": False,
    }
    settings.register_profile("mono3d", max_examples=25, **common)
    settings.register_profile("mono3d-thorough", max_examples=200, **common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "mono3d"))
