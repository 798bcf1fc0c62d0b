"""Which loss term drives which part of the network: the gradient norm of each of the eight
loss terms of a trained checkpoint, separately over the trunk (backbone + FPN), the RPN, the
head's 2D tower (fc6/fc7, class and 2D refinement) and its 3D tower (everything else in the
head), on training batches of its own run (BENCHMARKS.md 7.3).

    python benchmarks/bench_loss_gradients.py CHECKPOINT [--batches 3] [--root ROOT]

The checkpoint's run config gives the model, the loss and the data (``--root`` another KITTI
root); the detector runs in training mode (its sampling of proposals seeded) with the precision
the run trained with, the criterion in float32 as the trainer runs it; nothing is updated.
Global-norm clipping (``train.clip_grad_norm``) scales every term by the same factor, so a term
whose norm is far above the clip sets the step of all the others.
"""

import argparse
import pathlib
import tempfile
from collections.abc import Callable

import torch

from mono3d.data import collate
from mono3d.train import TrainConfig
from mono3d.train._checkpoint import load_checkpoint
from mono3d.train._trainer import Trainer, _float32

#: parameter groups by name prefix (the detector's module names); the 3D tower is the rest of
#: the head
_TOWER_2D = ("head.fc6.", "head.fc7.", "head.bbox2d_pred", "head.category_pred")
GROUPS: dict[str, Callable[[str], bool]] = {
    "trunk": lambda name: name.startswith(("backbone.", "neck.")),
    "rpn": lambda name: name.startswith("rpn."),
    "tower2d": lambda name: name.startswith(_TOWER_2D),
    "tower3d": lambda name: name.startswith("head.") and not name.startswith(_TOWER_2D),
}


def term_gradient_norms(trainer: Trainer, batch, generator: torch.Generator) -> dict:
    """{(term, group): the L2 norm of d term / d parameters of that group} for one batch."""
    named = [(n, p) for n, p in trainer.detector.named_parameters() if p.requires_grad]
    with trainer._autocast():
        output = trainer.model(batch.images, batch.gt, generator=generator)
    losses = trainer.criterion(_float32(output), batch.gt, batch.images)
    norms = {}
    for term, value in losses.terms().items():
        grads = torch.autograd.grad(
            value, [p for _, p in named], retain_graph=True, allow_unused=True
        )
        for group, member in GROUPS.items():
            squares = [
                g.float().pow(2).sum()
                for (n, _), g in zip(named, grads)
                if g is not None and member(n)
            ]
            norms[term, group] = float(torch.stack(squares).sum().sqrt()) if squares else 0.0
    return norms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=pathlib.Path)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--root", default=None, help="the data root (default: the run's)")
    args = parser.parse_args()
    state = load_checkpoint(args.checkpoint, map_location="cpu")
    config = TrainConfig.model_validate(state["config"])
    with tempfile.TemporaryDirectory() as tmp:  # the trainer's run folder is never written
        data = {"root": args.root} if args.root is not None else {}
        config = config.model_copy(
            update={
                "output": config.output.model_copy(update={"run_dir": tmp}),
                "data": config.data.model_copy(update=data),
            }
        )
        trainer = Trainer(config)
        trainer.detector.load_state_dict(state["model"])
        trainer.detector.train()
        dataset, size = trainer.train_set, config.train.batch_size
        generator = torch.Generator().manual_seed(0)
        totals: dict = {}
        count = min(args.batches, len(dataset) // size)
        for index in range(count):
            batch = collate([dataset[index * size + k] for k in range(size)])
            for key, norm in term_gradient_norms(trainer, batch, generator).items():
                totals[key] = totals.get(key, 0.0) + norm / count
    print(f"{args.checkpoint}: mean gradient norm over {count} training batches of {size}")
    print(f"{'term':20s}" + "".join(f"{g:>10s}" for g in GROUPS))
    for term in dict.fromkeys(t for t, _ in totals):
        print(f"{term:20s}" + "".join(f"{totals[term, g]:10.3f}" for g in GROUPS))


if __name__ == "__main__":
    main()
