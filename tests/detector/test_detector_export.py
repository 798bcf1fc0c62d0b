"""``torch.export`` (and ONNX, where onnxruntime installs) of the Detector built from the
shipped configs' model settings gives the eager detections.

Random init (seed fixed), eval mode, small images: configs/synthetic.yaml at 128x416 with a
batch of two images of different real sizes, configs/kitti.yaml (ResNet50, 1000 pre-NMS
proposals per level: far above the 4000 coordinates at which torchvision's ``batched_nms``
turns into a data-dependent loop) at 96x320, and the synthetic model without box voting
(``postprocess.vote_iou: null``; the configs vote), whose post-processing graph differs. One
export per case, shared by the tests.
"""

import importlib.util
import pathlib
import warnings

import pytest
import torch

from mono3d.detector import (
    EXPORT_INPUTS,
    EXPORT_OUTPUTS,
    DetectorConfig,
    DetectorForExport,
    build_detector,
    read_mapping,
)

CONFIGS = pathlib.Path(__file__).resolve().parents[2] / "configs"
#: case -> (config, padded (H, W), each image's real (h, w), model overrides by section)
CASES = {
    "synthetic": ("synthetic", (128, 416), [(128, 416), (120, 400)], {}),
    "kitti": ("kitti", (96, 320), [(96, 320)], {}),
    "synthetic_no_vote": (
        "synthetic",
        (128, 416),
        [(128, 416), (120, 400)],
        {"postprocess": {"vote_iou": None}},
    ),
}
NAMES = [name for name, _ in EXPORT_OUTPUTS]


def _model_config(name: str, overrides: dict | None = None) -> DetectorConfig:
    """The ``model`` section of configs/<name>.yaml, random init (no weights download), with
    each section of ``overrides`` merged into its own."""
    model = read_mapping(CONFIGS / f"{name}.yaml")["model"]
    model["backbone"] = {**model["backbone"], "weights": None}
    for section, values in (overrides or {}).items():
        model[section] = {**model.get(section, {}), **values}
    return DetectorConfig.model_validate(model)


def _inputs(size: tuple[int, int], real: list[tuple[int, int]]):
    h, w = size
    g = torch.Generator().manual_seed(3)
    images = torch.rand(len(real), 3, h, w, generator=g)
    s = w / 1242
    p2 = torch.tensor(
        [
            [721.5 * s, 0.0, 609.6 * s, 44.9 * s],
            [0.0, 721.5 * s, 172.9 * s, 0.2 * s],
            [0.0, 0.0, 1.0, 0.003],
        ]
    )
    calib = p2.expand(len(real), 3, 4).clone()
    return images, calib, torch.tensor(real)


@pytest.fixture(scope="module", params=list(CASES))
def exported(request):
    """(config name, model, example inputs, eager outputs, ExportedProgram)."""
    name = request.param
    config, size, real, overrides = CASES[name]
    torch.manual_seed(0)
    model = DetectorForExport(build_detector(_model_config(config, overrides))).eval()
    args = _inputs(size, real)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torchvision's nms fake kernel
        eager = model(*args)
        program = torch.export.export(model, args)
    return name, model, args, eager, program


def _tie_order(eager, other) -> list[torch.Tensor]:
    """``other``'s rows put in ``eager``'s order: detections whose scores tie to rounding may
    come out of the top-K sort in either order, so each eager row takes the row of the same
    image and category with the nearest 2D box and score (one to one)."""
    other = [torch.as_tensor(t) for t in other]
    boxes, scores = other[NAMES.index("bbox2d")], other[NAMES.index("score")]
    cats = other[NAMES.index("category")]
    order = []
    for i in range(boxes.shape[0]):
        cost = (eager[NAMES.index("bbox2d")][i][:, None] - boxes[i][None]).abs().sum(-1)
        cost = cost + 1e3 * (eager[NAMES.index("score")][i][:, None] - scores[i][None]).abs()
        cost = cost + 1e6 * (eager[NAMES.index("category")][i][:, None] != cats[i][None])
        taken: list[int] = []
        for row in range(cost.shape[0]):
            ranked = [int(j) for j in cost[row].argsort() if int(j) not in taken]
            taken.append(ranked[0])
        order.append(torch.tensor(taken))
    return [torch.stack([t[i][order[i]] for i in range(len(order))]) for t in other]


def _assert_same_detections(
    eager, other, rtol: float, atol: float, ties: bool = False, min_side: float = 0.0
) -> None:
    """Every output equal within rtol/atol (integers exactly); with ``min_side`` the float
    outputs of rows whose eager 2D box is a sliver narrower or lower than that many pixels
    are left out (their RoIAlign samples lie mostly beyond the map, where runtimes differ)."""
    assert int(eager[NAMES.index("valid")].sum()) > 0, "the test images should yield detections"
    assert len(other) == len(eager)
    if ties:
        other = _tie_order(eager, other)
    box = eager[NAMES.index("bbox2d")]
    kept = ((box[..., 2] - box[..., 0]) >= min_side) & ((box[..., 3] - box[..., 1]) >= min_side)
    # random weights: at the kitti case 88 % of the detections are wider than 4 px (the
    # 100 rows given 3D outputs, rows_3d_inference, decide which)
    assert kept.float().mean() > 0.85, "the slivers left out must stay few"
    for name, a, b in zip(NAMES, eager, other):
        b = torch.as_tensor(b)
        assert a.shape == b.shape, name
        if a.is_floating_point():
            a, b = a[kept], b.to(a.dtype)[kept]
            close = {"rtol": rtol, "atol": atol}
            torch.testing.assert_close(b, a, **close, msg=lambda m, n=name: f"{n}: {m}")
        else:
            assert torch.equal(b.to(a.dtype), a), name


def test_exported_program_matches_eager(exported):
    name, _, args, eager, program = exported
    with torch.no_grad():
        out = program.module()(*args)
    _assert_same_detections(eager, out, rtol=1e-5, atol=1e-5)
    if name.startswith("synthetic"):  # the second image's boxes stay inside its real size
        boxes, valid = out[0][1], out[-1][1]
        assert bool((boxes[valid][:, 2] <= 400).all()) and bool((boxes[valid][:, 3] <= 120).all())


def test_exported_graph_has_static_shapes_and_no_linalg(exported):
    _, _, _, eager, program = exported
    targets = {str(node.target) for node in program.graph.nodes if node.op == "call_function"}
    assert not any("linalg" in t for t in targets), sorted(t for t in targets if "linalg" in t)
    assert any("nms" in t for t in targets)
    outputs = next(node for node in program.graph.nodes if node.op == "output").args[0]
    for node, expected in zip(outputs, eager):
        assert tuple(node.meta["val"].shape) == tuple(expected.shape)  # no symbolic sizes


def test_onnx_export_matches_eager_in_onnxruntime(exported, tmp_path):
    missing = [m for m in ("onnx", "onnxscript", "onnxruntime") if not importlib.util.find_spec(m)]
    if missing:
        pytest.skip(f"ONNX check needs {', '.join(missing)} (pip install 'mono3d-train[onnx]')")
    import onnxruntime

    _, _, args, eager, program = exported
    path = tmp_path / "detector.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        onnx_program = torch.onnx.export(
            program,
            args,
            dynamo=True,
            input_names=[n for n, _ in EXPORT_INPUTS],
            output_names=NAMES,
            verbose=False,
        )
    onnx_program.save(str(path))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == [n for n, _ in EXPORT_INPUTS]
    feeds = {n: t.numpy() for (n, _), t in zip(EXPORT_INPUTS, args)}
    # ONNX Runtime's RoiAlign / convolutions round differently: pixels to 1e-2, the rest 1e-3
    # and scores equal to rounding may swap places in the top-K sort (``ties``); its RoiAlign
    # also treats samples beyond the feature map differently, which moves a random-weight
    # sliver box (2 px wide at the image edge) by up to 0.4 px: those rows are left out
    out = session.run(None, feeds)
    _assert_same_detections(eager, out, rtol=1e-3, atol=1e-2, ties=True, min_side=4.0)
