"""``mono3d show --pred RESULTS --score-thresh T``: only detections scoring at least T are
drawn, the caption says when none did, a bad threshold is one line and exit status 2."""

import numpy as np
import pytest
from PIL import Image

from mono3d.train._draw_frame import footer_height
from mono3d.train._show import DEFAULT_SCORE_THRESH, show_frame
from mono3d.train.cli import main


@pytest.fixture
def frame_with_results(tiny_data, tmp_path):
    """(image path, result folder): a frame with labelled objects and a result file holding
    them as detections, scored 0.9 and 0.2 in turn."""

    def drawable(line):  # what show draws: no DontCare, in front of the camera
        fields = line.split()
        return bool(fields) and fields[0] != "DontCare" and float(fields[13]) > 0

    labels = sorted((tiny_data / "training" / "label_2").glob("*.txt"))
    label = next(p for p in labels if sum(map(drawable, p.read_text().splitlines())) >= 2)
    lines = [line for line in label.read_text().splitlines() if drawable(line)]
    results = tmp_path / "results"
    results.mkdir()
    scored = [f"{line} {0.9 if i % 2 == 0 else 0.2}" for i, line in enumerate(lines)]
    (results / label.name).write_text("\n".join(scored) + "\n")
    return tiny_data / "training" / "image_2" / f"{label.stem}.png", results


def yellow(image):
    rgb = np.asarray(image.convert("RGB")).astype(int)
    return bool(((rgb[..., 0] > 150) & (rgb[..., 1] > 100) & (rgb[..., 2] < 60)).any())


def footer(path):
    with Image.open(path) as image:
        return image.convert("RGB").crop((0, 375, image.width, 375 + footer_height(375)))


def panels(path):
    with Image.open(path) as image:
        return image.convert("RGB").crop((0, 0, image.width, 375)).tobytes()


def test_show_threshold_selects_the_detections_drawn(frame_with_results, tmp_path):
    image, results = frame_with_results
    out = {t: tmp_path / f"show_{t}.png" for t in ("0", "0.5", "0.95")}
    for thresh, path in out.items():
        assert main(["show", str(image), "--pred", str(results), "--out", str(path),
                     "--score-thresh", thresh]) == 0  # fmt: skip
    # 0.5 drops the 0.2 detections, 0.95 drops all of them
    assert len({panels(p) for p in out.values()}) == 3
    assert not yellow(footer(out["0"])) and not yellow(footer(out["0.5"]))
    assert yellow(footer(out["0.95"]))  # "no detection scored >= 0.95"
    # without the option: the trainer's drawing threshold
    default = tmp_path / "default.png"
    assert main(["show", str(image), "--pred", str(results), "--out", str(default)]) == 0
    assert DEFAULT_SCORE_THRESH == 0.3
    assert panels(default) == panels(out["0.5"])


def test_show_refuses_a_threshold_outside_0_1(frame_with_results, tmp_path, capsys):
    image, results = frame_with_results
    assert main(["show", str(image), "--pred", str(results), "--score-thresh", "1.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--score-thresh" in err and "1.5" in err and len(err.splitlines()) == 1
    with pytest.raises(ValueError, match="score threshold"):
        show_frame(str(image), pred=results, out=tmp_path / "x.png", score_thresh=-0.1)
