"""The RoI head: multi-scale RoIAlign, two FC layers, class-specific 2D refinement,
category and yaw outputs, and a 3D branch that also reads where the proposal is in the camera.

Shape shorthand (mono3d.contracts glossary): b batch, h4/w4 the stride-4 size, c neck
channels, Nhd proposals per image, C categories incl. background, B yaw bins.
"""

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from mono3d.contracts import ContractError, HeadOutput, NeckFeatures, checks_enabled, contract
from mono3d.geometry import (
    DEFAULT_CLASSES,
    DEFAULT_NUM_BINS,
    DEFAULT_REFINE_WEIGHTS,
    decode_box2d,
)

from ._config import SOURCES, TOWERS, HeadConfig
from ._geometry import GEOMETRY_FEATURES, proposal_geometry
from ._roi_align import PyramidMaps, PyramidRoIAlign

#: whose geometry the 3D branch reads, and whose RoIAlign crop the 3D and yaw outputs read
GEOMETRY_SOURCES: tuple[str, ...] = SOURCES
POOL_3D_SOURCES: tuple[str, ...] = SOURCES
_HEAD = HeadConfig()


class RoIHead(nn.Module):
    """Pools each proposal from s2/s3/s4 and predicts, for every category:
    the 3D logit (du, dv, dz, dh, dw, dl) and the log-uncertainty of its dz, the 2D
    refinement deltas, MultiBin yaw residuals and bin logits, and the category logits.

    Pooling: :class:`PyramidRoIAlign`, torchvision's ``MultiScaleRoIAlign`` as a vectorised
    gather on the CPU (roi_size x roi_size, ``sampling_ratio``), level by the FPN rule
    floor(canonical_level + log2(sqrt(area) / canonical_scale)) clamped to the three levels:
    with the defaults (224, 4), sqrt(area) < 112 px -> s2, 112..224 -> s3, >= 224 -> s4.
    The scales are fixed (1/4, 1/8, 1/16) by the contract, so no image size is needed.

    Then flatten -> fc6 -> ReLU -> fc7 -> ReLU (``fc_dim`` each): the appearance vector,
    read by the category, 2D refinement and yaw layers. With ``geometry`` (default) the 3D
    layers read a 3D branch instead: the proposal's six intrinsics-normalised numbers
    (:func:`proposal_geometry`) through two ReLU layers of ``geometry_dim``, joined to the
    appearance vector, through one ReLU layer of ``fc_dim``; without it they read the
    appearance vector (the head before this branch existed). ``geometry_source`` says whose
    geometry: the proposal's (``proposal``) or its refined box's (``refined``: the
    proposal moved by the head's own 2D deltas averaged over the object classes with their
    softmax probabilities, no gradient, decoded with ``refine_weights``), which carries less
    of the proposal's jitter. ``pool_3d`` says whose crop the 3D, uncertainty and yaw
    outputs read: the proposal's (``proposal``) or, iterative-box-refinement style (Cascade
    R-CNN's shared-weight variant), the refined box's (``refined``: pooled again), a crop
    aligned with the object instead of one offset by the proposal's error; the category and
    the 2D deltas always read the proposal's crop. ``tower_3d`` says which fc6/fc7 that
    crop goes through: the same pair (``shared``) or a second pair of the same size
    (``separate``, as Cube R-CNN's cube head has its own FC layers), so that the 3D losses
    do not pull the vector the category and 2D refinement read. Output layers are initialised
    normal with zero bias: 3D, uncertainty, 2D refinement and yaw std 0.001, category 0.01.

    Keyword-only arguments: in_channels (the neck's c), num_classes (C; default the
    model-wide ``DEFAULT_CLASSES`` + background), num_bins (B; default the model-wide
    ``DEFAULT_NUM_BINS``), roi_size, sampling_ratio, fc_dim, canonical_scale,
    canonical_level, geometry, geometry_dim, geometry_source, pool_3d, tower_3d,
    rows_3d_inference (defaults: :class:`HeadConfig`'s), refine_weights (the coder's).
    """

    def __init__(
        self,
        *,
        in_channels: int,  # the neck's c (a build argument: the head may not import the neck)
        num_classes: int = len(DEFAULT_CLASSES) + 1,
        num_bins: int = DEFAULT_NUM_BINS,
        roi_size: int = _HEAD.roi_size,
        sampling_ratio: int = _HEAD.sampling_ratio,
        fc_dim: int = _HEAD.fc_dim,
        canonical_scale: int = _HEAD.canonical_scale,
        canonical_level: int = _HEAD.canonical_level,
        geometry: bool = _HEAD.geometry,
        geometry_dim: int = _HEAD.geometry_dim,
        geometry_source: str = _HEAD.geometry_source,
        pool_3d: str = _HEAD.pool_3d,
        tower_3d: str = _HEAD.tower_3d,
        rows_3d_inference: int | None = _HEAD.rows_3d_inference,
        refine_weights: tuple[float, float, float, float] = DEFAULT_REFINE_WEIGHTS,
    ) -> None:
        super().__init__()
        for name, value, low in (
            ("in_channels", in_channels, 1),
            ("num_classes", num_classes, 2),
            ("num_bins", num_bins, 1),
            ("roi_size", roi_size, 1),
            ("sampling_ratio", sampling_ratio, 0),
            ("fc_dim", fc_dim, 1),
            ("geometry_dim", geometry_dim, 1),
        ):
            if value < low:
                raise ValueError(f"{name}={value!r}: expected >= {low}")
        self.in_channels, self.num_classes, self.num_bins = in_channels, num_classes, num_bins
        self.roi_size, self.fc_dim = roi_size, fc_dim
        if geometry_source not in GEOMETRY_SOURCES:
            raise ValueError(
                f"geometry_source={geometry_source!r}: expected one of {GEOMETRY_SOURCES}"
            )
        if pool_3d not in POOL_3D_SOURCES:
            raise ValueError(f"pool_3d={pool_3d!r}: expected one of {POOL_3D_SOURCES}")
        if tower_3d not in TOWERS:
            raise ValueError(f"tower_3d={tower_3d!r}: expected one of {TOWERS}")
        if rows_3d_inference is not None and rows_3d_inference < 1:
            raise ValueError(f"rows_3d_inference={rows_3d_inference!r}: expected >= 1 or None")
        self.rows_3d_inference = rows_3d_inference
        self.geometry = bool(geometry)
        self.geometry_source = geometry_source
        self.pool_3d = pool_3d
        self.tower_3d = tower_3d
        wx, wy, ww, wh = (float(w) for w in refine_weights)
        self.refine_weights = (wx, wy, ww, wh)

        self.pooler = PyramidRoIAlign(
            output_size=roi_size,
            sampling_ratio=sampling_ratio,
            canonical_scale=canonical_scale,
            canonical_level=canonical_level,
        )

        self.fc6 = nn.Linear(in_channels * roi_size * roi_size, fc_dim)
        self.fc7 = nn.Linear(fc_dim, fc_dim)
        self.relu = nn.ReLU(inplace=True)
        if tower_3d == "separate":
            self.fc6_3d = nn.Linear(in_channels * roi_size * roi_size, fc_dim)
            self.fc7_3d = nn.Linear(fc_dim, fc_dim)
        if self.geometry:
            self.geometry_fc1 = nn.Linear(GEOMETRY_FEATURES, geometry_dim)
            self.geometry_fc2 = nn.Linear(geometry_dim, geometry_dim)
            self.fc3d = nn.Linear(fc_dim + geometry_dim, fc_dim)
        self.bbox3d_pred = nn.Linear(fc_dim, num_classes * 6)
        self.depth_log_sigma_pred = nn.Linear(fc_dim, num_classes)
        self.bbox2d_pred = nn.Linear(fc_dim, num_classes * 4)
        self.yaw_resi_pred = nn.Linear(fc_dim, num_classes * num_bins)
        self.yaw_logit_pred = nn.Linear(fc_dim, num_classes * num_bins)
        self.category_pred = nn.Linear(fc_dim, num_classes)
        for layer, std in (
            (self.bbox3d_pred, 0.001),
            (self.depth_log_sigma_pred, 0.001),
            (self.bbox2d_pred, 0.001),
            (self.yaw_resi_pred, 0.001),
            (self.yaw_logit_pred, 0.001),
            (self.category_pred, 0.01),
        ):
            nn.init.normal_(layer.weight, std=std)
            nn.init.zeros_(layer.bias)

    @classmethod
    def from_config(
        cls,
        cfg: HeadConfig,
        *,
        in_channels: int,
        num_classes: int,
        num_bins: int,
        refine_weights: tuple[float, float, float, float] = DEFAULT_REFINE_WEIGHTS,
    ) -> "RoIHead":
        """The head a :class:`HeadConfig` describes (every field, forwarded as is), on a neck
        with ``in_channels``, predicting ``num_classes`` categories (C, incl. background) and
        ``num_bins`` yaw bins (B), its 2D deltas read with the box coder's ``refine_weights``.
        C, B and c are build arguments: they follow the model's classes, bins and neck."""
        return cls(
            in_channels=in_channels,
            num_classes=num_classes,
            num_bins=num_bins,
            refine_weights=refine_weights,
            **dict(cfg),
        )

    @contract
    def pool(
        self, features: NeckFeatures, proposals: Float[Tensor, "b Nhd 4"]
    ) -> Float[Tensor, "b*Nhd c _ _"]:
        """RoIAlign features (b*Nhd, c, roi_size, roi_size) of the proposals (x1, y1, x2, y2)
        in padded-image pixels, image-major; each from its FPN level."""
        if checks_enabled():
            self._check(features)
        return self.pooler(self.pooler.prepare(features), proposals)

    @contract
    def forward(
        self,
        features: NeckFeatures,
        proposals: Float[Tensor, "b Nhd 4"],
        calib: Float[Tensor, "b 3 4"] | None = None,
        rows_3d: Int[Tensor, "b _"] | None = None,
    ) -> HeadOutput:
        """features: the neck's s2/s3/s4; proposals: (b, Nhd, 4) boxes (x1, y1, x2, y2) in
        pixels (padded rows may hold anything finite; their outputs are meaningless); calib:
        (b, 3, 4) KITTI P2 of each image, required with ``geometry``; rows_3d: (b, P) distinct
        row indices into Nhd (training: the rows whose 3D, uncertainty and yaw outputs a loss
        reads): with ``pool_3d: refined`` only these rows are pooled again, the other rows'
        3D and yaw outputs read the proposal's crop (shared tower) or zeros (separate), and
        ``has_3d`` marks them; None: every row in training, at inference the
        ``rows_3d_inference`` rows of highest object-class probability (every row if None).

        Returns a :class:`HeadOutput`: bbox3d_logit (b, Nhd, C, 6), yaw_resi (b, Nhd, C, B),
        yaw_logit (b, Nhd, C, B), category_logit (b, Nhd, C), bbox2d_logit (b, Nhd, C, 4),
        depth_log_sigma (b, Nhd, C), has_3d (b, Nhd) or None.
        """
        b, nhd = proposals.shape[:2]
        if checks_enabled():
            self._check(features)
        maps = self.pooler.prepare(features)
        crop = self.pooler(maps, proposals).flatten(1)
        x = self.tower(crop)
        c, nb = self.num_classes, self.num_bins
        category_logit = self.category_pred(x).view(b, nhd, c)
        bbox2d_logit = self.bbox2d_pred(x).view(b, nhd, c, 4)
        refined = proposals
        if self.geometry_source == "refined" or self.pool_3d == "refined":
            refined = self.refined_boxes(proposals, category_logit, bbox2d_logit)
        separate = self.tower_3d == "separate"
        has_3d = None
        if self.pool_3d == "refined":
            if rows_3d is None and not self.training:
                rows_3d = self.inference_rows(category_logit, proposals)
            if rows_3d is not None:
                has_3d = torch.zeros(b, nhd, dtype=torch.bool, device=proposals.device)
                has_3d = has_3d.scatter(1, rows_3d, True)
            # rows outside rows_3d keep the proposal's vector (shared) or zeros (separate):
            # no loss reads their 3D and yaw outputs
            first = torch.zeros_like(x) if separate else x
            x = self.refined_appearance(maps, refined.to(proposals.dtype), first, rows_3d)
        elif separate:
            x = self.tower(crop, three_d=True)
        x3d = x
        if self.geometry:
            if calib is None:
                raise ContractError(
                    "RoIHead.forward: calib (b, 3, 4) is required by the head's 3D branch "
                    "(geometry=True); pass the images' calib with the proposals"
                )
            boxes = refined if self.geometry_source == "refined" else proposals
            g = proposal_geometry(boxes, calib).to(x.dtype).flatten(0, 1)
            g = self.relu(self.geometry_fc2(self.relu(self.geometry_fc1(g))))
            x3d = self.relu(self.fc3d(torch.cat([x, g.to(x.dtype)], dim=1)))
        return HeadOutput(
            bbox3d_logit=self.bbox3d_pred(x3d).view(b, nhd, c, 6),
            yaw_resi=self.yaw_resi_pred(x).view(b, nhd, c, nb),
            yaw_logit=self.yaw_logit_pred(x).view(b, nhd, c, nb),
            category_logit=category_logit,
            bbox2d_logit=bbox2d_logit,
            depth_log_sigma=self.depth_log_sigma_pred(x3d).view(b, nhd, c),
            has_3d=has_3d,
        )

    def inference_rows(self, category_logit: Tensor, proposals: Tensor) -> Tensor | None:
        """(b, P) the ``rows_3d_inference`` rows of each image whose largest object-class
        softmax probability is highest (P static), rows of empty proposals (the RPN's
        padding, all zero) last; None when that is every row."""
        p = self.rows_3d_inference
        if p is None or p >= category_logit.shape[1]:
            return None
        with torch.no_grad():
            best = torch.softmax(category_logit.float(), dim=-1)[..., 1:].amax(dim=-1)
            size = proposals[..., 2:] - proposals[..., :2]
            best = torch.where((size > 0).all(dim=-1), best, torch.full_like(best, -1.0))
            return best.topk(p, dim=1).indices

    def tower(self, crop: Tensor, three_d: bool = False) -> Tensor:
        """(m, fc_dim) vectors of flattened crops (m, c*roi_size**2): fc6 -> ReLU -> fc7 ->
        ReLU; with ``three_d`` and ``tower_3d: separate`` the 3D outputs' own pair."""
        if three_d and self.tower_3d == "separate":
            return self.relu(self.fc7_3d(self.relu(self.fc6_3d(crop))))
        return self.relu(self.fc7(self.relu(self.fc6(crop))))

    def appearance(self, maps: PyramidMaps, boxes: Tensor, three_d: bool = False) -> Tensor:
        """(b*Nhd, fc_dim) appearance vectors of ``boxes`` (b, Nhd, 4): RoIAlign from the
        maps the pooler prepared, then :meth:`tower` (the 3D outputs' with ``three_d``)."""
        return self.tower(self.pooler(maps, boxes).flatten(1), three_d)

    def refined_appearance(
        self, maps: PyramidMaps, refined: Tensor, first: Tensor, rows_3d: Tensor | None
    ) -> Tensor:
        """(b*Nhd, fc_dim) appearance vectors of the ``refined`` boxes (b, Nhd, 4); with
        ``rows_3d`` (b, P) only those rows are pooled again (P static), the others keep
        ``first``, the proposals' vectors (b*Nhd, fc_dim)."""
        if rows_3d is None:
            return self.appearance(maps, refined, three_d=True)
        b, nhd = refined.shape[:2]
        if rows_3d.shape[1] == 0:
            return first
        boxes = refined.gather(1, rows_3d[..., None].expand(-1, -1, 4))
        again = self.appearance(maps, boxes, three_d=True).view(b, rows_3d.shape[1], -1)
        index = rows_3d[..., None].expand(-1, -1, again.shape[-1])
        return first.view(b, nhd, -1).scatter(1, index, again.to(first.dtype)).flatten(0, 1)

    def refined_boxes(
        self, proposals: Tensor, category_logit: Tensor, bbox2d_logit: Tensor
    ) -> Tensor:
        """(b, Nhd, 4) float32: each proposal moved by the object classes' 2D deltas averaged
        with their softmax probabilities (renormalised over the object classes), no gradient."""
        with torch.no_grad():
            weight = torch.softmax(category_logit.float(), dim=-1)[..., 1:]
            weight = weight / weight.sum(dim=-1, keepdim=True).clamp(min=1e-12)
            deltas = (weight[..., None] * bbox2d_logit[:, :, 1:].float()).sum(dim=2)
            return decode_box2d(deltas, proposals.float(), self.refine_weights)

    def _check(self, features: NeckFeatures) -> None:
        # the contract binds b across features, proposals and calib; the channel count is
        # the one thing only the module knows
        c = features.s2.shape[1]
        if c != self.in_channels:
            raise ContractError(
                f"RoIHead.forward: features: s2 has {c} channels "
                f"{tuple(features.s2.shape)}, but in_channels={self.in_channels}"
            )
