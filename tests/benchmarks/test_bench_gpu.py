"""The CPU-runnable parts of benchmarks/bench_gpu.py (the GPU figures of BENCHMARKS.md wait
for a CUDA device): its argument defaults, timing helpers, dense-part module, table and the
two-step one-process DDP smoke on gloo, at a tiny size."""

import pytest
import torch

from mono3d.contracts import Images

TINY = ["--device", "cpu", "--height", "64", "--width", "128", "--batch", "1", "--depth", "18"]


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("bench_gpu")


def test_defaults_are_the_kitti_size_gpu_run(bench):
    args = bench.parse_args([])
    assert (args.device, args.height, args.width, args.batch) == ("cuda", 384, 1280, 2)
    assert args.infer_batches == [1, 8]
    assert args.parts == ["train", "infer", "compile", "ddp"]


def test_interleaved_medians_time_every_callable(bench):
    calls = {"a": 0, "b": 0}

    def count(key):
        def fn():
            calls[key] += 1

        return fn

    times = bench.interleaved_ms(
        {k: count(k) for k in calls}, repeats=3, clock=bench.Clock(torch.device("cpu"))
    )
    assert calls == {"a": 5, "b": 5}  # two warm-ups + three timed rounds each
    assert set(times) == {"a", "b"} and all(t >= 0 for t in times.values())


def test_dense_parts_are_the_detectors_backbone_neck_and_rpn_head(bench):
    detector = bench.build_detector(bench.mono3d_config(18)).eval()
    images = torch.rand(1, 3, 64, 128)
    bundle = Images(
        images=images, calib=torch.eye(3, 4)[None], image_size=torch.tensor([[64, 128]])
    )
    with torch.no_grad():
        object_logit, bbox2d_logit = bench.DenseParts(detector)(images)
        output = detector(bundle)
    assert torch.equal(object_logit, output.rpn.object_logit)
    assert torch.equal(bbox2d_logit, output.rpn.bbox2d_logit)


def test_ddp_smoke_takes_two_finite_steps_on_gloo(bench):
    rows = bench.part_ddp(bench.parse_args([*TINY, "--objects", "2"]), torch.device("cpu"))
    assert [r.variant for r in rows] == ["gloo step 1", "gloo step 2"]
    assert rows[0].note.endswith("ok") and all(r.ms > 0 for r in rows)
    assert not torch.distributed.is_initialized()  # the world is torn down again
    text = bench.table(rows)
    assert text.splitlines()[0].split()[:4] == ["part", "model", "variant", "ms"]
    assert len(text.splitlines()) == 3


def test_a_missing_gpu_is_one_line(bench, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="no CUDA device is available"):
        bench.main(["--device", "cuda"])
