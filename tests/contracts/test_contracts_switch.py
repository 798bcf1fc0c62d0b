"""The checking switch turns off exactly the checks contracts/README.md lists, each kind
tested on and off: a ``@contract`` argument, a return value, a dimension a bundle argument
shares with another argument, a bundle field, a dimension shared across bundle fields, one
shared with a nested bundle, a bundle's value rule, and ``check_same_batch``."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from mono3d.contracts import ContractError, checks

# One source for both processes: defines a checked function and one violation per kind.
KINDS_SOURCE = textwrap.dedent(
    """
    import torch
    from jaxtyping import Float
    from torch import Tensor
    from mono3d.contracts import Auxi, GroundTruth, Images, check_same_batch, contract
    from mono3d.contracts import GtAligned, GtFeature

    @contract
    def shift(boxes: Float[Tensor, "b n 4"], by: Float[Tensor, " b"]) -> Float[Tensor, "b n 4"]:
        return boxes  # the body ignores `by`: unchecked, a wrong one passes

    @contract
    def widen(boxes: Float[Tensor, "b n 4"]) -> Float[Tensor, "b n 4"]:
        return torch.cat([boxes, boxes[..., :1]], dim=-1)

    @contract
    def matched(gt: GroundTruth, anchors: Float[Tensor, "b N 4"]) -> Float[Tensor, "b N 4"]:
        return anchors

    def targets(b, per_anchor):
        rows = 5 if per_anchor else 3
        widths = dict(bbox2d=4, bbox3d=6, bbox3d_logit=6, bbox2d_logit=4)
        cls = GtFeature if per_anchor else GtAligned
        ints = ("object", "category", "yaw_category", "object3d")
        return cls(**{
            f.name: torch.zeros(
                b, rows, widths.get(f.name, 1), dtype=torch.int64 if f.name in ints else None
            )
            for f in cls.__dataclass_fields__.values()
        })

    def ground_truth(n_valid):
        return dict(
            bbox2d=torch.zeros(2, 3, 4),
            bbox3d=torch.zeros(2, 3, 6),
            yaw=torch.zeros(2, 3, 1),
            category=torch.ones(2, 3, 1, dtype=torch.int64),
            valid=torch.ones(2, n_valid, dtype=torch.bool),
            ignore=torch.zeros(2, 3, dtype=torch.bool),
        )

    KINDS = {
        "argument": lambda: shift(torch.zeros(2, 3, 4), torch.zeros(3)),
        "return": lambda: widen(torch.zeros(2, 3, 4)),
        "bundle argument dim": lambda: matched(
            GroundTruth(**ground_truth(3)), torch.zeros(3, 5, 4)
        ),
        "bundle field": lambda: GroundTruth(**{**ground_truth(3), "yaw": torch.zeros(2, 3)}),
        "cross-field dim": lambda: GroundTruth(**ground_truth(4)),
        "nested bundle dim": lambda: Auxi(
            gt_feature=targets(2, True), gt_aligned=targets(3, False)
        ),
        "bundle value rule": lambda: Images(
            images=torch.zeros(1, 3, 40, 64),
            calib=torch.zeros(1, 3, 4),
            image_size=torch.tensor([[40, 64]]),
        ),
        "check_same_batch": lambda: check_same_batch(
            "f", boxes=torch.zeros(2, 4), calib=torch.zeros(3, 3, 4)
        ),
    }

    def outcomes():
        result = {}
        for kind, violate in KINDS.items():
            try:
                violate()
                result[kind] = "passed"
            except TypeError as error:
                result[kind] = type(error).__name__
        return result
    """
)

namespace: dict = {}
exec(compile(KINDS_SOURCE, "<kinds>", "exec"), namespace)
KINDS = namespace["KINDS"]
outcomes = namespace["outcomes"]


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_is_checked_with_checks_on(kind):
    with pytest.raises(ContractError) as info:
        KINDS[kind]()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_is_skipped_inside_checks_false(kind):
    with checks(False):
        KINDS[kind]()
    with pytest.raises(ContractError):
        KINDS[kind]()


def _run_with_checks_off(code: str) -> dict:
    env = dict(os.environ, MONO3D_CHECKS="0")
    result = subprocess.run(
        [sys.executable, "-c", KINDS_SOURCE + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_environment_switch_turns_off_every_kind_and_checks_true_only_the_bundles():
    report = _run_with_checks_off(
        """
        import json
        from mono3d.contracts import checks, checks_enabled
        def raw(x: Float[Tensor, "b 4"]) -> Float[Tensor, "b 4"]:
            return x
        assert contract(raw) is raw  # the decorator is the identity: no overhead at all
        assert not checks_enabled()
        off = outcomes()
        with checks(True):
            on_again = outcomes()
        unwrapped = shift.__name__ == "shift" and not hasattr(shift, "__wrapped_unchecked__")
        print(json.dumps({"off": off, "on_again": on_again, "unwrapped": unwrapped}))
        """
    )
    assert report["off"] == dict.fromkeys(KINDS, "passed")
    assert report["unwrapped"]
    # README: checks(True) cannot wrap functions decorated while MONO3D_CHECKS=0
    assert report["on_again"] == {
        "argument": "passed",
        "return": "passed",
        "bundle argument dim": "passed",
        "bundle field": "ContractError",
        "cross-field dim": "ContractError",
        "nested bundle dim": "ContractError",
        "bundle value rule": "ContractError",
        "check_same_batch": "ContractError",
    }
