"""The training loop: one optimiser step per batch, exactly resumable, single- or multi-process.

Per step ``s`` (0-based; the history and checkpoints count steps *done*, so it is logged as
``s + 1``):

1. the global generators are reseeded from ``(seed, s, rank)`` and the batch of step ``s``
   arrives (:class:`StepBatchSampler`; augmentation seeded per sample);
2. forward under autocast (``train.amp``), criterion in float32 with a generator seeded from
   ``(seed, s, rank)`` for its anchor/proposal sampling;
3. one all_reduce agrees across ranks on "some rank's loss is non-finite" and "some rank got
   SIGINT/SIGTERM"; a non-finite step is skipped on every rank (no backward, no optimiser
   step) and counted; too many in a row stop the run with :class:`TrainingDiverged`, leaving
   the last checkpoint as it was;
4. backward, gradient clipping (the norm is logged; a non-finite norm also skips the step),
   optimiser and scheduler step;
5. rank 0 logs the rank-averaged loss terms, writes ``checkpoint.pt`` every
   ``train.checkpoint_interval`` steps, evaluates every ``train.eval_interval`` steps.

On SIGINT/SIGTERM the step in flight completes, a checkpoint is written and :meth:`run`
returns with ``stopped_by`` set; ``--resume`` continues exactly where it stopped.

:meth:`Trainer.run` is that sequence, one method per step: ``_fetch``, ``_step``,
``_record``, ``_end_reason``, ``_maybe_checkpoint``, ``_maybe_stop``, ``_maybe_evaluate``.
Test doubles enter through :class:`TrainCallbacks`. A skipped step leaves the model exactly
as it was: the BatchNorm running statistics its forward updated are restored.
"""

import contextlib
import dataclasses
import logging
import math
import pathlib
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any, Literal

import torch
import yaml
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from mono3d.data import Batch, KittiDataset
from mono3d.detector import ConfigError, build_criterion, build_detector
from mono3d.logger import HistoryLogger

from ._callbacks import TrainCallbacks
from ._checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ._config import TrainConfig
from ._device import DeviceError
from ._distributed import DistContext, init_distributed
from ._evaluate import evaluate_detector
from ._loader import AugmentedSamples, LoaderFailure, raise_if_failed, training_batches
from ._precision import resolve_for_run
from ._resume import check_optimizer_state, refuse_changes
from ._rng import capture_rng_state, derive_seed, make_generator, restore_rng_state
from ._run_files import remove_stale_temporaries, reported_write_errors
from ._sampler import StepBatchSampler
from ._schedule import build_optimizer, build_scheduler
from ._signals import StopRequest

__all__ = ["TrainOutcome", "Trainer", "TrainingDiverged", "train"]

CHECKPOINT_NAME = "checkpoint.pt"
HISTORY_NAME = "history.jsonl"


class TrainingDiverged(RuntimeError):
    """Too many consecutive steps had a non-finite loss or gradient."""


@dataclasses.dataclass(frozen=True)
class TrainOutcome:
    """How a run ended: the steps done, the checkpoint, the signal that stopped it (or
    None when it ran to ``train.steps``) and the last evaluation's metrics."""

    step: int
    run_dir: pathlib.Path
    checkpoint: pathlib.Path | None
    stopped_by: str | None
    skipped_steps: int
    metrics: dict[str, float] | None


@contextlib.contextmanager
def _restoring(path: pathlib.Path, field: str) -> Iterator[None]:
    """Report a state that does not fit this run while it is restored as a
    :class:`CheckpointError` naming the checkpoint's ``field``."""
    try:
        yield
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as error:
        reason = " ".join(str(error).split())[:300]
        raise CheckpointError(f"{path}: {field}: cannot be restored ({reason})") from None


def _float32(bundle: Any) -> Any:
    """The bundle with floating-point tensors cast to float32 (autocast outputs -> losses)."""
    return bundle.apply(lambda t: t.float() if t.is_floating_point() else t)


def _reseed_globals(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) global generators from one value."""
    import random

    import numpy

    random.seed(seed)
    numpy.random.seed(seed % (2**32))  # noqa: NPY002 - the legacy global state itself
    torch.manual_seed(seed)


#: why a run ends after the step just done (None: it goes on)
EndReason = Literal["signal", "steps", "time"] | None


@dataclasses.dataclass(frozen=True)
class StepResult:
    """One step as the loop records it: rank-averaged loss terms (``total`` first), the
    gradient norm (NaN when the step was skipped before backward), the learning rate it
    used, whether it was skipped, and whether some rank asked to stop."""

    terms: dict[str, float]
    grad_norm: float
    lr: float
    skipped: bool
    stopping: bool


@dataclasses.dataclass
class _Session:
    """What one call of :meth:`Trainer.run` carries from step to step."""

    sampler: StepBatchSampler
    logger: HistoryLogger
    bar: Any  # tqdm
    checkpoint: pathlib.Path | None
    batches: Iterator[Batch | LoaderFailure] = dataclasses.field(default_factory=lambda: iter(()))
    started: float = 0.0
    tick: float = 0.0
    stopped_by: str | None = None


def _running_statistics(module: nn.Module) -> list[torch.Tensor]:
    """The buffers a train-mode forward updates: those of every submodule that tracks
    running statistics (BatchNorm, SyncBatchNorm, tracking InstanceNorm) while training;
    FrozenBatchNorm2d tracks none."""
    return [
        buffer
        for child in module.modules()
        if child.training and getattr(child, "track_running_stats", False)
        for buffer in child.buffers(recurse=False)
    ]


def _buffer_snapshot(module: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(buffer, copy) of each of :func:`_running_statistics` (means, variances, batch
    counters): one walk of the modules, the restore reuses it."""
    return [(buffer, buffer.detach().clone()) for buffer in _running_statistics(module)]


def _restore_buffers(snapshot: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Put back the buffers of :func:`_buffer_snapshot` (bitwise)."""
    with torch.no_grad():
        for buffer, saved in snapshot:
            buffer.copy_(saved)


class Trainer:
    """Builds the detector, criterion, data, optimiser and schedule of a
    :class:`TrainConfig` and runs (or resumes) its training loop.

    ``dist``: the process's place in a ``torchrun`` world (default: read from the
    environment by :func:`init_distributed`). ``source``: the config's file name, for
    messages (rank 0 prints them to stderr). ``callbacks``: hooks for tests and tools
    (:class:`TrainCallbacks`; default: none). Raises :class:`ConfigError` for settings this
    machine or dataset cannot honour (CUDA, fp16, a batch larger than the training set).
    """

    def __init__(
        self,
        config: TrainConfig,
        *,
        dist: DistContext | None = None,
        source: str = "config",
        callbacks: TrainCallbacks | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.callbacks = callbacks if callbacks is not None else TrainCallbacks()
        loop = config.train
        try:
            self.dist = (
                dist if dist is not None else init_distributed(loop.device, loop.timeout_minutes)
            )
        except DeviceError as error:
            raise ConfigError(f"{source}: train.device: {error}") from None
        self.run_dir = pathlib.Path(config.output.run_dir)
        self.checkpoint_path = self.run_dir / CHECKPOINT_NAME
        if loop.amp == "fp16" and self.dist.device.type != "cuda":
            raise ConfigError(
                f"{source}: train.amp: fp16 needs a CUDA device (use bf16 on the CPU)"
            )

        self.precision = resolve_for_run(
            loop.amp,
            self.dist.device,
            checkpoint=self.checkpoint_path,
            source=f"{source}: train.amp",
        )
        self._say(self.precision.describe())

        _reseed_globals(derive_seed(loop.seed, "init"))
        detector = build_detector(config.model)
        # one coder: the criterion encodes targets with the object the detector decodes with
        self.criterion: nn.Module = build_criterion(config.model, detector.coder).to(
            self.dist.device
        )
        self.detector: nn.Module = self.precision.prepare(detector.to(self.dist.device))
        self.model: nn.Module = self.detector
        if self.dist.distributed:
            self.model = DistributedDataParallel(
                self.detector,
                device_ids=[self.dist.device.index] if self.dist.device.type == "cuda" else None,
            )
        self.optimizer = build_optimizer(self.detector, config.optim)
        self.scheduler = build_scheduler(self.optimizer, config.schedule, loop.steps)
        self.scaler = torch.amp.GradScaler("cuda") if self.precision.amp == "fp16" else None

        data = config.data
        self.train_set = KittiDataset.from_config(
            data.dataset_config(data.train_split, config.classes), augment=False
        )
        self.transforms = data.augment.build() if data.augment is not None else None
        self.val_set = (
            KittiDataset.from_config(
                data.dataset_config(data.val_split, config.classes), augment=False
            )
            if data.val_split is not None
            else None
        )
        try:
            self._sampler(0)
        except ValueError as error:
            raise ConfigError(f"{source}: train.batch_size: {error}") from None
        self.step = 0
        self.consecutive_nonfinite = 0
        self.skipped_steps = 0
        self.metrics: dict[str, float] | None = None

    # ------------------------------------------------------------------ messages

    def _say(self, message: str) -> None:
        if self.dist.is_main:  # the mono3d command shows it and appends it to log.txt
            logging.getLogger(__name__).info(message)

    def _warn(self, message: str) -> None:
        if self.dist.is_main:
            logging.getLogger(__name__).warning(message)

    # ------------------------------------------------------------------ state

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        return self.precision.autocast(self.dist.device.type)

    def _sampler(self, start_step: int) -> StepBatchSampler:
        loop = self.config.train
        return StepBatchSampler(
            len(self.train_set),
            loop.batch_size,
            seed=loop.seed,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
            start_step=start_step,
        )

    def state_dict(self, sampler: StepBatchSampler) -> dict[str, Any]:
        """Everything a checkpoint holds (collective: every rank must call it)."""
        rng = capture_rng_state()
        if self.dist.distributed:
            gathered: list[Any] = [None] * self.dist.world_size
            torch.distributed.all_gather_object(gathered, rng)
            rng_states = gathered
        else:
            rng_states = [rng]
        return {
            "step": self.step,
            "model": self.detector.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": rng_states,
            "sampler": sampler.state(self.step),
            "nonfinite": {
                "consecutive": self.consecutive_nonfinite,
                "skipped_total": self.skipped_steps,
            },
            "config": self.config.model_dump(mode="json"),
            "precision": self.precision.as_dict(),
        }

    def save(self, sampler: StepBatchSampler) -> pathlib.Path:
        """Write ``run_dir/checkpoint.pt`` (rank 0; a collective call on every rank)."""
        state = self.state_dict(sampler)
        if self.dist.is_main:
            save_checkpoint(self.checkpoint_path, state)
        self.dist.barrier()
        return self.checkpoint_path

    def load(self, path: pathlib.Path) -> None:
        """Restore model, optimiser, scheduler, scaler, counters and RNG from ``path``.

        Raises :class:`CheckpointError` naming the field when the checkpoint is invalid or
        this run cannot continue it (another model, another optimiser: ``_resume``)."""
        state = load_checkpoint(path, map_location="cpu")
        changed = refuse_changes(path, state["config"], self.config.model_dump(mode="json"))
        check_optimizer_state(path, state["optimizer"], self.optimizer)
        if changed:
            self._say(
                "resuming with a config that differs from the checkpoint's (the run will "
                "not repeat an uninterrupted one exactly): " + "; ".join(changed)
            )
        with _restoring(path, "model"):
            self.detector.load_state_dict(state["model"])
        with _restoring(path, "optimizer"):
            self.optimizer.load_state_dict(state["optimizer"])
        with _restoring(path, "scheduler"):
            self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state["scaler"] is not None:
            with _restoring(path, "scaler"):
                self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        self.consecutive_nonfinite = int(state["nonfinite"]["consecutive"])
        self.skipped_steps = int(state["nonfinite"]["skipped_total"])
        rng = state["rng"]
        if len(rng) == self.dist.world_size:
            with _restoring(path, f"rng[{self.dist.rank}]"):
                restore_rng_state(rng[self.dist.rank])
        else:
            self._say(
                f"the checkpoint holds RNG states of {len(rng)} processes, this run has "
                f"{self.dist.world_size}: global generators are reseeded instead"
            )
        saved = state["sampler"]
        now = self._sampler(self.step).state(self.step)
        if {k: saved.get(k) for k in now} != now:
            self._say(
                f"the data order changed since the checkpoint (was {saved}, now {now}); "
                "training continues with the new order"
            )

    def _start(self, resume: bool) -> bool:
        """Check the run folder and, with ``resume``, load its checkpoint. Returns whether a
        checkpoint was loaded: ``resume`` in a folder whose run wrote a history but died
        before its first checkpoint starts that run again from step 0 (the history is
        rewritten; the steps repeat exactly)."""
        history = self.run_dir / HISTORY_NAME
        if resume and self.checkpoint_path.is_file():
            self.load(self.checkpoint_path)
            return True
        if resume and history.is_file():
            self._warn(
                f"{self.run_dir} holds a history ({HISTORY_NAME}) but no {CHECKPOINT_NAME}: "
                "the run stopped before its first checkpoint; starting it again from step 0"
            )
            return False
        if resume:
            raise CheckpointError(
                f"{self.checkpoint_path}: no checkpoint to resume from (run without "
                "--resume to start this run)"
            )
        if self.checkpoint_path.exists():
            raise FileExistsError(
                f"{self.run_dir} already holds a run ({CHECKPOINT_NAME}); pass --resume to "
                "continue it or set output.run_dir to a new folder"
            )
        if history.is_file() and history.stat().st_size:
            raise FileExistsError(
                f"{self.run_dir} holds the history of a run that stopped before its first "
                f"checkpoint ({HISTORY_NAME}, no {CHECKPOINT_NAME}); pass --resume to start "
                "it again from step 0, or set output.run_dir to a new folder"
            )
        return False

    # ------------------------------------------------------------------ loop

    def run(self, *, resume: bool = False) -> TrainOutcome:
        """Train (or, with ``resume``, continue from ``run_dir/checkpoint.pt``) up to
        ``train.steps``. Returns early, with a checkpoint, on SIGINT/SIGTERM."""
        session = self._open_session(resumed=self._start(resume))
        try:
            with StopRequest() as stop:
                self._begin(session)
                while self.step < self.config.train.steps:
                    batch = self._fetch(session)
                    result = self._step(batch, stop)
                    self._record(session, result)
                    end = self._end_reason(session, result)
                    self._maybe_checkpoint(session, end)
                    if self._maybe_stop(session, end, stop):
                        break
                    self._maybe_evaluate(session, end)
                session.batches = iter(())  # drops the DataLoader iterator: its workers stop
            self._finish(session)
        finally:
            self._close_session(session)
        return TrainOutcome(
            step=self.step,
            run_dir=self.run_dir,
            checkpoint=session.checkpoint,
            stopped_by=session.stopped_by,
            skipped_steps=self.skipped_steps,
            metrics=self.metrics,
        )

    def _open_session(self, *, resumed: bool) -> _Session:
        """Open the history (``resume=step`` drops what followed the checkpoint), write
        ``config.yaml``, remove stale temporary files, set up the progress bar."""
        if self.dist.is_main:
            remove_stale_temporaries(self.run_dir)
        resuming = resumed or (self.run_dir / HISTORY_NAME).is_file()
        logger = HistoryLogger.from_config(
            self.run_dir,
            self.config.logger,
            resume=self.step if resuming else False,
            rank=self.dist.rank,
        )
        if self.dist.is_main:
            config_text = f"# {self.precision.describe()}\n" + yaml.safe_dump(
                self.config.model_dump(mode="json"), sort_keys=False
            )
            (self.run_dir / "config.yaml").write_text(config_text)
        loop = self.config.train
        bar = tqdm(
            total=loop.steps,
            initial=self.step,
            unit="step",
            disable=not (self.dist.is_main and loop.progress),
            dynamic_ncols=True,
            mininterval=1.0 if sys.stderr.isatty() else 30.0,
            file=sys.stderr,
        )
        checkpoint = self.checkpoint_path if resumed else None
        return _Session(self._sampler(self.step), logger, bar, checkpoint)

    def _begin(self, session: _Session) -> None:
        """Start the data loader (its workers inherit the signal handling) and the clocks."""
        self.detector.train()
        if self.step < self.config.train.steps:
            session.batches = training_batches(
                AugmentedSamples(self.train_set, self.transforms),
                session.sampler,
                workers=self.config.train.workers,
                pin_memory=self.dist.device.type == "cuda",
            )
        session.tick = time.perf_counter()
        session.started = time.monotonic()

    def _fetch(self, session: _Session) -> Batch:
        """Reseed the global generators for the next step and take its batch; an input
        error of a DataLoader worker is raised here as itself (``_loader``)."""
        _reseed_globals(derive_seed(self.config.train.seed, "globals", self.step, self.dist.rank))
        batch = raise_if_failed(next(session.batches))
        return self.callbacks.batch(self.step + 1, batch)

    def _step(self, batch: Batch, stop: StopRequest) -> StepResult:
        """One optimiser and scheduler step. A non-finite loss (on any rank) skips backward
        and the optimiser, a non-finite gradient norm the optimiser; a skipped step puts
        back the buffers (BatchNorm statistics) its forward changed."""
        loop = self.config.train
        device = self.dist.device
        images = batch.images.to(device)
        gt = batch.gt.to(device)
        generator = make_generator(loop.seed, "criterion", self.step, self.dist.rank,
                                   device=device.type)  # fmt: skip
        buffers = _buffer_snapshot(self.detector)
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            # the detector samples the targets (before its head) from the step's generator
            output = self.model(images, gt, generator=generator)
        losses = self.criterion(_float32(output), gt, images)
        total = self.callbacks.loss(self.step + 1, losses.total)
        terms = {"total": total, **losses.terms()}
        values = torch.stack([t.detach().float() for t in terms.values()])
        nonfinite, stopping = self.dist.any(not bool(torch.isfinite(total)), stop.requested)
        logged = dict(zip(terms, self.dist.mean(values).tolist(), strict=True))
        grad_norm = math.nan if nonfinite else self._backward_and_update(total)
        skipped = nonfinite or (self.scaler is None and not math.isfinite(grad_norm))
        if skipped:
            _restore_buffers(buffers)
        lr = float(self.optimizer.param_groups[0]["lr"])
        with warnings.catch_warnings():
            # a skipped (non-finite) first step calls no optimizer.step()
            warnings.filterwarnings(
                "ignore", r"Detected call of `lr_scheduler\.step\(\)`", UserWarning
            )
            self.scheduler.step()
        return StepResult(logged, grad_norm, lr, skipped, stopping)

    def _backward_and_update(self, total: torch.Tensor) -> float:
        """Backward, clip, optimiser step (not on a non-finite norm without a GradScaler);
        returns the gradient norm before clipping."""
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            total.backward()
        clip = self.config.train.clip_grad_norm
        params = [p for p in self.detector.parameters() if p.grad is not None]
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, clip or math.inf))
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        elif math.isfinite(grad_norm):
            self.optimizer.step()
        return grad_norm

    def _record(self, session: _Session, result: StepResult) -> None:
        """Count the step, log it (history, progress bar; a skipped step on the console
        too); raise :class:`TrainingDiverged` after too many skipped steps in a row."""
        self.step += 1
        if result.skipped:
            self.consecutive_nonfinite += 1
            self.skipped_steps += 1
            self._warn(
                f"step {self.step} skipped: non-finite loss ({result.terms['total']}) or "
                f"gradient norm ({result.grad_norm}); the model is unchanged "
                f"({self.consecutive_nonfinite} in a row, {self.skipped_steps} in this run)"
            )
        else:
            self.consecutive_nonfinite = 0
        now = time.perf_counter()
        throughput = (
            self.config.train.batch_size * self.dist.world_size / max(now - session.tick, 1e-9)
        )
        session.tick = now
        with reported_write_errors(session.logger.path, "cannot append to the history"):
            session.logger.log_train(
                self.step,
                losses=result.terms,
                lr=result.lr,
                grad_norm=result.grad_norm,
                throughput=throughput,
                epoch=session.sampler.epoch_of(self.step - 1),
            )
        session.bar.update(1)
        session.bar.set_postfix(loss=f"{result.terms['total']:.4g}", img_s=f"{throughput:.1f}",
                                skipped=self.skipped_steps, refresh=False)  # fmt: skip
        if self.consecutive_nonfinite >= self.config.train.max_consecutive_nonfinite:
            last_good = (
                f"the last good checkpoint is {self.checkpoint_path}"
                if session.checkpoint is not None
                else "no checkpoint was written yet"
            )
            raise TrainingDiverged(
                f"{self.consecutive_nonfinite} consecutive steps (up to step {self.step}) had "
                f"a non-finite loss or gradient; stopping ({last_good})"
            )

    def _end_reason(self, session: _Session, result: StepResult) -> EndReason:
        """Whether the run ends after this step: a signal (on any rank), ``train.steps``
        reached, or the time limit passed (agreed across ranks)."""
        limit = self.config.train.time_limit_minutes
        out_of_time = False
        if limit is not None:
            out_of_time = self.dist.any(time.monotonic() - session.started > 60.0 * limit)[0]
        if result.stopping:
            return "signal"
        if self.step >= self.config.train.steps:
            return "steps"
        return "time" if out_of_time else None

    def _maybe_checkpoint(self, session: _Session, end: EndReason) -> None:
        """Write the checkpoint every ``train.checkpoint_interval`` steps and at the end."""
        if end is None and self.step % self.config.train.checkpoint_interval:
            return
        session.checkpoint = self.save(session.sampler)
        self.callbacks.checkpoint_written(self.step, str(session.checkpoint))

    def _maybe_stop(self, session: _Session, end: EndReason, stop: StopRequest) -> bool:
        """True (after saying why) when a signal or the time limit ends the run here."""
        if end == "signal":
            session.stopped_by = stop.name or "a signal on another rank"
            self._say(
                f"stopped by {session.stopped_by} after step {self.step}; checkpoint "
                f"{self.checkpoint_path} (continue with --resume)"
            )
            return True
        if end == "time":
            loop = self.config.train
            self._say(
                f"time limit of {loop.time_limit_minutes} min reached after step "
                f"{self.step} of {loop.steps}"
            )
            return True
        return False

    def _maybe_evaluate(self, session: _Session, end: EndReason) -> None:
        """Evaluate every ``train.eval_interval`` steps (the last step's is the final one)."""
        interval = self.config.train.eval_interval
        if interval and self.step % interval == 0 and end is None:
            self._evaluate(session.logger, final=False)
            session.tick = time.perf_counter()

    def _finish(self, session: _Session) -> None:
        """A run that was not stopped by a signal: final evaluation, CSV, plot."""
        session.bar.close()
        if session.stopped_by is None:
            if self.config.eval.at_end:
                self._evaluate(session.logger, final=True)
            if self.dist.is_main:
                session.logger.export_csv()
                session.logger.plot()
        self.callbacks.finished(self)

    def _close_session(self, session: _Session) -> None:
        """Close the bar and the history (a close that fails while another error is on its
        way is not allowed to hide it), remove stale temporary files."""
        session.bar.close()
        failing = sys.exc_info()[1] is not None
        try:
            with reported_write_errors(session.logger.path, "cannot write the history"):
                session.logger.close()
        except OSError:
            if not failing:
                raise
        if self.dist.is_main:
            remove_stale_temporaries(self.run_dir)

    def _evaluate(self, logger: HistoryLogger, *, final: bool) -> None:
        if self.val_set is None:
            return
        if self.dist.is_main:
            self._say(f"evaluating step {self.step} on split {self.config.data.val_split!r}")
            with self._autocast():
                metrics = evaluate_detector(
                    self.detector,
                    self.val_set,
                    self.config,
                    self.run_dir / "eval" / f"step_{self.step:07d}",
                    device=self.dist.device,
                    draw_dir=self.run_dir / "predictions" if final else None,
                )
            logger.log_eval(self.step, metrics=metrics, epoch=None)
            if final:
                table = self.run_dir / "eval" / f"step_{self.step:07d}" / "metrics.txt"
                (self.run_dir / "metrics.txt").write_text(
                    f"step {self.step}, split {self.config.data.val_split}\n" + table.read_text()
                )
            self.metrics = metrics
        self.detector.train()
        self.dist.barrier()


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    source: str = "config",
    callbacks: TrainCallbacks | None = None,
) -> TrainOutcome:
    """Build a :class:`Trainer` for ``config`` and run it (see :meth:`Trainer.run`)."""
    return Trainer(config, source=source, callbacks=callbacks).run(resume=resume)
