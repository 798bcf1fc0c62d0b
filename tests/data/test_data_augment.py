"""Augmentations keep the geometry true: after flip / resize / crop, projecting each object's
3D box with the updated P2 still gives its (clipped) 2D box; flipping twice is the identity."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.data import (
    Compose,
    PhotometricJitter,
    RandomHorizontalFlip,
    RandomScaleCrop,
    Sample,
    adjust_photometric,
    crop,
    hflip,
    resize,
)
from mono3d.data.synthetic import Layout, SceneGenerator
from mono3d.geometry import flip_calib, project_box3d

# images this small keep every tensor op below torch's parallel grain (32768 elements), so
# the tests stay fast even when the CPU is oversubscribed
SMALL = (48, 160)
GENERATOR = SceneGenerator(
    image_size=SMALL, min_objects=3, max_objects=10, depth_range=(4.0, 25.0), min_visible_pixels=4
)


def _scene(seed: int) -> Sample:
    return GENERATOR.scene(seed).to_sample(f"{seed:06d}")


def _angle_gap(a: torch.Tensor, b: torch.Tensor) -> float:
    gap = torch.remainder(a.double() - b.double() + math.pi, 2 * math.pi) - math.pi
    return float(gap.abs().max()) if gap.numel() else 0.0


def assert_geometry_true(sample: Sample, region: tuple[float, ...] | None = None) -> None:
    """Object rows: 2D box == projected 3D corners clipped to the image content ``region``
    (x1, y1, x2, y2; default the whole image; smaller after a crop that pads); alpha agrees
    with rotation_y and the location."""
    rows = ~sample.ignore
    if not bool(rows.any()):
        return
    box3d = sample.bbox3d[rows].double()[None]
    yaw = sample.yaw[rows].double()[None, :, None]
    projected = project_box3d(box3d, yaw, sample.calib.double()[None])[0]
    h, w = sample.image_size
    x1, y1, x2, y2 = region or (0.0, 0.0, float(w), float(h))
    low = projected.new_tensor([x1, y1, x1, y1])
    high = projected.new_tensor([x2, y2, x2, y2])
    expected = torch.minimum(torch.maximum(projected, low), high)
    gap = float((expected - sample.bbox2d[rows].double()).abs().max())
    assert gap <= 0.02, gap
    alpha = sample.yaw[rows] - torch.atan2(sample.bbox3d[rows, 0], sample.bbox3d[rows, 2])
    assert _angle_gap(sample.alpha[rows], alpha) < 1e-4
    assert ((sample.truncated[rows] >= 0) & (sample.truncated[rows] <= 1)).all()


def test_synthetic_samples_are_geometry_true():
    for seed in range(5):
        sample = _scene(seed)
        assert sample.num_objects > 0
        assert_geometry_true(sample)


@given(
    seed=st.integers(0, 10_000),
    flip=st.booleans(),
    scale=st.floats(0.5, 1.3),
    crop_at=st.tuples(st.floats(-0.2, 1.0), st.floats(-0.2, 1.0)),
    crop_frac=st.tuples(st.floats(0.3, 1.0), st.floats(0.3, 1.0)),
    min_visible=st.floats(0.0, 1.0),
)
def test_flip_scale_crop_keep_projection_consistent(
    seed, flip, scale, crop_at, crop_frac, min_visible
):
    sample = _scene(seed)
    if flip:
        sample = hflip(sample)
        assert_geometry_true(sample)
    h, w = sample.image_size
    sample = resize(sample, max(1, round(h * scale)), max(1, round(w * scale)))
    assert_geometry_true(sample)
    h, w = sample.image_size
    height, width = max(1, round(h * crop_frac[0])), max(1, round(w * crop_frac[1]))
    x0, y0 = round(crop_at[1] * w), round(crop_at[0] * h)
    before = sample
    sample = crop(before, x0, y0, height, width, min_visible=min_visible)
    assert sample.image_size == (height, width)
    # the image content now spans the window's overlap with the resized image
    content = (max(0, -x0), max(0, -y0), min(width, w - x0), min(height, h - y0))
    assert_geometry_true(sample, content)
    # rows: dropped iff cut away entirely; objects keeping < min_visible become ignore rows
    assert sample.num_objects <= before.num_objects
    assert (
        (sample.bbox2d[:, 2] > sample.bbox2d[:, 0]) & (sample.bbox2d[:, 3] > sample.bbox2d[:, 1])
    ).all()
    assert (sample.category[sample.ignore] == 0).all()
    assert (sample.category[~sample.ignore] >= 1).all()


@given(seed=st.integers(0, 10_000), generator_seed=st.integers(0, 2**31 - 1))
def test_random_pipeline_keeps_projection_consistent(seed, generator_seed):
    pipeline = Compose(
        [RandomScaleCrop(scale_range=(0.6, 1.3), crop_size=(40, 128)),
         RandomHorizontalFlip(p=0.5), PhotometricJitter()]
    )  # fmt: skip
    g = torch.Generator().manual_seed(generator_seed)
    out = pipeline(_scene(seed), generator=g)
    assert out.image.shape[1] <= 40 and out.image.shape[2] <= 128
    assert float(out.image.min()) >= 0 and float(out.image.max()) <= 1
    assert_geometry_true(out)
    again = pipeline(_scene(seed), generator=torch.Generator().manual_seed(generator_seed))
    assert torch.equal(out.image, again.image) and torch.equal(out.bbox2d, again.bbox2d)


@given(seed=st.integers(0, 10_000))
def test_flip_twice_is_identity(seed):
    sample = _scene(seed)
    twice = hflip(hflip(sample))
    assert torch.equal(twice.image, sample.image)
    for name in ("calib", "bbox2d", "bbox3d", "truncated"):
        gap = (getattr(twice, name) - getattr(sample, name)).abs()
        assert gap.numel() == 0 or float(gap.max()) < 1e-3
    assert _angle_gap(twice.yaw, sample.yaw) < 1e-5
    assert _angle_gap(twice.alpha, sample.alpha) < 1e-5
    assert torch.equal(twice.category, sample.category) and torch.equal(twice.ignore, sample.ignore)


def test_flip_convention_on_boxes_and_calib():
    sample = _scene(1)
    flipped = hflip(sample)
    w = sample.image_size[1]
    expected = torch.stack(
        [
            w - sample.bbox2d[:, 2],
            sample.bbox2d[:, 1],
            w - sample.bbox2d[:, 0],
            sample.bbox2d[:, 3],
        ],
        dim=-1,
    )
    assert float((flipped.bbox2d - expected).abs().max()) < 1e-4
    assert torch.equal(flipped.bbox3d[:, 0], -sample.bbox3d[:, 0])
    assert torch.equal(flipped.image, sample.image.flip(-1))


def test_flipped_image_matches_rendering_of_mirrored_scene(monkeypatch):
    """The pixel convention u' = W - u holds for the pixels too: flipping the rendered image
    gives (almost exactly; PIL rasterisation is not perfectly symmetric) the rendering of
    the mirrored scene through the flipped P2 (under a light falling straight down, which
    the mirror leaves unchanged)."""
    from mono3d.data.synthetic import _render

    monkeypatch.setattr(_render, "_LIGHT", np.array([0.0, 1.0, 0.0]))
    generator = SceneGenerator(image_size=(96, 320), min_objects=5, max_objects=5)
    rng = np.random.default_rng([9, 9])
    from mono3d.data.synthetic import synthetic_calib

    calib = synthetic_calib(rng, (96, 320))
    layout = generator.sample_layout(rng, calib)
    image = generator.render(layout, calib).image
    mirrored_boxes = layout.boxes * np.array([-1, 1, 1, 1, 1, 1])
    mirrored = Layout(
        types=layout.types,
        boxes=mirrored_boxes,
        rotation_y=np.remainder(math.pi - layout.rotation_y + math.pi, 2 * math.pi) - math.pi,
        colours=layout.colours,
        camera_height=layout.camera_height,
        lanes=-layout.lanes,
    )
    p2 = flip_calib(torch.tensor(calib.P2)[None], torch.tensor([320.0]))[0].numpy()
    from mono3d.data import KittiCalib

    rendered = generator.render(mirrored, KittiCalib(P2=p2)).image
    flipped = image[:, ::-1].astype(int)

    def mismatch(shift: int) -> float:
        shifted = np.roll(flipped, shift, axis=1)
        return float((np.abs(shifted - rendered.astype(int)).sum(-1) > 30).mean())

    assert mismatch(0) < 0.01  # a few edge pixels of slanted faces
    assert mismatch(0) < 0.5 * min(mismatch(-1), mismatch(1))  # no half-pixel bias


def test_photometric_identity_and_range():
    sample = _scene(2)
    same = adjust_photometric(sample, 1.0, 1.0, 1.0)
    assert float((same.image - sample.image).abs().max()) < 1e-6
    bright = adjust_photometric(sample, 1.5, 1.3, 0.2)
    assert float(bright.image.min()) >= 0 and float(bright.image.max()) <= 1
    assert bright.image.mean() > sample.image.mean()
    gray = adjust_photometric(sample, saturation=0.0).image
    assert float((gray[0] - gray[1]).abs().max()) < 1e-5
    assert torch.equal(bright.bbox2d, sample.bbox2d) and torch.equal(bright.calib, sample.calib)


def test_crop_drops_and_marks_cut_objects():
    sample = _scene(3)
    h, w = sample.image_size
    # keep the left half: objects fully on the right disappear, straddling ones are cut
    cut = crop(sample, 0, 0, h, w // 2, min_visible=0.5)
    inside = sample.bbox2d[:, 0] < w // 2
    assert cut.num_objects == int(inside.sum())
    whole = crop(sample, 0, 0, h, w)
    assert torch.equal(whole.bbox2d, sample.bbox2d) and torch.equal(whole.image, sample.image)
    # a window larger than the image pads with zeros
    padded = crop(sample, -10, -5, h + 20, w + 20)
    assert float(padded.image[:, :5].abs().max()) == 0.0
    assert_geometry_true(padded, (10, 5, w + 10, h + 5))


def test_transform_arguments_are_checked():
    with pytest.raises(ValueError, match="p"):
        RandomHorizontalFlip(p=1.5)
    with pytest.raises(ValueError, match="scale_range"):
        RandomScaleCrop(scale_range=(1.2, 0.8))
    with pytest.raises(ValueError, match="brightness"):
        PhotometricJitter(brightness=1.5)
