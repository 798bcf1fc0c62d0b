"""predict / evaluate / show on synthetic frames, box drawing, evaluation during training."""

import math

import pytest
import torch
from PIL import Image

from mono3d.contracts import ContractError
from mono3d.data import read_kitti_calib, read_kitti_label
from mono3d.logger import EvalRecord, read_history
from mono3d.train import BoxesToDraw, draw_boxes_on_image, project_corners
from mono3d.train._draw_frame import footer_height
from mono3d.train.cli import main


@pytest.fixture(scope="module")
def trained(config_writer, tmp_path_factory):
    """A 2-step run with evaluation at the end (checkpoint, history, eval folders)."""
    folder = tmp_path_factory.mktemp("trained")
    config = config_writer(folder, "run", "train.steps=2", "eval.at_end=true", "eval.draw=2")
    assert main(["train", str(config)]) == 0
    return folder / "run"


def test_training_evaluates_and_leaves_its_outputs(trained):
    names = {p.name for p in trained.iterdir()}
    assert {"checkpoint.pt", "history.jsonl", "history.csv", "history.png", "metrics.txt",
            "config.yaml", "eval", "predictions"} <= names  # fmt: skip
    evals = [r for r in read_history(trained / "history.jsonl") if isinstance(r, EvalRecord)]
    assert [r.step for r in evals] == [2]
    metrics = evals[0].metrics
    assert "Car/AP3d_R40_moderate" in metrics and "mean/APbev_R40_moderate" in metrics
    assert all(math.isnan(v) or 0 <= v <= 100 for v in metrics.values())
    assert "R40" in (trained / "metrics.txt").read_text()
    assert len(list((trained / "predictions").glob("*.png"))) == 2
    results = list((trained / "eval" / "step_0000002" / "data").glob("*.txt"))
    assert len(results) == 3  # one result file per val frame


def test_predict_writes_results_and_drawings(trained, tiny_data, tmp_path, capsys):
    frames = sorted((tiny_data / "training" / "image_2").glob("*.png"))[:2]
    out = tmp_path / "predicted"
    status = main(["predict", str(trained / "checkpoint.pt"), *map(str, frames), "--out", str(out),
                   "--draw-threshold", "0"])  # fmt: skip
    assert status == 0, capsys.readouterr().err
    for frame in frames:
        objects = read_kitti_label(out / "data" / f"{frame.stem}.txt")
        assert all(o.score is not None and o.type in ("Car", "Pedestrian", "Cyclist")
                   for o in objects)  # fmt: skip
        with Image.open(out / "images" / f"{frame.stem}.png") as image:
            drawn = image.convert("RGB")
        with Image.open(frame) as image:
            original = image.convert("RGB")
        # small frames are drawn enlarged to 375 pixels high, aspect kept, a bird's-eye view
        # beside them and the legend and caption below (tests/train/test_draw_frame.py)
        assert drawn.height == 375 + footer_height(375)
        camera = drawn.crop((0, 0, round(original.width * 375 / original.height), 375))
        assert drawn.width > camera.width
        if objects:
            plain = original.resize(camera.size, Image.Resampling.BICUBIC)
            assert camera.tobytes() != plain.tobytes()  # boxes were drawn
    # the results evaluate against the labels
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"{f.stem}\n" for f in frames))
    assert main(["evaluate", str(tiny_data), str(out / "data"), "--ids", str(ids)]) == 0
    assert "R40" in capsys.readouterr().out


def test_predict_needs_a_calib(trained, tiny_data, tmp_path, capsys):
    image = tmp_path / "lonely.png"
    with Image.open(next((tiny_data / "training" / "image_2").glob("*.png"))) as source:
        source.save(image)
    assert main(["predict", str(trained / "checkpoint.pt"), str(image), "--out",
                 str(tmp_path / "o")]) == 2  # fmt: skip
    assert "pass --calib FILE" in capsys.readouterr().err
    calib = next((tiny_data / "training" / "calib").glob("*.txt"))
    assert main(["predict", str(trained / "checkpoint.pt"), str(image), "--out",
                 str(tmp_path / "o"), "--calib", str(calib)]) == 0  # fmt: skip
    assert (tmp_path / "o" / "data" / "lonely.txt").is_file()


def test_show_draws_the_frame_beside_a_birds_eye_view(tiny_data, tmp_path):
    image = next(iter(sorted((tiny_data / "training" / "image_2").glob("*.png"))))
    out = tmp_path / "show.png"
    assert main(["show", str(image), "--out", str(out)]) == 0
    with Image.open(out) as shown, Image.open(image) as original:
        # the 64-pixel frame is drawn enlarged to 375 pixels, the bird's-eye view beside it
        assert shown.height == 375 + footer_height(375)
        assert shown.width > original.width * 375 / 64
    assert main(["show", image.stem, "--root", str(tiny_data), "--out", str(out)]) == 0
    assert main(["show", "999999", "--root", str(tiny_data)]) == 2


def test_drawn_edges_pass_through_the_projected_corners(tiny_data):
    frame = sorted((tiny_data / "training" / "label_2").glob("*.txt"))[0].stem
    calib = torch.tensor(read_kitti_calib(tiny_data / "training" / "calib" / f"{frame}.txt").P2)
    box = BoxesToDraw(
        bbox3d=torch.tensor([[0.5, 1.6, 12.0, 1.5, 1.6, 3.9]]),
        yaw=torch.tensor([0.4]),
        category=torch.tensor([1]),
        labels=[""],
    )
    canvas = Image.new("RGB", (128, 64), (0, 0, 0))
    drawn = draw_boxes_on_image(canvas, box, calib.float())
    uv, depth = project_corners(box.bbox3d, box.yaw, calib.float())
    assert bool((depth > 0).all())
    green = (0, 220, 0)  # the colour of category 1
    inside = 0
    for u, v in uv[0].tolist():
        if 0 <= u < 128 and 0 <= v < 64:
            inside += 1
            assert drawn.getpixel((min(int(u), 127), min(int(v), 63))) == green
    assert inside >= 4


def test_drawing_checks_its_inputs():
    with pytest.raises(ContractError, match="calib"):
        project_corners(torch.zeros(2, 6), torch.zeros(2), torch.zeros(4, 4))
    with pytest.raises(ContractError, match="yaw"):
        project_corners(torch.zeros(2, 6), torch.zeros(3), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="labels"):
        BoxesToDraw(torch.zeros(1, 6), torch.zeros(1), torch.ones(1, dtype=torch.int64), [])
