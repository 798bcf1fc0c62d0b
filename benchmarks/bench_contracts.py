"""Per-call overhead of the contract checks, with checks on and off, relative to the same
work unchecked. Ratios are measured in one run: the calling thread's CPU time
(``time.thread_time``, what the work costs whatever else runs on the machine), best of
repeats, the implementations alternated repeat by repeat.

    python benchmarks/bench_contracts.py [--repeats 50] [--number 100] [--baseline SRC]

Function rows (a two-argument ``@contract`` function against the undecorated one):
"checked, checks on" (jaxtyping + beartype run), "checked, with checks(False)" (one boolean
test), "MONO3D_CHECKS=0" (the decorator returns the function itself: identical object).
Bundle rows: constructing a ``GroundTruth`` (6 fields) and a ``NeckFeatures`` (3 fields,
with the pyramid relations h4/2, h4/4) checked, against the same construction inside
``checks(False)``. The violation rows time a wrong call or construction until its
``ContractError`` is raised (the error path, not the cost of a correct call).

``--baseline SRC`` also measures another copy of mono3d.contracts in the same process, e.g.
``git worktree add /tmp/base <commit>`` then ``--baseline /tmp/base/contracts/src``, and
prints each row's time next to the baseline's and their ratio.
"""

import argparse
import importlib.util
import os
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import torch
from jaxtyping import Float
from torch import Tensor

import mono3d.contracts as contracts


def raw(boxes: Float[Tensor, "b n 4"], scale: Float[Tensor, " b"]) -> Float[Tensor, "b n 4"]:
    return boxes * scale[:, None, None]


def load_contracts(src: Path) -> ModuleType:
    """Another copy of mono3d.contracts (``src/mono3d/contracts``), imported under its own
    name so that it runs next to the installed one."""
    init = src / "mono3d" / "contracts" / "__init__.py"
    name = "baseline_mono3d_contracts"
    spec = importlib.util.spec_from_file_location(
        name, init, submodule_search_locations=[str(init.parent)]
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"--baseline: no mono3d/contracts/__init__.py under {src}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


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


def expect_error(fn: Callable[[], object], error: type[Exception]) -> Callable[[], None]:
    """``fn`` wrapped to swallow the ``error`` it must raise every time."""

    def once() -> None:
        try:
            fn()
        except error:
            return
        raise AssertionError(f"expected a {error.__name__}")

    return once


def workloads(impl: ModuleType, size: int) -> dict[str, tuple[Callable[[], object], int]]:
    """Row name -> (what to time, divisor of --number) for one contracts implementation."""
    checked = impl.contract(raw)
    boxes, scale, wrong_scale = torch.rand(2, size, 4), torch.rand(2), torch.rand(3)
    gt, neck = ground_truth_fields(2, size), neck_fields(2)
    bad_gt = {**gt, "valid": torch.ones(2, 3, dtype=torch.bool)}

    def unchecked(fn: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            with impl.checks(False):
                return fn()

        return run

    return {
        "unchecked function": (lambda: raw(boxes, scale), 1),
        "checked, checks on": (lambda: checked(boxes, scale), 1),
        "checked, with checks(False)": (unchecked(lambda: checked(boxes, scale)), 1),
        "GroundTruth(...), checks off": (unchecked(lambda: impl.GroundTruth(**gt)), 1),
        "GroundTruth(...), checks on": (lambda: impl.GroundTruth(**gt), 1),
        "NeckFeatures(...), checks off": (unchecked(lambda: impl.NeckFeatures(**neck)), 1),
        "NeckFeatures(...), checks on": (lambda: impl.NeckFeatures(**neck), 1),
        "violation: call -> ContractError": (
            expect_error(lambda: checked(boxes, wrong_scale), impl.ContractError),
            20,
        ),
        "violation: bundle -> ContractError": (
            expect_error(lambda: impl.GroundTruth(**bad_gt), impl.ContractError),
            1,
        ),
    }


#: row -> the row it is a ratio to
RATIO_TO = {
    "checked, checks on": "unchecked function",
    "checked, with checks(False)": "unchecked function",
    "GroundTruth(...), checks on": "GroundTruth(...), checks off",
    "NeckFeatures(...), checks on": "NeckFeatures(...), checks off",
}


def best_times(
    impls: dict[str, ModuleType], size: int, number: int, repeats: int
) -> dict[str, dict[str, float]]:
    """implementation -> row -> best seconds per call, the implementations alternated."""
    loads = {key: workloads(impl, size) for key, impl in impls.items()}
    best: dict[str, dict[str, float]] = {key: {} for key in impls}
    for _ in range(repeats):
        for key, rows in loads.items():
            for row, (fn, divisor) in rows.items():
                calls = max(1, number // divisor)
                seconds = timeit.Timer(fn, timer=time.thread_time).timeit(calls) / calls
                best[key][row] = min(best[key].get(row, seconds), seconds)
    return best


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
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--number", type=int, default=100)
    parser.add_argument("--size", type=int, default=32, help="n boxes per image")
    parser.add_argument("--baseline", type=Path, help="src folder of another mono3d.contracts")
    args = parser.parse_args()
    impls = {"current": contracts}
    if args.baseline is not None:
        impls["baseline"] = load_contracts(args.baseline)
    best = best_times(impls, args.size, args.number, args.repeats)
    current, baseline = best["current"], best.get("baseline")

    header = f"{'row':36s} {'us/call':>9s} {'ratio':>7s}"
    if baseline is not None:
        header += f" {'baseline us':>12s} {'ratio':>7s} {'now/baseline':>13s}"
    print(
        f"b=2, n={args.size}; thread CPU time, best of {args.repeats} repeats of "
        f"{args.number} calls; ratio: to the same work unchecked"
    )
    print(header)
    for row, seconds in current.items():
        line = f"{row:36s} {seconds * 1e6:9.2f} {_ratio(current, row):>7s}"
        if baseline is not None:
            line += f" {baseline[row] * 1e6:12.2f} {_ratio(baseline, row):>7s}"
            line += f" {seconds / baseline[row]:13.2f}"
        print(line)
    identical = "same object" if env_off_is_identity() else "NOT IDENTICAL"
    print(f"{'MONO3D_CHECKS=0':36s} {'-':>9s} {'1.00':>7s}  ({identical})")


def _ratio(times: dict[str, float], row: str) -> str:
    return f"{times[row] / times[RATIO_TO[row]]:.2f}" if row in RATIO_TO else ""


if __name__ == "__main__":
    main()
