"""Per-call overhead of a ``@contract`` function, with checks on and off, relative to the
same function undecorated. Ratios are measured in one run (median of repeats).

    python benchmarks/bench_contracts.py [--repeats 7] [--number 2000]

Rows: "checked, on" (jaxtyping + beartype run), "checked, with checks(False)" (one boolean
test), "MONO3D_CHECKS=0" (the decorator returns the function itself: identical object).
"""

import argparse
import os
import statistics
import subprocess
import sys
import timeit

import torch
from jaxtyping import Float
from torch import Tensor

from mono3d.contracts import checks, contract


def raw(boxes: Float[Tensor, "b n 4"], scale: Float[Tensor, " b"]) -> Float[Tensor, "b n 4"]:
    return boxes * scale[:, None, None]


checked = contract(raw)


def median_time(fn, args, number: int, repeats: int) -> float:
    times = timeit.repeat(lambda: fn(*args), number=number, repeat=repeats)
    return statistics.median(times) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--size", type=int, default=32, help="n boxes per image")
    args = parser.parse_args()
    inputs = (torch.rand(2, args.size, 4), torch.rand(2))
    base = median_time(raw, inputs, args.number, args.repeats)
    on = median_time(checked, inputs, args.number, args.repeats)
    with checks(False):
        off = median_time(checked, inputs, args.number, args.repeats)
    env_off = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mono3d.contracts import contract\nf = lambda x: x\nprint(contract(f) is f)",
        ],
        env=dict(os.environ, MONO3D_CHECKS="0"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"unchecked function: {base * 1e6:8.2f} us/call (b=2, n={args.size})")
    print(f"{'variant':32s} {'us/call':>9s} {'ratio to unchecked':>19s}")
    print(f"{'checked, checks on':32s} {on * 1e6:9.2f} {on / base:19.2f}")
    print(f"{'checked, with checks(False)':32s} {off * 1e6:9.2f} {off / base:19.2f}")
    identical = "1.00 (same object)" if env_off == "True" else "NOT IDENTICAL"
    print(f"{'MONO3D_CHECKS=0':32s} {base * 1e6:9.2f} {identical:>19s}")


if __name__ == "__main__":
    main()
