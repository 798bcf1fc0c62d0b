"""The axis glossary: every dimension name a mono3d contract may use.

Shape shorthand (used in every jaxtyping string and every docstring of mono3d):

    b      batch: images in the batch
    h, w   padded image height and width in pixels (multiples of 32)
    h4, w4 the stride-4 feature size (h/4, w/4); h4/2 is stride 8 and h4/4 stride 16
    c      feature channels of a neck level (256 by default)
    c2..c4 backbone channels at strides 4, 8, 16 (ResNet50: 256, 512, 1024)
    n      ground-truth objects per image, padded to the batch's largest count
    N      anchors per image, all pyramid levels concatenated
    Nhd    proposals per image sent to the head, padded
    C      categories including background (index 0)
    B      MultiBin yaw bins
    K      detections per image, padded

Units and frames are stated where a type cannot say them: pixels for 2D boxes and
``image_size`` (h, w); metres in the KITTI rectified camera frame (x right, y down,
z forward) for 3D boxes; radians for angles.
"""

from typing import Final

AXES: Final[dict[str, str]] = {
    "b": "batch",
    "h": "padded image height (pixels, multiple of 32)",
    "w": "padded image width (pixels, multiple of 32)",
    "h4": "stride-4 feature height",
    "w4": "stride-4 feature width",
    "c": "neck channels",
    "c2": "backbone channels at stride 4",
    "c3": "backbone channels at stride 8",
    "c4": "backbone channels at stride 16",
    "n": "ground-truth objects per image (padded)",
    "N": "anchors per image",
    "Nhd": "proposals per image sent to the head (padded)",
    "C": "categories including background",
    "B": "yaw bins",
    "K": "detections per image (padded)",
}

#: Images and feature maps must have a height and width divisible by this stride.
IMAGE_STRIDE: Final[int] = 32
