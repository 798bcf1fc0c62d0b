"""benchmarks/bench_misses.py on the real KITTI sample: ground truth as detections misses
nothing; one car pushed 10 % deeper is the one miss, and its rank among the correct cars is
counted."""

import sys

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("bench_accuracy"), load_benchmark("bench_misses")


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
