"""Fixtures of the trainer tests: a tiny synthetic KITTI-format dataset and tiny run configs
derived from configs/synthetic.yaml (ResNet18, 64x128 images, few proposals, few steps)."""

import os
import pathlib
import subprocess
import sys

import pytest
import yaml

from mono3d.detector import apply_overrides, read_mapping
from mono3d.train import synthesise

ROOT = pathlib.Path(__file__).resolve().parents[2]
SYNTHETIC_CONFIG = ROOT / "configs" / "synthetic.yaml"

#: shrink configs/synthetic.yaml until a step takes a fraction of a second on one core
TINY = [
    "model.neck.out_channels=16",
    "model.rpn.anchor_sizes=[[8], [24], [64]]",
    "model.rpn.pre_nms_top_n_train=64",
    "model.rpn.pre_nms_top_n_test=64",
    "model.rpn.post_nms_top_n_train=16",
    "model.rpn.post_nms_top_n_test=16",
    "model.head.fc_dim=32",
    "model.head.roi_size=4",
    "model.anchor_targets.batch_size_per_image=32",
    "model.proposal_targets.batch_size_per_image=16",
    "model.postprocess.detections_per_image=10",
    "train.batch_size=2",
    "train.amp=off",  # the same arithmetic on every machine; `auto` has its own tests
    "train.workers=0",
    "train.progress=false",
    "train.eval_interval=0",
    "schedule.warmup_steps=2",
    "eval.at_end=false",
    "eval.batch_size=4",
    "logger.tensorboard=false",
]


@pytest.fixture(scope="session")
def tiny_overrides() -> list[str]:
    """The overrides that shrink configs/synthetic.yaml (see ``TINY``)."""
    return list(TINY)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """12 synthetic 64x128 frames (9 train, 3 val) in KITTI layout."""
    root = tmp_path_factory.mktemp("tiny-kitti")
    synthesise(root, 12, seed=1, val_fraction=0.25, image_size=(64, 128), max_objects=4)
    return root


@pytest.fixture(scope="session")
def config_writer(tiny_data: pathlib.Path):
    """``config_writer(folder, name, *overrides)`` -> ``folder/name.yaml``, a tiny run config
    on the tiny dataset whose run folder is ``folder/name``."""

    def write(folder: pathlib.Path, name: str, *overrides: str) -> pathlib.Path:
        data = apply_overrides(
            read_mapping(SYNTHETIC_CONFIG),
            [*TINY, f"data.root={tiny_data}", f"output.run_dir={folder / name}", *overrides],
        )
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return write


@pytest.fixture
def make_config(config_writer, tmp_path: pathlib.Path):
    """``make_config(name, *overrides)``: :func:`config_writer` in ``tmp_path``."""

    def make(name: str, *overrides: str) -> pathlib.Path:
        return config_writer(tmp_path, name, *overrides)

    return make


@pytest.fixture
def run_cli():
    """``run_cli(*args, env=None, timeout=...)``: ``python -m mono3d.train ARGS`` as a
    subprocess (the installed ``mono3d`` command's code) -> CompletedProcess."""

    def run(*args: object, env: dict[str, str] | None = None, timeout: float = 300):
        return subprocess.run(
            [sys.executable, "-m", "mono3d.train", *map(str, args)],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=timeout,
        )

    return run


@pytest.fixture(scope="module")
def trained(config_writer, tmp_path_factory):
    """A one-step run with its checkpoint (one per test module): the config's path; the run
    folder is ``trained.parent / "run"``."""
    from mono3d.train.cli import main

    folder = tmp_path_factory.mktemp("trained")
    config = config_writer(folder, "run", "train.steps=1")
    assert main(["train", str(config)]) == 0
    return config
