"""The run config: one YAML file, validated by pydantic (frozen, no unknown field).

Sections: ``model`` (the detector, :class:`mono3d.detector.DetectorConfig`), ``data`` (where
the KITTI-format folder is, its splits and the augmentation), ``optim``, ``schedule``,
``train`` (the loop), ``eval``, ``output`` (the run folder) and ``logger``. Errors are
reported as ``file: dotted.field: reason``, one line per problem (:class:`ConfigError`).
The object classes are the model's (``model.classes``); the data section only maps KITTI
types onto them.
"""

import pathlib
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from mono3d.data import AugmentConfig, ClassMap, DataConfig
from mono3d.detector import ConfigError, DetectorConfig, load_config
from mono3d.logger import LoggerConfig

from ._device import parse_device
from ._precision import DEFAULT_AMP, AmpSetting
from ._schedule import OptimConfig, ScheduleConfig

__all__ = [
    "DataSection",
    "EvalSection",
    "LoopSection",
    "OutputSection",
    "TrainConfig",
    "check_data_paths",
    "load_train_config",
]


class DataSection(BaseModel):
    """A KITTI-format dataset folder (``root/training/{image_2,label_2,calib}``,
    ``root/ImageSets/<split>.txt``). Relative paths are relative to the working directory."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str
    """The data root (``data_root``): the folder holding ``training/`` and ``ImageSets/``."""
    train_split: str | None = "train"
    """``ImageSets/<train_split>.txt``; None: every image of ``training/``."""
    val_split: str | None = "val"
    """The split evaluated during and after training; None: no evaluation."""
    mapping: dict[str, str] = Field(default_factory=dict)
    """Extra KITTI type -> class / ``ignore`` / ``drop`` rules (see mono3d.data.ClassMap)."""
    augment: AugmentConfig | None = Field(default_factory=AugmentConfig)
    """Training augmentation; None switches it off."""
    max_image_pixels: int = Field(default=DataConfig.model_fields["max_image_pixels"].default, ge=1)
    """Images with more pixels (width x height) are refused before decoding, naming the file
    (training, evaluation and ``mono3d predict`` of this run's checkpoints); the default is
    :class:`mono3d.data.DataConfig`'s."""

    def dataset_config(self, split: str | None, classes: tuple[str, ...]) -> DataConfig:
        """The :class:`mono3d.data.DataConfig` of one split (one place maps the fields)."""
        return DataConfig(
            root=self.root,
            split=split,
            classes=classes,
            mapping=self.mapping,
            augment=self.augment,
            max_image_pixels=self.max_image_pixels,
        )


class LoopSection(BaseModel):
    """The training loop (section ``train``). Steps count optimiser steps."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: int = Field(default=20000, ge=1)
    batch_size: int = Field(default=4, ge=1)
    """Images per process and step (the global batch is batch_size x world size)."""
    seed: int = Field(default=0, ge=0)
    amp: AmpSetting = DEFAULT_AMP
    """Mixed precision: ``auto`` (bf16 autocast + channels_last where the device runs bf16
    natively: a CUDA device with bf16, a CPU with avx512_bf16/AMX whose start-up probe finds
    bf16 convolutions faster; float32 elsewhere; see ``mono3d.train._precision``), ``off``
    (float32), ``bf16`` (CPU or GPU, torch.autocast + channels_last) or ``fp16`` (GPU only,
    GradScaler). YAML reads a bare ``off`` as false, which is accepted as "off"."""
    device: Annotated[str, AfterValidator(parse_device)] = "auto"
    """``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N`` (``mono3d.train._device``);
    ``--device`` of ``mono3d train``/``demo`` overrides it."""
    clip_grad_norm: float | None = Field(default=10.0, gt=0)
    """Clip the global gradient norm to this value; None: no clipping."""
    checkpoint_interval: int = Field(default=1000, ge=1)
    """Write ``checkpoint.pt`` every this many steps (and at the end, and on SIGINT/SIGTERM)."""
    eval_interval: int = Field(default=0, ge=0)
    """Evaluate every this many steps; 0: only at the end (if ``eval.at_end``)."""
    workers: int = Field(default=2, ge=0)
    """DataLoader worker processes per rank (0: load in the training process)."""
    max_consecutive_nonfinite: int = Field(default=20, ge=1)
    """Stop after this many steps in a row with a non-finite loss or gradient (each skipped)."""
    time_limit_minutes: float | None = Field(default=None, gt=0)
    """End the run (checkpoint, final evaluation, plots) once this much wall time has passed,
    even before ``steps``; None: no limit. The schedule still spans ``steps``."""
    progress: bool = True
    """Show a progress bar (rank 0)."""
    timeout_minutes: float = Field(default=30.0, gt=0)
    """Collective-operation timeout of the process group (multi-process runs)."""

    @field_validator("amp", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        return "off" if value is False else value


class EvalSection(BaseModel):
    """Evaluation on ``data.val_split`` with mono3d-eval (KITTI AP)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at_end: bool = True
    batch_size: int = Field(default=4, ge=1)
    max_images: int | None = Field(default=None, ge=1)
    """Evaluate only the first this many images of the split; None: all."""
    draw: int = Field(default=4, ge=0)
    """After the final evaluation, draw the predictions on this many images."""
    draw_score_threshold: float = Field(default=0.3, ge=0, le=1)
    """Only detections scoring at least this are drawn (all are evaluated)."""


class OutputSection(BaseModel):
    """Where a run writes: ``run_dir/{checkpoint.pt, history.jsonl, history.csv,
    history.png, config.yaml, eval/, predictions/}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_dir: str


class TrainConfig(BaseModel):
    """A complete training run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: DetectorConfig = Field(default_factory=lambda: DetectorConfig.model_validate({}))
    data: DataSection
    optim: OptimConfig = Field(default_factory=OptimConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    train: LoopSection = Field(default_factory=LoopSection)
    eval: EvalSection = Field(default_factory=EvalSection)
    output: OutputSection
    logger: LoggerConfig = Field(default_factory=LoggerConfig)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.model.classes)

    @model_validator(mode="after")
    def _mapping_targets_are_classes(self) -> "TrainConfig":
        """Every ``data.mapping`` target is one of ``model.classes``, ``ignore`` or ``drop``:
        refused here, naming ``data.mapping.<type>``, before any dataset is built."""
        problems = []
        for raw, target in self.data.mapping.items():
            try:
                ClassMap.build(self.classes, {raw: target})
            except ValueError as error:
                reason = str(error).removeprefix(f"mapping[{raw!r}]: ")
                problems.append(
                    InitErrorDetails(
                        type=PydanticCustomError("mapping_target", "{reason}", {"reason": reason}),
                        loc=("data", "mapping", raw),
                        input=target,
                    )
                )
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


def load_train_config(path: str | pathlib.Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML/JSON run config, apply ``dotted.key=value`` overrides, validate.

    Raises :class:`ConfigError` whose message names the file and every bad dotted field.
    """
    return load_config(TrainConfig, path, overrides)


def check_data_paths(config: TrainConfig, source: str) -> None:
    """Raise :class:`ConfigError` (``source: data.root: ...``) when the data folders a
    training run needs are missing."""
    root = pathlib.Path(config.data.root)
    problems = []
    if not root.is_dir():
        problems.append(f"{source}: data.root: data folder {root} does not exist")
    else:
        for field, split in (
            ("train_split", config.data.train_split),
            ("val_split", config.data.val_split),
        ):
            if split is None:
                continue
            lists = [
                root / "ImageSets" / f"{split}.txt",
                root.parent / "ImageSets" / f"{split}.txt",
            ]
            if not any(p.is_file() for p in lists):
                problems.append(f"{source}: data.{field}: split list {lists[0]} does not exist")
        images = root / "training" / "image_2"
        if not images.is_dir() and not (root / "image_2").is_dir():
            problems.append(f"{source}: data.root: no image folder {images} in {root}")
    if problems:
        raise ConfigError("\n".join(problems))
