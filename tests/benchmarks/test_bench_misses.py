"""benchmarks/bench_misses.py on the real KITTI sample: ground truth as detections misses
nothing; one car pushed 10 % deeper is the one miss, and its rank among the correct cars is
counted."""

import importlib.util
import pathlib
import sys

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _load("bench_accuracy"), _load("bench_misses")


def _run(misses, monkeypatch, capsys, *argv: str) -> str:
    monkeypatch.setattr(sys, "argv", ["bench_misses.py", *argv])
    misses.main()
    return capsys.readouterr().out


def test_ground_truth_misses_nothing_and_a_deeper_car_is_the_one_miss(
    bench, kitti_sample, tmp_path, monkeypatch, capsys
):
    accuracy, misses = bench
    root = tmp_path / "kitti"
    accuracy.prepare(kitti_sample, root)
    ids = (root / "ImageSets" / "val.txt").read_text().split()
    results = tmp_path / "results"
    accuracy.write_ground_truth_results(root, ids, results)
    out = _run(misses, monkeypatch, capsys, str(root), str(results))
    assert "moderate Cars matched" in out and "<- miss" not in out

    # a moderate Car (>= 25 px, occlusion <= 1, truncation <= 0.3) 10 % deeper (KITTI column
    # 13 is z), scored above every other detection
    def moderate(r):
        return (
            r[0] == "Car"
            and float(r[7]) - float(r[5]) > 25
            and int(r[2]) <= 1
            and float(r[1]) <= 0.3
        )

    frame, index = next(
        (p, k)
        for p in sorted(results.glob("*.txt"))
        for k, r in enumerate(line.split() for line in p.read_text().splitlines())
        if moderate(r)
    )
    rows = [line.split() for line in frame.read_text().splitlines()]
    rows[index][13] = f"{float(rows[index][13]) * 1.1:.2f}"
    rows[index][15] = "2.0"
    frame.write_text("".join(" ".join(r) + "\n" for r in rows))
    out = _run(misses, monkeypatch, capsys, str(root), str(results))
    lines = [line for line in out.splitlines() if line.startswith("miss ")]
    assert len(lines) == 1 and lines[0].startswith(f"miss {frame.stem} "), out
    found = int(lines[0].split(" of the ")[1].split()[0])
    assert found > 0 and f"ranks above {found} of the {found} Cars" in lines[0]
