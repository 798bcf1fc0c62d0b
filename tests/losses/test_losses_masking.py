"""Properties: 0-d outputs for any shape, masked rows never matter (NaN included) and pass
zero gradient, the losses do not depend on the order of rows."""

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from mono3d.contracts.testing import generators
from mono3d.losses import (
    Box2dRefinement,
    Box2dRegression,
    Box3dRegression,
    Category,
    DepthUncertainty,
    Objectness,
    YawCategory,
    YawRegression,
)


@st.composite
def problems(draw):
    """A random batch of inputs to all eight losses, with masked rows holding junk."""
    b, m = draw(st.integers(0, 3)), draw(st.integers(0, 40))
    c, bins = draw(st.integers(2, 5)), draw(st.integers(2, 12))
    g = draw(generators())
    object = torch.randint(-1, 2, (b, m, 1), generator=g)
    junk = draw(st.sampled_from([math.nan, math.inf, -math.inf, 1e30]))
    return {
        "object": object,
        "junk": junk,
        "box2d": (torch.randn(b, m, 4, generator=g), torch.randn(b, m, 4, generator=g)),
        "box3d": (torch.randn(b, m, 6, generator=g), torch.randn(b, m, 6, generator=g)),
        "yaw": (torch.randn(b, m, 1, generator=g), torch.rand(b, m, 1, generator=g) * 2 - 1),
        "objectness": torch.randn(b, m, 1, generator=g),
        "category": (
            torch.randn(b, m, c, generator=g),
            torch.randint(1, c, (b, m, 1), generator=g),
        ),
        "yaw_category": (
            torch.randn(b, m, bins, generator=g),
            torch.randint(0, bins, (b, m, 1), generator=g),
        ),
        "box2d_refine": (torch.randn(b, m, 4, generator=g), torch.randn(b, m, 4, generator=g)),
        # (log sigma, target dz, predicted dz)
        "depth_uncertainty": (
            torch.randn(b, m, 1, generator=g),
            torch.randn(b, m, 1, generator=g),
            torch.randn(b, m, 1, generator=g),
        ),
    }


def evaluate(p, prediction=None):
    """All eight losses; ``prediction`` overrides the predicted tensors by name."""
    pred = {
        "box2d": p["box2d"][0],
        "box3d": p["box3d"][0],
        "yaw": p["yaw"][0],
        "objectness": p["objectness"],
        "category": p["category"][0],
        "yaw_category": p["yaw_category"][0],
        "box2d_refine": p["box2d_refine"][0],
        "depth_uncertainty": p["depth_uncertainty"][0],
    } | (prediction or {})
    o = p["object"]
    return {
        "box2d": Box2dRegression()(pred["box2d"], p["box2d"][1], o),
        "box3d": Box3dRegression()(pred["box3d"], p["box3d"][1], o),
        "yaw": YawRegression()(pred["yaw"], p["yaw"][1], o),
        "objectness": Objectness()(pred["objectness"], o),
        "category": Category()(pred["category"], p["category"][1], o),
        "yaw_category": YawCategory()(pred["yaw_category"], p["yaw_category"][1], o),
        "box2d_refine": Box2dRefinement()(pred["box2d_refine"], p["box2d_refine"][1], o),
        "depth_uncertainty": DepthUncertainty()(
            pred["depth_uncertainty"], p["depth_uncertainty"][2], p["depth_uncertainty"][1], o
        ),
    }


# the rows each loss reads: regressions and the yaw bin read positives, the rest sampled rows
READS_SAMPLED = {"objectness", "category"}


@given(problems())
def test_every_loss_is_a_finite_float32_scalar(p):
    for name, value in evaluate(p).items():
        assert value.shape == () and value.dtype == torch.float32, name
        assert math.isfinite(value.item()), name
        if name not in READS_SAMPLED and not (p["object"] == 1).any():
            assert value.item() == 0.0, name


@given(problems())
def test_masked_rows_do_not_matter_and_get_zero_gradient(p):
    reference = evaluate(p)
    o = p["object"]
    leaves, spoiled = {}, {}
    for name in reference:
        tensor = p[name] if name == "objectness" else p[name][0]
        masked = o >= 0 if name in READS_SAMPLED else o == 1
        leaf = torch.where(masked, tensor, p["junk"]).requires_grad_(True)
        leaves[name], spoiled[name] = leaf, leaf
    # targets of rows a loss does not read hold junk too (ints: out-of-range classes;
    # Category reads no class from negatives, they are background)
    q = dict(p)
    for name in ("box2d", "box3d", "yaw", "box2d_refine"):
        q[name] = (p[name][0], torch.where(o == 1, p[name][1], p["junk"]))
    depth = p["depth_uncertainty"]
    q["depth_uncertainty"] = (
        depth[0],
        torch.where(o == 1, depth[1], p["junk"]),
        torch.where(o == 1, depth[2], p["junk"]),
    )
    q["category"] = (p["category"][0], torch.where(o == 1, p["category"][1], -3))
    q["yaw_category"] = (p["yaw_category"][0], torch.where(o == 1, p["yaw_category"][1], 10**6))
    got = evaluate(q, spoiled)
    for name, value in got.items():
        assert torch.equal(value, reference[name]), name
        value.backward()
        grad = leaves[name].grad
        assert grad is not None and torch.isfinite(grad).all(), name
        masked = o >= 0 if name in READS_SAMPLED else o == 1
        assert (torch.where(masked, 0.0, grad) == 0).all(), name


@given(problems(), generators())
def test_losses_do_not_depend_on_row_order(p, g):
    b, m = p["object"].shape[:2]
    order = torch.argsort(torch.rand(b, m, generator=g), dim=1)

    def permute(t):
        return torch.gather(t, 1, order[..., None].expand(-1, -1, t.shape[-1]))

    q = {
        key: (tuple(permute(t) for t in value) if isinstance(value, tuple) else permute(value))
        if key != "junk"
        else value
        for key, value in p.items()
    }
    reference, permuted = evaluate(p), evaluate(q)
    for name in reference:
        assert torch.allclose(reference[name], permuted[name], rtol=1e-5, atol=1e-6), name
