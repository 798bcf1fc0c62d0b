"""``mono3d export``: a checkpoint to a pt2 program / ONNX model that gives the eager
detections, and its usage errors (one line, exit 2)."""

import importlib.util
import json
import zipfile

import pytest
import torch

from mono3d.detector import DetectorForExport
from mono3d.train._export import check_against_eager, example_inputs, parse_image_size
from mono3d.train._predict import load_detector
from mono3d.train.cli import main

SIZE = (64, 128)


@pytest.fixture(scope="module")
def checkpoint(config_writer, tmp_path_factory):
    """A 1-step run of the tiny synthetic config: its checkpoint.pt."""
    folder = tmp_path_factory.mktemp("export")
    config = config_writer(folder, "run", "train.steps=1")
    assert main(["train", str(config)]) == 0
    return folder / "run" / "checkpoint.pt"


def _eager(checkpoint, batch_size: int):
    """(example inputs, the eager detector's outputs on them) for ``checkpoint``."""
    detector, _ = load_detector(checkpoint)
    inputs = example_inputs(batch_size, *SIZE)
    with torch.no_grad():
        return inputs, list(DetectorForExport(detector).eval()(*inputs))


def test_pt2_export_writes_a_program_that_gives_the_eager_detections(checkpoint, tmp_path, capsys):
    out = tmp_path / "model.pt2"
    status = main(["export", str(checkpoint), "--format", "pt2", "--image-size", *map(str, SIZE),
                   "--batch-size", "2", "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert f"wrote {out}" in printed and "match the eager detector" in printed
    inputs, eager = _eager(checkpoint, 2)
    program = torch.export.load(str(out))
    with torch.no_grad():
        exported = list(program.module()(*inputs))
    check = check_against_eager(eager, exported, "pt2")
    # the same program up to float32 rounding: a few ULPs of the largest output (pixel
    # coordinates up to the image width), whatever the 1-step weights are
    scale = max(float(t.abs().max()) for t in eager if t.is_floating_point() and t.numel())
    ulps = 4 * torch.finfo(torch.float32).eps * max(scale, 1.0)
    assert check.matches and check.max_abs_diff <= ulps, (check, ulps)
    with zipfile.ZipFile(out) as archive:
        meta = [n for n in archive.namelist() if n.endswith("mono3d.json")]
        info = json.loads(archive.read(meta[0]))
    assert info["classes"] == ["Car", "Pedestrian", "Cyclist"]
    assert [i["name"] for i in info["inputs"]] == ["images", "calib", "image_size"]
    assert info["inputs"][0]["shape"] == [2, 3, *SIZE]


def test_default_output_lies_next_to_the_checkpoint(checkpoint, capsys):
    status = main(["export", str(checkpoint), "--format", "pt2", "--image-size", "64", "128",
                   "--no-check"])  # fmt: skip
    assert status == 0, capsys.readouterr().err
    assert (checkpoint.parent / "checkpoint-64x128.pt2").is_file()
    assert "checked" not in capsys.readouterr().out


def test_onnx_export_runs_in_onnxruntime_like_eager(checkpoint, tmp_path, capsys):
    missing = [m for m in ("onnx", "onnxscript", "onnxruntime") if not importlib.util.find_spec(m)]
    if missing:
        pytest.skip(f"ONNX export needs {', '.join(missing)} (pip install 'mono3d-train[onnx]')")
    import onnx
    import onnxruntime

    out = tmp_path / "model.onnx"
    status = main(["export", str(checkpoint), "--format", "onnx", "--image-size",
                   *map(str, SIZE), "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "match the eager detector" in printed
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(props["mono3d.json"])["format"] == "onnx"
    inputs, eager = _eager(checkpoint, 1)
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == [
        "bbox2d", "score", "category", "bbox3d", "yaw", "alpha", "valid"
    ]  # fmt: skip
    feeds = dict(zip(("images", "calib", "image_size"), (t.numpy() for t in inputs)))
    outputs = [torch.from_numpy(a) for a in session.run(None, feeds)]
    assert check_against_eager(eager, outputs, "onnx").matches


BAD = [
    (["--format", "tflite", "--image-size", "64", "128"], "--format", "tflite"),
    (["--format", "pt2", "--image-size", "60", "128"], "--image-size", "multiples of 32"),
    (["--format", "pt2", "--image-size", "0", "128"], "--image-size", "multiples of 32"),
    (["--format", "pt2", "--image-size", "64", "wide"], "--image-size", "two integers"),
    (["--format", "pt2", "--image-size", "64", "128", "--batch-size", "0"], "--batch-size", "1"),
]


@pytest.mark.parametrize(("options", "names", "reason"), BAD, ids=[" ".join(b[0]) for b in BAD])
def test_a_bad_request_gives_one_line_and_status_2(checkpoint, tmp_path, capsys, options, names,
                                                   reason):  # fmt: skip
    out = tmp_path / "never.pt2"
    status = main(["export", str(checkpoint), *options, "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mono3d: error: ") and names in lines[0] and reason in lines[0]
    assert not out.exists()


def test_a_missing_checkpoint_gives_one_line_and_status_2(tmp_path, capsys):
    missing = tmp_path / "none.pt"
    status = main(["export", str(missing), "--format", "pt2", "--image-size", "64", "128"])
    err = capsys.readouterr().err
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0], err


def test_parse_image_size_accepts_multiples_of_32():
    assert parse_image_size(["96", "320"]) == (96, 320)


def test_the_command_runs_without_a_traceback(run_cli, tmp_path):
    process = run_cli("export", tmp_path / "none.pt", "--format", "onnx", "--image-size", "1", "2")
    assert process.returncode == 2
    assert "Traceback" not in process.stderr
    assert process.stderr.strip().splitlines() == [
        "mono3d: error: --image-size: H and W must be positive multiples of 32, got 1 2"
    ]
