"""A checkpoint written before ``head.num_classes`` / ``head.num_bins`` became build
arguments (its stored model section still holds them) resumes; a contradicting one is refused
naming the field."""

import copy

import pytest

from mono3d.detector import DetectorConfig
from mono3d.train import CheckpointError
from mono3d.train._resume import refuse_changes


def _current() -> dict:
    return {"model": DetectorConfig().model_dump(mode="json"), "optim": {"name": "adamw"}}


def test_the_derived_head_sizes_of_an_older_run_config_are_no_change():
    stored = copy.deepcopy(_current())
    stored["model"]["head"] |= {"num_classes": 4, "num_bins": 12}
    assert refuse_changes("ckpt.pt", stored, _current()) == []


def test_contradicting_stored_head_sizes_are_refused_naming_the_field():
    stored = copy.deepcopy(_current())
    stored["model"]["head"]["num_classes"] = 7
    with pytest.raises(CheckpointError, match=r"ckpt\.pt: stored config: .*num_classes"):
        refuse_changes("ckpt.pt", stored, _current())
