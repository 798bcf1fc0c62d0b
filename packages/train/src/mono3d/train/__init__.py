"""mono3d.train: the trainer (AMP, DDP via torchrun, atomic checkpoints, exact resume) and
the ``mono3d`` command (``mono3d.train.cli:main``).

The names below are imported on first use (PEP 562 module ``__getattr__``), so importing the
package, e.g. to run ``mono3d --help`` or ``mono3d --version``, loads no torch;
``from mono3d.train import Trainer`` works as before.
"""

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

if TYPE_CHECKING:
    from ._callbacks import TrainCallbacks as TrainCallbacks
    from ._checkpoint import CHECKPOINT_KEYS as CHECKPOINT_KEYS
    from ._checkpoint import CheckpointError as CheckpointError
    from ._checkpoint import load_checkpoint as load_checkpoint
    from ._checkpoint import save_checkpoint as save_checkpoint
    from ._config import DataSection as DataSection
    from ._config import EvalSection as EvalSection
    from ._config import LoopSection as LoopSection
    from ._config import OutputSection as OutputSection
    from ._config import TrainConfig as TrainConfig
    from ._config import load_train_config as load_train_config
    from ._demo import loss_decrease as loss_decrease
    from ._demo import synthesise as synthesise
    from ._draw import BoxesToDraw as BoxesToDraw
    from ._draw import draw_boxes_on_image as draw_boxes_on_image
    from ._draw import project_corners as project_corners
    from ._draw_bev import BevView as BevView
    from ._draw_bev import bev_view as bev_view
    from ._draw_bev import draw_bev as draw_bev
    from ._draw_frame import draw_frame as draw_frame
    from ._evaluate import evaluate_detector as evaluate_detector
    from ._predict import load_detector as load_detector
    from ._predict import predict_images as predict_images
    from ._rng import capture_rng_state as capture_rng_state
    from ._rng import derive_seed as derive_seed
    from ._rng import restore_rng_state as restore_rng_state
    from ._sampler import StepBatchSampler as StepBatchSampler
    from ._schedule import OptimConfig as OptimConfig
    from ._schedule import ScheduleConfig as ScheduleConfig
    from ._schedule import build_optimizer as build_optimizer
    from ._schedule import build_scheduler as build_scheduler
    from ._schedule import lr_factor as lr_factor
    from ._show import show_frame as show_frame
    from ._trainer import Trainer as Trainer
    from ._trainer import TrainingDiverged as TrainingDiverged
    from ._trainer import TrainOutcome as TrainOutcome
    from ._trainer import train as train

#: public name -> the private module defining it
_EXPORTS: dict[str, str] = {
    "TrainCallbacks": "_callbacks",
    "CHECKPOINT_KEYS": "_checkpoint",
    "CheckpointError": "_checkpoint",
    "load_checkpoint": "_checkpoint",
    "save_checkpoint": "_checkpoint",
    "DataSection": "_config",
    "EvalSection": "_config",
    "LoopSection": "_config",
    "OutputSection": "_config",
    "TrainConfig": "_config",
    "load_train_config": "_config",
    "loss_decrease": "_demo",
    "synthesise": "_demo",
    "BoxesToDraw": "_draw",
    "BevView": "_draw_bev",
    "bev_view": "_draw_bev",
    "draw_bev": "_draw_bev",
    "draw_frame": "_draw_frame",
    "draw_boxes_on_image": "_draw",
    "project_corners": "_draw",
    "evaluate_detector": "_evaluate",
    "load_detector": "_predict",
    "predict_images": "_predict",
    "capture_rng_state": "_rng",
    "derive_seed": "_rng",
    "restore_rng_state": "_rng",
    "StepBatchSampler": "_sampler",
    "OptimConfig": "_schedule",
    "ScheduleConfig": "_schedule",
    "build_optimizer": "_schedule",
    "build_scheduler": "_schedule",
    "lr_factor": "_schedule",
    "show_frame": "_show",
    "Trainer": "_trainer",
    "TrainingDiverged": "_trainer",
    "TrainOutcome": "_trainer",
    "train": "_trainer",
}

__all__ = [
    "CHECKPOINT_KEYS",
    "BevView",
    "BoxesToDraw",
    "CheckpointError",
    "DataSection",
    "EvalSection",
    "LoopSection",
    "OptimConfig",
    "OutputSection",
    "ScheduleConfig",
    "StepBatchSampler",
    "TrainCallbacks",
    "TrainConfig",
    "TrainOutcome",
    "Trainer",
    "TrainingDiverged",
    "__version__",
    "bev_view",
    "build_optimizer",
    "build_scheduler",
    "capture_rng_state",
    "derive_seed",
    "draw_bev",
    "draw_boxes_on_image",
    "draw_frame",
    "evaluate_detector",
    "load_checkpoint",
    "load_detector",
    "load_train_config",
    "loss_decrease",
    "lr_factor",
    "predict_images",
    "project_corners",
    "restore_rng_state",
    "save_checkpoint",
    "show_frame",
    "synthesise",
    "train",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
