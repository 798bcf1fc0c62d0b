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
"""

import contextlib
import dataclasses
import hashlib
import math
import os
import pathlib
import signal
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any

import torch
import yaml
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from mono3d.data import Batch, KittiDataset, Sample, collate
from mono3d.detector import ConfigError, build_criterion, build_detector
from mono3d.logger import HistoryLogger

from ._checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ._config import TrainConfig
from ._distributed import DistContext, init_distributed
from ._evaluate import evaluate_detector
from ._precision import resolve_for_run
from ._rng import capture_rng_state, derive_seed, make_generator, restore_rng_state
from ._sampler import SampleKey, StepBatchSampler
from ._schedule import build_optimizer, build_scheduler
from ._signals import StopRequest

__all__ = ["TrainOutcome", "Trainer", "TrainingDiverged", "train"]

CHECKPOINT_NAME = "checkpoint.pt"
#: test-only hooks (environment variables), documented in the README
KILL_AFTER_STEP_ENV = "MONO3D_TRAIN_TEST_KILL_AFTER_STEP"
PARAM_DUMP_ENV = "MONO3D_TRAIN_TEST_PARAM_DUMP"
NAN_STEPS_ENV = "MONO3D_TRAIN_TEST_NAN_STEPS"


def _nan_steps(rank: int) -> set[int]:
    """Test hook: the 1-based steps whose loss this rank turns into NaN, from
    ``$MONO3D_TRAIN_TEST_NAN_STEPS`` = ``RANK:STEP,RANK:STEP,...``."""
    steps = set()
    for item in os.environ.get(NAN_STEPS_ENV, "").split(","):
        if item.strip():
            which, _, step = item.partition(":")
            if int(which) == rank:
                steps.add(int(step))
    return steps


#: config fields that may change on resume without changing the steps' arithmetic
#: (train.steps changes a cosine schedule's later values, but is the usual thing to extend)
_EXACTNESS_NEUTRAL = (
    "train.steps:", "train.progress:", "train.workers:", "train.checkpoint_interval:",
    "train.eval_interval:", "train.time_limit_minutes:", "train.timeout_minutes:",
    "train.max_consecutive_nonfinite:", "eval.", "output.", "logger.",
)


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


class AugmentedSamples(Dataset[Sample]):
    """A dataset indexed by :class:`SampleKey`: the image ``key.index``, augmented with a
    generator seeded by ``key.seed`` (so a sample does not depend on the worker that made it)."""

    def __init__(self, dataset: Dataset[Sample], transforms: Any | None) -> None:
        self.dataset = dataset
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: SampleKey) -> Sample:  # type: ignore[override]
        sample = self.dataset[key.index]
        if self.transforms is None:
            return sample
        generator = torch.Generator()
        generator.manual_seed(key.seed)
        return self.transforms(sample, generator=generator)


def _ignore_sigint(worker_id: int) -> None:
    """DataLoader worker init: leave SIGINT to the training process (a Ctrl-C reaches the
    whole process group; a worker that died of it would break the checkpointing step).
    SIGTERM keeps its default: the DataLoader and multiprocessing stop workers with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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


def _describe_changes(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changes += _describe_changes(a, b, f"{prefix}{key}.")
        elif a != b:
            changes.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return changes


class Trainer:
    """Builds the detector, criterion, data, optimiser and schedule of a
    :class:`TrainConfig` and runs (or resumes) its training loop.

    ``dist``: the process's place in a ``torchrun`` world (default: read from the
    environment by :func:`init_distributed`). ``source``: the config's file name, for
    messages (rank 0 prints them to stderr). Raises :class:`ConfigError` for settings this
    machine or dataset cannot honour (CUDA, fp16, a batch larger than the training set).
    """

    def __init__(
        self,
        config: TrainConfig,
        *,
        dist: DistContext | None = None,
        source: str = "config",
    ) -> None:
        self.config = config
        self.source = source
        loop = config.train
        if loop.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"{source}: train.device: cuda, but no CUDA device is available")
        self.dist = dist if dist is not None else init_distributed(
            loop.device, loop.timeout_minutes
        )
        self.run_dir = pathlib.Path(config.output.run_dir)
        self.checkpoint_path = self.run_dir / CHECKPOINT_NAME
        if loop.amp == "fp16" and self.dist.device.type != "cuda":
            raise ConfigError(
                f"{source}: train.amp: fp16 needs a CUDA device (use bf16 on the CPU)"
            )

        self.precision = resolve_for_run(
            loop.amp, self.dist.device, checkpoint=self.checkpoint_path,
            source=f"{source}: train.amp",
        )
        self._say(self.precision.describe())

        _reseed_globals(derive_seed(loop.seed, "init"))
        self.detector: nn.Module = self.precision.prepare(
            build_detector(config.model).to(self.dist.device)
        )
        # one coder: the criterion encodes targets with the object the detector decodes with
        self.criterion: nn.Module = build_criterion(config.model, self.detector.coder).to(
            self.dist.device
        )
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
        self._nan_steps: set[int] = set()

    # ------------------------------------------------------------------ messages

    def _say(self, message: str) -> None:
        if self.dist.is_main:
            tqdm.write(f"mono3d train: {message}", file=sys.stderr)

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
        """Restore model, optimiser, scheduler, scaler, counters and RNG from ``path``."""
        state = load_checkpoint(path, map_location="cpu")
        old_model = state["config"].get("model", {})
        new_model = self.config.model.model_dump(mode="json")
        if old_model != new_model:
            changes = "; ".join(_describe_changes(old_model, new_model, "model."))
            raise CheckpointError(
                f"{path}: the checkpoint was trained with another model config ({changes})"
            )
        changed = [
            c
            for c in _describe_changes(state["config"], self.config.model_dump(mode="json"))
            if not c.startswith(_EXACTNESS_NEUTRAL)
        ]
        if changed:
            self._say(
                "resuming with a config that differs from the checkpoint's (the run will "
                "not repeat an uninterrupted one exactly): " + "; ".join(changed)
            )
        self.detector.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state["scaler"] is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        self.consecutive_nonfinite = int(state["nonfinite"]["consecutive"])
        self.skipped_steps = int(state["nonfinite"]["skipped_total"])
        rng = state["rng"]
        if len(rng) == self.dist.world_size:
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

    # ------------------------------------------------------------------ loop

    def _batches(self, sampler: StepBatchSampler) -> Iterator[Batch]:
        workers = self.config.train.workers
        loader = DataLoader(
            AugmentedSamples(self.train_set, self.transforms),
            batch_sampler=sampler,
            num_workers=workers,
            collate_fn=collate,
            pin_memory=self.dist.device.type == "cuda",
            persistent_workers=False,
            prefetch_factor=2 if workers > 0 else None,
            worker_init_fn=_ignore_sigint if workers > 0 else None,
        )
        return iter(loader)

    def _train_step(self, batch: Batch, stop: StopRequest) -> tuple[dict[str, float], float, bool]:
        """One optimiser step; (rank-averaged loss terms, grad norm, stop requested)."""
        loop = self.config.train
        device = self.dist.device
        images = batch.images.to(device)
        gt = batch.gt.to(device)
        generator = make_generator(loop.seed, "criterion", self.step, self.dist.rank,
                                   device=device.type)
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            output = self.model(images, gt)
        losses = self.criterion(_float32(output), gt, images, generator=generator)
        total = losses.total
        if self.step + 1 in self._nan_steps:
            total = total * math.nan
        terms = {"total": total, **losses.terms()}
        values = torch.stack([t.detach().float() for t in terms.values()])
        nonfinite, stopping = self.dist.any(not bool(torch.isfinite(total)), stop.requested)
        mean = self.dist.mean(values).tolist()
        logged = dict(zip(terms, mean))
        if nonfinite:
            return logged, math.nan, stopping
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            total.backward()
        max_norm = loop.clip_grad_norm if loop.clip_grad_norm is not None else math.inf
        params = [p for p in self.detector.parameters() if p.grad is not None]
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        elif math.isfinite(grad_norm):
            self.optimizer.step()
        return logged, grad_norm, stopping

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

    def run(self, *, resume: bool = False) -> TrainOutcome:
        """Train (or, with ``resume``, continue from ``run_dir/checkpoint.pt``) up to
        ``train.steps``. Returns early, with a checkpoint, on SIGINT/SIGTERM."""
        loop = self.config.train
        if resume:
            if not self.checkpoint_path.is_file():
                raise CheckpointError(
                    f"{self.checkpoint_path}: no checkpoint to resume from (run without "
                    "--resume to start this run)"
                )
            self.load(self.checkpoint_path)
        elif self.checkpoint_path.exists():
            raise FileExistsError(
                f"{self.run_dir} already holds a run ({CHECKPOINT_NAME}); pass --resume to "
                "continue it or set output.run_dir to a new folder"
            )
        logger = HistoryLogger.from_config(
            self.run_dir, self.config.logger, resume=self.step if resume else False,
            rank=self.dist.rank,
        )
        if self.dist.is_main:
            config_text = f"# {self.precision.describe()}\n" + yaml.safe_dump(
                self.config.model_dump(mode="json"), sort_keys=False
            )
            (self.run_dir / "config.yaml").write_text(config_text)
        sampler = self._sampler(self.step)
        self.detector.train()
        kill_after = int(os.environ.get(KILL_AFTER_STEP_ENV, "0") or 0)
        self._nan_steps = _nan_steps(self.dist.rank)
        stopped_by: str | None = None
        checkpoint: pathlib.Path | None = self.checkpoint_path if resume else None
        global_batch = loop.batch_size * self.dist.world_size
        bar = tqdm(
            total=loop.steps,
            initial=self.step,
            unit="step",
            disable=not (self.dist.is_main and loop.progress),
            dynamic_ncols=True,
            mininterval=1.0 if sys.stderr.isatty() else 30.0,
            file=sys.stderr,
        )
        try:
            with StopRequest() as stop:
                batches = self._batches(sampler) if self.step < loop.steps else iter(())
                tick = time.perf_counter()
                started = time.monotonic()
                while self.step < loop.steps:
                    _reseed_globals(derive_seed(loop.seed, "globals", self.step, self.dist.rank))
                    batch = next(batches)
                    terms, grad_norm, stopping = self._train_step(batch, stop)
                    finite = math.isfinite(terms["total"]) and math.isfinite(grad_norm)
                    lr = float(self.optimizer.param_groups[0]["lr"])
                    with warnings.catch_warnings():
                        # a skipped (non-finite) first step calls no optimizer.step()
                        warnings.filterwarnings(
                            "ignore", r"Detected call of `lr_scheduler\.step\(\)`", UserWarning
                        )
                        self.scheduler.step()
                    self.step += 1
                    if finite or (self.scaler is not None and math.isfinite(terms["total"])):
                        self.consecutive_nonfinite = 0
                    else:
                        self.consecutive_nonfinite += 1
                        self.skipped_steps += 1
                    now = time.perf_counter()
                    throughput = global_batch / max(now - tick, 1e-9)
                    tick = now
                    logger.log_train(
                        self.step,
                        losses=terms,
                        lr=lr,
                        grad_norm=grad_norm,
                        throughput=throughput,
                        epoch=sampler.epoch_of(self.step - 1),
                    )
                    bar.update(1)
                    bar.set_postfix(
                        loss=f"{terms['total']:.4g}",
                        img_s=f"{throughput:.1f}",
                        skipped=self.skipped_steps,
                        refresh=False,
                    )
                    if self.consecutive_nonfinite >= loop.max_consecutive_nonfinite:
                        raise TrainingDiverged(
                            f"{self.consecutive_nonfinite} consecutive steps (up to step "
                            f"{self.step}) had a non-finite loss or gradient; stopping. The "
                            f"last good checkpoint is {self.checkpoint_path}"
                            if checkpoint is not None
                            else f"{self.consecutive_nonfinite} consecutive steps (up to step "
                            f"{self.step}) had a non-finite loss or gradient; stopping "
                            "(no checkpoint was written yet)"
                        )
                    out_of_time = (
                        loop.time_limit_minutes is not None
                        and time.monotonic() - started > 60.0 * loop.time_limit_minutes
                    )
                    if loop.time_limit_minutes is not None:
                        out_of_time = self.dist.any(out_of_time)[0]
                    last = self.step >= loop.steps or out_of_time
                    if stopping or last or self.step % loop.checkpoint_interval == 0:
                        checkpoint = self.save(sampler)
                        if kill_after and self.step == kill_after:
                            os.kill(os.getpid(), signal.SIGKILL)
                    if stopping:
                        stopped_by = stop.name or "a signal on another rank"
                        self._say(
                            f"stopped by {stopped_by} after step {self.step}; checkpoint "
                            f"{self.checkpoint_path} (continue with --resume)"
                        )
                        break
                    if out_of_time and self.step < loop.steps:
                        self._say(
                            f"time limit of {loop.time_limit_minutes} min reached after step "
                            f"{self.step} of {loop.steps}"
                        )
                        break
                    interval = loop.eval_interval
                    if interval and self.step % interval == 0 and not last:
                        self._evaluate(logger, final=False)
                        tick = time.perf_counter()
                batches = iter(())  # drops the DataLoader iterator: its workers stop now
            bar.close()
            if stopped_by is None:
                if self.config.eval.at_end:
                    self._evaluate(logger, final=True)
                if self.dist.is_main:
                    logger.export_csv()
                    logger.plot()
            self._dump_parameters()
        finally:
            bar.close()
            logger.close()
        return TrainOutcome(
            step=self.step,
            run_dir=self.run_dir,
            checkpoint=checkpoint,
            stopped_by=stopped_by,
            skipped_steps=self.skipped_steps,
            metrics=self.metrics,
        )

    def _dump_parameters(self) -> None:
        """Test hook: write this rank's parameter checksum to ``$MONO3D_TRAIN_TEST_PARAM_DUMP``
        (parameters only: BatchNorm running statistics follow each rank's own last batch, and
        DDP broadcasts rank 0's at the start of every forward)."""
        folder = os.environ.get(PARAM_DUMP_ENV)
        if not folder:
            return
        digest = hashlib.sha256()
        total = 0.0
        for name, tensor in sorted(self.detector.named_parameters()):
            data = tensor.detach().cpu().contiguous()
            digest.update(name.encode())
            digest.update(data.numpy().tobytes() if data.dtype != torch.bfloat16
                          else data.float().numpy().tobytes())
            if data.is_floating_point():
                total += float(data.double().sum())
        path = pathlib.Path(folder) / f"rank{self.dist.rank}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{digest.hexdigest()} {total!r} step={self.step}\n")


def train(config: TrainConfig, *, resume: bool = False, source: str = "config") -> TrainOutcome:
    """Build a :class:`Trainer` for ``config`` and run it (see :meth:`Trainer.run`)."""
    return Trainer(config, source=source).run(resume=resume)
