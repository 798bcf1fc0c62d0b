"""The batched RPN reproduces torchvision's RegionProposalNetwork (same weights, anchors,
per-level top-k, clipping, small-box removal, per-image-and-level NMS and top-Nhd)."""

import pytest
import torch
from torchvision.models.detection.anchor_utils import AnchorGenerator as TorchvisionAnchors
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import RegionProposalNetwork
from torchvision.models.detection.rpn import RPNHead as TorchvisionRPNHead

from mono3d.contracts import Images, NeckFeatures
from mono3d.rpn import RPN

C = 8


def _torchvision_twin(rpn: RPN) -> RegionProposalNetwork:
    gen = rpn.anchor_generator
    head = TorchvisionRPNHead(C, rpn.num_anchors_per_location)
    with torch.no_grad():
        head.conv[0][0].weight.copy_(rpn.head.conv.weight)
        head.conv[0][0].bias.copy_(rpn.head.conv.bias)
        head.cls_logits.weight.copy_(rpn.head.objectness.weight)
        head.cls_logits.bias.copy_(rpn.head.objectness.bias)
        head.bbox_pred.weight.copy_(rpn.head.deltas.weight)
        head.bbox_pred.bias.copy_(rpn.head.deltas.bias)
    return RegionProposalNetwork(
        TorchvisionAnchors(gen.sizes, (gen.aspect_ratios,) * 3),
        head,
        fg_iou_thresh=0.7,
        bg_iou_thresh=0.3,
        batch_size_per_image=256,
        positive_fraction=0.5,
        pre_nms_top_n={"training": rpn.pre_nms_top_n_train, "testing": rpn.pre_nms_top_n_test},
        post_nms_top_n={"training": rpn.post_nms_top_n_train, "testing": rpn.post_nms_top_n_test},
        nms_thresh=rpn.nms_thresh,
    ).eval()


@pytest.mark.parametrize(
    ("b", "h", "w", "pre", "post"),
    [(2, 128, 192, 200, 100), (1, 96, 64, 1000, 300), (3, 64, 160, 50, 400)],
)
def test_matches_torchvision_region_proposal_network(b, h, w, pre, post):
    torch.manual_seed(b * h + w)
    rpn = RPN(in_channels=C, pre_nms_top_n_test=pre, post_nms_top_n_test=post).eval()
    with torch.no_grad():
        rpn.head.objectness.weight.normal_(std=1.0)
        rpn.head.deltas.weight.normal_(std=0.3)
    twin = _torchvision_twin(rpn)
    features = NeckFeatures(
        s2=torch.randn(b, C, h // 4, w // 4),
        s3=torch.randn(b, C, h // 8, w // 8),
        s4=torch.randn(b, C, h // 16, w // 16),
    )
    real = torch.stack([torch.randint(h - 31, h + 1, (b,)), torch.randint(w - 31, w + 1, (b,))], 1)
    images = Images(images=torch.rand(b, 3, h, w), calib=torch.zeros(b, 3, 4), image_size=real)
    with torch.no_grad():
        ours = rpn(features, images)
        image_list = ImageList(images.images, [tuple(s) for s in real.tolist()])
        theirs, _ = twin(image_list, {"s2": features.s2, "s3": features.s3, "s4": features.s4})
        # anchors, in the same order
        tv_anchors = twin.anchor_generator(image_list, [features.s2, features.s3, features.s4])
        tv_objectness, tv_deltas = twin.head([features.s2, features.s3, features.s4])
    torch.testing.assert_close(ours.anchors[0], tv_anchors[0])
    tv_logit = torch.cat([o.permute(0, 2, 3, 1).reshape(b, -1) for o in tv_objectness], 1)
    torch.testing.assert_close(ours.object_logit[..., 0], tv_logit)
    tv_delta = torch.cat([d.permute(0, 2, 3, 1).reshape(b, -1, 4) for d in tv_deltas], 1)
    torch.testing.assert_close(ours.bbox2d_logit, tv_delta)
    for i in range(b):
        kept = ours.bbox2d[i][ours.valid[i]]
        assert kept.shape == theirs[i].shape
        torch.testing.assert_close(kept, theirs[i], rtol=1e-5, atol=1e-4)
