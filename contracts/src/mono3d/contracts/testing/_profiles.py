"""Hypothesis profiles: no deadline (torch's first call is slow), few examples by default."""

import os

from hypothesis import HealthCheck, settings


def register_profiles() -> None:
    """Register ``mono3d`` (default, 25 examples) and ``mono3d-thorough`` (200) and load one.

    ``HYPOTHESIS_PROFILE`` in the environment picks the profile.
    """
    suppress = [HealthCheck.too_slow, HealthCheck.data_too_large]
    for name, examples in (("mono3d", 25), ("mono3d-thorough", 200)):
        settings.register_profile(
            name, max_examples=examples, deadline=None, suppress_health_check=suppress
        )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "mono3d"))
