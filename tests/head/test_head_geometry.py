"""The head's proposal geometry is invariant under resize and crop and mirrors under a flip,
exactly as the codecs are (the calib transformed with the image, DESIGN §2)."""

import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts.testing import boxes2d, calibs, image_sizes, padded_hw
from mono3d.head import GEOMETRY_FEATURES, proposal_geometry


@st.composite
def scenes(draw):
    b = draw(st.integers(1, 3))
    h, w = draw(padded_hw())
    nhd = draw(st.integers(1, 20))
    size = draw(image_sizes(b, h, w))
    # sides >= 2 px: a resize by 0.5 keeps them above the 1 px clamp of padded rows
    return draw(boxes2d(b, nhd, size, min_side=2.0)), draw(calibs(b, h, w)), float(w)


def flip(boxes, calib, width):
    """u -> W - u with P' = F P S (the same matrices as mono3d.geometry.flip_calib)."""
    flipped = torch.stack(
        [width - boxes[..., 2], boxes[..., 1], width - boxes[..., 0], boxes[..., 3]], -1
    )
    mirrored = calib * torch.tensor([-1.0, 1.0, 1.0, 1.0])
    row0 = width * mirrored[:, 2] - mirrored[:, 0]
    return flipped, torch.stack([row0, mirrored[:, 1], mirrored[:, 2]], dim=1)


@given(scenes())
def test_flip_mirrors_the_features_and_twice_is_the_identity(scene):
    boxes, calib, width = scene
    g = proposal_geometry(boxes, calib)
    fb, fc = flip(boxes, calib, width)
    f = proposal_geometry(fb, fc)
    mirrored = torch.stack([-g[..., 1], -g[..., 0], g[..., 2], g[..., 3], g[..., 4], g[..., 5]], -1)
    torch.testing.assert_close(f, mirrored, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(proposal_geometry(*flip(fb, fc, width)), g, rtol=1e-5, atol=1e-5)


@given(scenes(), st.floats(0.5, 2.0), st.floats(-40.0, 40.0), st.floats(-40.0, 40.0))
def test_resize_and_crop_leave_the_features_unchanged(scene, s, x0, y0):
    boxes, calib, _ = scene
    g = proposal_geometry(boxes, calib)
    # resize by s: boxes and the first two calib rows scale; crop at (x0, y0): u -= x0, v -= y0
    resized = boxes * s
    calib2 = calib.clone()
    calib2[:, :2] *= s
    cropped = resized - torch.tensor([x0, y0, x0, y0])
    calib2[:, 0] -= x0 * calib2[:, 2]
    calib2[:, 1] -= y0 * calib2[:, 2]
    torch.testing.assert_close(proposal_geometry(cropped, calib2), g, rtol=1e-4, atol=1e-4)


def test_features_are_finite_for_padding_and_shaped_by_the_glossary():
    boxes = torch.zeros(2, 5, 4)  # padded rows: zero boxes
    calib = torch.zeros(2, 3, 4)  # even a broken calib stays finite
    g = proposal_geometry(boxes, calib)
    assert g.shape == (2, 5, GEOMETRY_FEATURES) and torch.isfinite(g).all()


def test_a_known_box():
    calib = torch.tensor([[[100.0, 0, 50, 0], [0, 200, 40, 0], [0, 0, 1, 0]]])
    boxes = torch.tensor([[[40.0, 20.0, 60.0, 60.0]]])
    g = proposal_geometry(boxes, calib)[0, 0]
    expected = torch.tensor([-0.1, 0.1, -0.1, 0.1, torch.log(torch.tensor(5.0)), 1.6094379])
    torch.testing.assert_close(g, expected)
