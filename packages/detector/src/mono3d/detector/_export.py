"""The detector as a module of plain tensors: what ``torch.export`` and ONNX take.

``torch.export`` and the ONNX exporter want positional tensor inputs and tensor outputs;
mono3d's checked bundles (``Images`` in, ``Detections`` out) stay inside. The traced graph
has static shapes throughout: the NMS of the proposal selection and of the post-processing
runs per (image, group) on static slices (:func:`mono3d.rpn.nms_keep_mask`), the 3D decode
unprojects in closed form (no ``torch.linalg``), and every output is padded to K.
"""

from torch import Tensor, nn

from mono3d.contracts import Images

from ._detector import Detector

#: the exported program's inputs, in order, and what each holds
EXPORT_INPUTS: tuple[tuple[str, str], ...] = (
    ("images", "float32 (b, 3, H, W) RGB in [0, 1], H and W multiples of 32"),
    ("calib", "float32 (b, 3, 4) KITTI P2 of each image, in the input image's pixels"),
    ("image_size", "int64 (b, 2) each image's real (height, width) before padding"),
)

#: the exported program's outputs, in order (the ``Detections`` fields, K per image)
EXPORT_OUTPUTS: tuple[tuple[str, str], ...] = (
    ("bbox2d", "float32 (b, K, 4) x1, y1, x2, y2 pixels"),
    ("score", "float32 (b, K) detection score, best first"),
    ("category", "int64 (b, K) class index, 1..C-1 (0 is background)"),
    ("bbox3d", "float32 (b, K, 6) x, y, z (bottom-face centre), h, w, l metres, camera frame"),
    ("yaw", "float32 (b, K) rotation_y radians"),
    ("alpha", "float32 (b, K) observation angle radians"),
    ("valid", "bool (b, K) real detections; padded rows are zero"),
)


class DetectorForExport(nn.Module):
    """``Detector.predict`` on plain tensors: (images, calib, image_size) -> the seven
    ``Detections`` fields as a tuple (order and meaning: :data:`EXPORT_INPUTS`,
    :data:`EXPORT_OUTPUTS`). Call ``.eval()`` first: the test-time proposal numbers apply."""

    def __init__(self, detector: Detector) -> None:
        super().__init__()
        self.detector = detector

    def forward(
        self, images: Tensor, calib: Tensor, image_size: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
        """images Float[b 3 h w], calib Float[b 3 4], image_size Int[b 2] -> the
        Detections fields (bbox2d, score, category, bbox3d, yaw, alpha, valid)."""
        det = self.detector.predict(Images(images=images, calib=calib, image_size=image_size))
        return det.bbox2d, det.score, det.category, det.bbox3d, det.yaw, det.alpha, det.valid
