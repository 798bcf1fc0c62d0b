"""``BoxCoder``: the second stage's class priors, yaw bins and 2D/3D/yaw codecs, held once.

One coder is built per detector and handed both to the target builder (``encode``) and to the
post-processing (``decode``), as torchvision shares one ``BoxCoder`` between its box head's
loss and its decoding: targets and decoding cannot disagree on a prior, a bin count, a delta
weight or the box the 3D logit is relative to.

Shape shorthand (mono3d.contracts glossary): b batch, m rows (proposals or detections),
C categories incl. background, B yaw bins.

What the 3D logit is relative to (``depth_reference``):

* ``"proposal"``: the proposal box (DESIGN §4's first form). The depth target
  ``dz = log(z ph / (fy h_c))`` then carries the proposal's height jitter.
* ``"box2d"`` (default): the object's own 2D box: the matched ground-truth box when encoding
  targets, the head's refined 2D box when decoding. The target is a property of the object
  (no proposal jitter); the refinement, trained on the same boxes, supplies the box at test
  time. Needs ``refine_box2d``.
"""

from collections.abc import Sequence
from typing import Final, Literal, get_args

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from mono3d.contracts import contract

from ._angles import alpha_from_rotation_y, rotation_y_from_alpha
from ._boxes2d import clip_boxes
from ._codec3d import decode_box3d, encode_box3d
from ._delta2d import decode_box2d, encode_box2d
from ._yaw import decode_yaw, encode_yaw

#: Fast R-CNN's weights of the head's 2D refinement deltas (torchvision ``RoIHeads``)
DEFAULT_REFINE_WEIGHTS: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)
#: detections report the refined 2D box by default (else the proposal)
DEFAULT_REFINE_BOX2D: Final[bool] = True
#: what the 3D logit is encoded against
DepthReference = Literal["proposal", "box2d"]
DEPTH_REFERENCES: tuple[str, ...] = get_args(DepthReference)
DEFAULT_DEPTH_REFERENCE: Final[DepthReference] = "box2d"


@contract
def priors_tensor(
    priors: Sequence[Sequence[float | int]], device: torch.device | str | None = None
) -> Float[Tensor, "C 3"]:
    """(C, 3) float32 priors indexed by category: row 0 (background, never read) is ones,
    row k the (h, w, l) of object class k, from ``priors`` given per object class in order."""
    rows = [(1.0, 1.0, 1.0), *(tuple(float(v) for v in prior) for prior in priors)]
    if any(len(row) != 3 for row in rows):
        raise ValueError(f"priors must be (h, w, l) triples, got {list(priors)}")
    if any(not value > 0 for row in rows for value in row):
        raise ValueError(f"priors must be positive (h, w, l) metres, got {list(priors)}")
    return torch.tensor(rows, dtype=torch.float32, device=device)


class BoxCoder(nn.Module):
    """Encodes the head's targets and decodes its outputs (no learnable state).

    Keyword-only: ``priors`` (h, w, l) metres per object class in class order (class 1
    first; kept as the non-persistent buffer ``priors`` (C, 3) with a background row 0),
    ``num_bins`` (B, MultiBin yaw bins), ``refine_weights`` (wx, wy, ww, wh) of the 2D
    refinement deltas, ``refine_box2d`` (detections report the refined box; else the
    proposal) and ``depth_reference`` (see the module docstring).
    """

    priors: Tensor

    def __init__(
        self,
        *,
        priors: Sequence[Sequence[float]],
        num_bins: int,
        refine_weights: Sequence[float] = DEFAULT_REFINE_WEIGHTS,
        refine_box2d: bool = DEFAULT_REFINE_BOX2D,
        depth_reference: DepthReference = DEFAULT_DEPTH_REFERENCE,
    ) -> None:
        super().__init__()
        if num_bins < 1:
            raise ValueError(f"num_bins must be >= 1, got {num_bins}")
        weights = tuple(float(w) for w in refine_weights)
        if len(weights) != 4 or not all(w > 0 for w in weights):
            raise ValueError(f"refine_weights must be 4 positive numbers, got {refine_weights}")
        if depth_reference not in DEPTH_REFERENCES:
            raise ValueError(
                f"depth_reference must be one of {DEPTH_REFERENCES}, got {depth_reference!r}"
            )
        if depth_reference == "box2d" and not refine_box2d:
            raise ValueError(
                "depth_reference 'box2d' decodes against the refined 2D box: it needs "
                "refine_box2d (or use depth_reference 'proposal')"
            )
        self.register_buffer("priors", priors_tensor(priors), persistent=False)
        self.num_bins = int(num_bins)
        self.refine_weights: tuple[float, float, float, float] = weights  # type: ignore[assignment]
        self.refine_box2d = bool(refine_box2d)
        self.depth_reference: DepthReference = depth_reference

    @property
    def num_categories(self) -> int:
        """C: object classes + background."""
        return int(self.priors.shape[0])

    def extra_repr(self) -> str:
        return (
            f"num_categories={self.num_categories}, num_bins={self.num_bins}, "
            f"refine_weights={self.refine_weights}, refine_box2d={self.refine_box2d}, "
            f"depth_reference={self.depth_reference!r}"
        )

    def prior(self, category: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
        """(h, w, l) of each entry of ``category`` (any shape) -> (*shape, 3)."""
        return self.priors.to(dtype)[category]

    @contract
    def encode(
        self,
        box2d: Float[Tensor, "b m 4"],
        bbox3d: Float[Tensor, "b m 6"],
        rotation_y: Float[Tensor, "b m"],
        category: Int[Tensor, "b m"],
        proposals: Float[Tensor, "b m 4"],
        calib: Float[Tensor, "b 3 4"],
    ) -> tuple[
        Float[Tensor, "b m 4"], Float[Tensor, "b m 6"], Int[Tensor, "b m"], Float[Tensor, "b m"]
    ]:
        """Targets of the rows whose object is ``box2d`` (x1, y1, x2, y2 pixels), ``bbox3d``
        (x, y, z, h, w, l), ``rotation_y`` and ``category`` (1..C-1), seen through
        ``proposals`` in an image with ``calib`` (KITTI P2).

        Returns (refinement deltas (dx, dy, dw, dh) of ``box2d`` w.r.t. the proposal, 3D logit
        (du, dv, dz, dh, dw, dl), yaw bin, yaw residual in [-1, 1]). Rows that are not real
        objects (padding, background) give non-finite values: mask them.
        """
        deltas = encode_box2d(box2d, proposals, self.refine_weights)
        reference = box2d if self.depth_reference == "box2d" else proposals
        logit = encode_box3d(bbox3d, reference, self.prior(category, bbox3d.dtype), calib)
        alpha = alpha_from_rotation_y(rotation_y, bbox3d[..., 0], bbox3d[..., 2])
        yaw_bin, yaw_resi = encode_yaw(alpha, self.num_bins)
        return deltas, logit, yaw_bin, yaw_resi

    @contract
    def decode_box2d(
        self,
        bbox2d_logit: Float[Tensor, "b m 4"],
        proposals: Float[Tensor, "b m 4"],
        image_size: Int[Tensor, "b 2"] | None = None,
    ) -> Float[Tensor, "b m 4"]:
        """The reported 2D box of each row: the refined box (clipped to ``image_size`` when
        given) when ``refine_box2d``, else the proposal."""
        if not self.refine_box2d:
            return proposals
        boxes = decode_box2d(bbox2d_logit, proposals, self.refine_weights)
        return boxes if image_size is None else clip_boxes(boxes, image_size)

    @contract
    def decode(
        self,
        box2d: Float[Tensor, "b m 4"],
        bbox3d_logit: Float[Tensor, "b m 6"],
        yaw_logit: Float[Tensor, "b m B"],
        yaw_resi: Float[Tensor, "b m B"],
        category: Int[Tensor, "b m"],
        proposals: Float[Tensor, "b m 4"],
        calib: Float[Tensor, "b 3 4"],
    ) -> tuple[Float[Tensor, "b m 6"], Float[Tensor, "b m"], Float[Tensor, "b m"]]:
        """3D box (x, y, z, h, w, l), alpha and rotation_y of rows of class ``category``
        whose reported 2D box is ``box2d`` (from :meth:`decode_box2d`) and whose proposal is
        ``proposals``: the 3D logit against the coder's reference box, the yaw from the
        argmax bin plus its residual (clamped to [-1, 1])."""
        reference = box2d if self.depth_reference == "box2d" else proposals
        bbox3d = decode_box3d(bbox3d_logit, reference, self.prior(category, box2d.dtype), calib)
        yaw_bin = yaw_logit.argmax(dim=-1)
        resi = torch.gather(yaw_resi, 2, yaw_bin[..., None]).squeeze(-1)
        alpha = decode_yaw(yaw_bin, resi.clamp(-1.0, 1.0), self.num_bins)
        return bbox3d, alpha, rotation_y_from_alpha(alpha, bbox3d[..., 0], bbox3d[..., 2])
