"""A jaxtyping alias for every tensor that crosses a block boundary (docs/DESIGN.md section 3).

Axis names come from the glossary in ``_dims``. ``Float`` admits every floating dtype
(float32, and bfloat16/float16 under autocast); ``Int`` every integer dtype.
"""

from jaxtyping import Bool, Float, Int
from torch import Tensor

# Images -------------------------------------------------------------------------------
#: float in [0, 1], RGB, padded bottom/right to multiples of 32
ImageTensor = Float[Tensor, "b 3 h w"]
#: KITTI P2 of each image, translation column kept
CalibTensor = Float[Tensor, "b 3 4"]
#: each image's real (height, width) in pixels, before padding
ImageSizeTensor = Int[Tensor, "b 2"]

# Ground truth (n objects per image, padded) --------------------------------------------
GtBox2d = Float[Tensor, "b n 4"]  # (x1, y1, x2, y2) pixels
GtBox3d = Float[Tensor, "b n 6"]  # (x, y, z, h, w, l), bottom-face centre, metres
GtYaw = Float[Tensor, "b n 1"]  # rotation_y in [-pi, pi)
GtCategory = Int[Tensor, "b n 1"]  # 1..C-1 (0 is background)
GtValid = Bool[Tensor, "b n"]
GtIgnore = Bool[Tensor, "b n"]  # DontCare / neighbouring class: only its 2D box counts

# Backbone (channels depend on depth) and neck -----------------------------------------
BackboneS2 = Float[Tensor, "b c2 h4 w4"]
BackboneS3 = Float[Tensor, "b c3 h4/2 w4/2"]
BackboneS4 = Float[Tensor, "b c4 h4/4 w4/4"]
NeckS2 = Float[Tensor, "b c h4 w4"]
NeckS3 = Float[Tensor, "b c h4/2 w4/2"]
NeckS4 = Float[Tensor, "b c h4/4 w4/4"]

# RPN ----------------------------------------------------------------------------------
Anchors = Float[Tensor, "b N 4"]
AnchorDeltas = Float[Tensor, "b N 4"]  # (dx, dy, dw, dh) per anchor
AnchorLogit = Float[Tensor, "b N 1"]
ProposalBox2d = Float[Tensor, "b Nhd 4"]
ProposalLogit = Float[Tensor, "b Nhd 1"]
ProposalValid = Bool[Tensor, "b Nhd"]

# Head (class-specific outputs) --------------------------------------------------------
HeadBox3dLogit = Float[Tensor, "b Nhd C 6"]
HeadYawResi = Float[Tensor, "b Nhd C B"]
HeadYawLogit = Float[Tensor, "b Nhd C B"]
HeadCategoryLogit = Float[Tensor, "b Nhd C"]
HeadBox2dLogit = Float[Tensor, "b Nhd C 4"]  # (dx, dy, dw, dh) refinement of the proposal
HeadDepthLogSigma = Float[Tensor, "b Nhd C"]  # log of the depth-logit (dz) uncertainty
HeadHas3d = Bool[Tensor, "b Nhd"]  # rows whose 3D, uncertainty and yaw outputs were computed

# Targets per anchor (gt_feature) -------------------------------------------------------
AnchorBox2d = Float[Tensor, "b N 4"]
AnchorBox3d = Float[Tensor, "b N 6"]
AnchorObject = Int[Tensor, "b N 1"]  # 1 positive, 0 negative, -1 ignored / not sampled
AnchorYaw = Float[Tensor, "b N 1"]
AnchorCategory = Int[Tensor, "b N 1"]

# Targets per proposal (gt_aligned) -----------------------------------------------------
AlignedBox2d = Float[Tensor, "b Nhd 4"]
AlignedBox3d = Float[Tensor, "b Nhd 6"]
AlignedBox3dLogit = Float[Tensor, "b Nhd 6"]
AlignedObject = Int[Tensor, "b Nhd 1"]  # 1 positive, 0 negative, -1 ignored / not sampled
AlignedYaw = Float[Tensor, "b Nhd 1"]
AlignedYawCategory = Int[Tensor, "b Nhd 1"]
AlignedYawResi = Float[Tensor, "b Nhd 1"]
AlignedCategory = Int[Tensor, "b Nhd 1"]
AlignedBox2dLogit = Float[Tensor, "b Nhd 4"]  # refinement deltas of the matched box
AlignedObject3d = Int[Tensor, "b Nhd 1"]  # object, with positives too small / far for 3D at -1

# Class-selected predictions ----------------------------------------------------------
SelectedBox3dLogit = Float[Tensor, "b Nhd 6"]
SelectedYawResi = Float[Tensor, "b Nhd 1"]
SelectedYawLogit = Float[Tensor, "b Nhd B"]
SelectedCategoryLogit = Float[Tensor, "b Nhd C"]
SelectedBox2dLogit = Float[Tensor, "b Nhd 4"]
SelectedDepthLogSigma = Float[Tensor, "b Nhd 1"]

# Losses and counts ---------------------------------------------------------------------
Scalar = Float[Tensor, ""]
Count = Int[Tensor, ""]

# Detections (K per image, padded) ------------------------------------------------------
DetBox2d = Float[Tensor, "b K 4"]
DetScore = Float[Tensor, "b K"]
DetCategory = Int[Tensor, "b K"]
DetBox3d = Float[Tensor, "b K 6"]
DetYaw = Float[Tensor, "b K"]  # rotation_y
DetAlpha = Float[Tensor, "b K"]
DetValid = Bool[Tensor, "b K"]
