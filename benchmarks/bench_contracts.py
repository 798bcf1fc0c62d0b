"""Per-call overhead of the contract checks, with checks on and off, relative to the same
work unchecked. Ratios are measured in one run (median of repeats).

    python benchmarks/bench_contracts.py [--repeats 7] [--number 2000]

Function rows (a two-argument ``@contract`` function against the undecorated one):
"checked, checks on" (jaxtyping + beartype run), "checked, with checks(False)" (one boolean
test), "MONO3D_CHECKS=0" (the decorator returns the function itself: identical object).
Bundle rows: constructing a ``GroundTruth`` (6 fields) and a ``NeckFeatures`` (3 fields,
with the pyramid relations h4/2, h4/4) checked, against the same construction inside
``checks(False)``. The last rows time a violation: the call or construction until its
one-line ``ContractError`` is raised (the error path, not the cost of a correct call).
"""

import argparse
import os
import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable

import torch
from jaxtyping import Float
from torch import Tensor

from mono3d.contracts import ContractError, GroundTruth, NeckFeatures, checks, contract


def raw(boxes: Float[Tensor, "b n 4"], scale: Float[Tensor, " b"]) -> Float[Tensor, "b n 4"]:
    return boxes * scale[:, None, None]


checked = contract(raw)


def median_time(fn: Callable[[], object], number: int, repeats: int) -> float:
    """Median seconds per call of ``fn`` over ``repeats`` runs of ``number`` calls."""
    times = timeit.repeat(fn, number=number, repeat=repeats)
    return statistics.median(times) / number


def failing_time(fn: Callable[[], object], number: int, repeats: int) -> float:
    """Median seconds per call of ``fn``, which must raise ContractError every time."""

    def once() -> None:
        try:
            fn()
        except ContractError:
            return
        raise AssertionError("expected a ContractError")

    return median_time(once, number, repeats)


def ground_truth_fields(b: int, n: int) -> dict[str, Tensor]:
    return {
        "bbox2d": torch.rand(b, n, 4),
        "bbox3d": torch.rand(b, n, 6),
        "yaw": torch.rand(b, n, 1),
        "category": torch.ones(b, n, 1, dtype=torch.int64),
        "valid": torch.ones(b, n, dtype=torch.bool),
        "ignore": torch.zeros(b, n, dtype=torch.bool),
    }


def neck_fields(b: int) -> dict[str, Tensor]:
    return {
        "s2": torch.rand(b, 8, 16, 24),
        "s3": torch.rand(b, 8, 8, 12),
        "s4": torch.rand(b, 8, 4, 6),
    }


def env_off_is_identity() -> bool:
    """Whether ``contract`` returns the function itself in a process with MONO3D_CHECKS=0."""
    code = "from mono3d.contracts import contract\nf = lambda x: x\nprint(contract(f) is f)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ, MONO3D_CHECKS="0"),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip() == "True"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--size", type=int, default=32, help="n boxes per image")
    args = parser.parse_args()
    number, repeats = args.number, args.repeats
    boxes, scale = torch.rand(2, args.size, 4), torch.rand(2)

    base = median_time(lambda: raw(boxes, scale), number, repeats)
    on = median_time(lambda: checked(boxes, scale), number, repeats)
    with checks(False):
        off = median_time(lambda: checked(boxes, scale), number, repeats)
    identical = "1.00 (same object)" if env_off_is_identity() else "NOT IDENTICAL"

    rows: list[tuple[str, float, float]] = []
    for cls, fields in (
        (GroundTruth, ground_truth_fields(2, args.size)),
        (NeckFeatures, neck_fields(2)),
    ):
        checked_build = median_time(lambda c=cls, f=fields: c(**f), number, repeats)
        with checks(False):
            plain_build = median_time(lambda c=cls, f=fields: c(**f), number, repeats)
        rows.append((f"{cls.__name__}(...), checks on", checked_build, plain_build))

    wrong_scale = torch.rand(3)
    bad_call = failing_time(lambda: checked(boxes, wrong_scale), number // 10, repeats)
    bad_gt = {**ground_truth_fields(2, args.size), "valid": torch.ones(2, 3, dtype=torch.bool)}
    bad_bundle = failing_time(lambda: GroundTruth(**bad_gt), number // 10, repeats)

    print(f"unchecked function: {base * 1e6:8.2f} us/call (b=2, n={args.size})")
    print(f"{'variant':34s} {'us/call':>9s} {'ratio to unchecked':>19s}")
    print(f"{'checked, checks on':34s} {on * 1e6:9.2f} {on / base:19.2f}")
    print(f"{'checked, with checks(False)':34s} {off * 1e6:9.2f} {off / base:19.2f}")
    print(f"{'MONO3D_CHECKS=0':34s} {base * 1e6:9.2f} {identical:>19s}")
    for label, checked_build, plain_build in rows:
        print(f"{label:34s} {checked_build * 1e6:9.2f} {checked_build / plain_build:19.2f}")
    print(f"{'violation: call -> ContractError':34s} {bad_call * 1e6:9.2f}")
    print(f"{'violation: bundle -> ContractError':34s} {bad_bundle * 1e6:9.2f}")


if __name__ == "__main__":
    main()
