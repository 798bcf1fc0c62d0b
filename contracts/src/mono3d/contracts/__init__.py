"""mono3d.contracts: the typed, run-time-checked boundaries between mono3d blocks.

Public surface: the axis glossary (``AXES``), jaxtyping aliases for every tensor in
docs/DESIGN.md section 3, the checked bundles, the ``contract`` decorator and the checking switch.
"""

from . import _aliases
from ._aliases import AlignedBox2d as AlignedBox2d
from ._aliases import AlignedBox2dLogit as AlignedBox2dLogit
from ._aliases import AlignedBox3d as AlignedBox3d
from ._aliases import AlignedBox3dLogit as AlignedBox3dLogit
from ._aliases import AlignedCategory as AlignedCategory
from ._aliases import AlignedObject as AlignedObject
from ._aliases import AlignedObject3d as AlignedObject3d
from ._aliases import AlignedYaw as AlignedYaw
from ._aliases import AlignedYawCategory as AlignedYawCategory
from ._aliases import AlignedYawResi as AlignedYawResi
from ._aliases import AnchorBox2d as AnchorBox2d
from ._aliases import AnchorBox3d as AnchorBox3d
from ._aliases import AnchorCategory as AnchorCategory
from ._aliases import AnchorDeltas as AnchorDeltas
from ._aliases import AnchorLogit as AnchorLogit
from ._aliases import AnchorObject as AnchorObject
from ._aliases import Anchors as Anchors
from ._aliases import AnchorYaw as AnchorYaw
from ._aliases import BackboneS2 as BackboneS2
from ._aliases import BackboneS3 as BackboneS3
from ._aliases import BackboneS4 as BackboneS4
from ._aliases import CalibTensor as CalibTensor
from ._aliases import Count as Count
from ._aliases import DetAlpha as DetAlpha
from ._aliases import DetBox2d as DetBox2d
from ._aliases import DetBox3d as DetBox3d
from ._aliases import DetCategory as DetCategory
from ._aliases import DetScore as DetScore
from ._aliases import DetValid as DetValid
from ._aliases import DetYaw as DetYaw
from ._aliases import GtBox2d as GtBox2d
from ._aliases import GtBox3d as GtBox3d
from ._aliases import GtCategory as GtCategory
from ._aliases import GtIgnore as GtIgnore
from ._aliases import GtValid as GtValid
from ._aliases import GtYaw as GtYaw
from ._aliases import HeadBox2dLogit as HeadBox2dLogit
from ._aliases import HeadBox3dLogit as HeadBox3dLogit
from ._aliases import HeadCategoryLogit as HeadCategoryLogit
from ._aliases import HeadDepthLogSigma as HeadDepthLogSigma
from ._aliases import HeadHas3d as HeadHas3d
from ._aliases import HeadYawLogit as HeadYawLogit
from ._aliases import HeadYawResi as HeadYawResi
from ._aliases import ImageSizeTensor as ImageSizeTensor
from ._aliases import ImageTensor as ImageTensor
from ._aliases import NeckS2 as NeckS2
from ._aliases import NeckS3 as NeckS3
from ._aliases import NeckS4 as NeckS4
from ._aliases import ProposalBox2d as ProposalBox2d
from ._aliases import ProposalLogit as ProposalLogit
from ._aliases import ProposalValid as ProposalValid
from ._aliases import Scalar as Scalar
from ._aliases import SelectedBox2dLogit as SelectedBox2dLogit
from ._aliases import SelectedBox3dLogit as SelectedBox3dLogit
from ._aliases import SelectedCategoryLogit as SelectedCategoryLogit
from ._aliases import SelectedDepthLogSigma as SelectedDepthLogSigma
from ._aliases import SelectedYawLogit as SelectedYawLogit
from ._aliases import SelectedYawResi as SelectedYawResi
from ._bundle import Bundle as Bundle
from ._bundle import check_bundle as check_bundle
from ._bundle import check_same_batch as check_same_batch
from ._bundles import ALL_BUNDLES as ALL_BUNDLES
from ._bundles import Auxi as Auxi
from ._bundles import BackboneFeatures as BackboneFeatures
from ._bundles import Detections as Detections
from ._bundles import GroundTruth as GroundTruth
from ._bundles import GtAligned as GtAligned
from ._bundles import GtFeature as GtFeature
from ._bundles import HeadOutput as HeadOutput
from ._bundles import Images as Images
from ._bundles import LossOutput as LossOutput
from ._bundles import NeckFeatures as NeckFeatures
from ._bundles import RPNOutput as RPNOutput
from ._bundles import SelectedPrediction as SelectedPrediction
from ._contract import contract as contract
from ._contract import is_tracing as is_tracing
from ._dims import AXES as AXES
from ._dims import IMAGE_STRIDE as IMAGE_STRIDE
from ._errors import ContractError as ContractError
from ._switch import checks as checks
from ._switch import checks_enabled as checks_enabled
from ._switch import set_checks as set_checks
from ._version import __version__ as __version__

#: every jaxtyping alias by name
ALIASES: dict[str, object] = {
    name: value for name, value in vars(_aliases).items() if hasattr(value, "dim_str")
}

__all__ = [
    "ALL_BUNDLES",
    "AXES",
    "IMAGE_STRIDE",
    "AlignedBox2d",
    "AlignedBox2dLogit",
    "AlignedBox3d",
    "AlignedBox3dLogit",
    "AlignedCategory",
    "AlignedObject",
    "AlignedObject3d",
    "AlignedYaw",
    "AlignedYawCategory",
    "AlignedYawResi",
    "AnchorBox2d",
    "AnchorBox3d",
    "AnchorCategory",
    "AnchorDeltas",
    "AnchorLogit",
    "AnchorObject",
    "AnchorYaw",
    "Anchors",
    "Auxi",
    "BackboneFeatures",
    "BackboneS2",
    "BackboneS3",
    "BackboneS4",
    "Bundle",
    "CalibTensor",
    "ContractError",
    "Count",
    "DetAlpha",
    "DetBox2d",
    "DetBox3d",
    "DetCategory",
    "DetScore",
    "DetValid",
    "DetYaw",
    "Detections",
    "GroundTruth",
    "GtAligned",
    "GtBox2d",
    "GtBox3d",
    "GtCategory",
    "GtFeature",
    "GtIgnore",
    "GtValid",
    "GtYaw",
    "HeadBox2dLogit",
    "HeadBox3dLogit",
    "HeadCategoryLogit",
    "HeadDepthLogSigma",
    "HeadHas3d",
    "HeadOutput",
    "HeadYawLogit",
    "HeadYawResi",
    "ImageSizeTensor",
    "ImageTensor",
    "Images",
    "LossOutput",
    "NeckFeatures",
    "NeckS2",
    "NeckS3",
    "NeckS4",
    "ProposalBox2d",
    "ProposalLogit",
    "ProposalValid",
    "RPNOutput",
    "Scalar",
    "SelectedBox2dLogit",
    "SelectedBox3dLogit",
    "SelectedCategoryLogit",
    "SelectedDepthLogSigma",
    "SelectedPrediction",
    "SelectedYawLogit",
    "SelectedYawResi",
    "__version__",
    "check_bundle",
    "check_same_batch",
    "checks",
    "checks_enabled",
    "contract",
    "is_tracing",
    "set_checks",
]
