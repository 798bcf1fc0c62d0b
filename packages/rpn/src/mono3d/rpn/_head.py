"""The RPN head: a shared 3x3 conv, then 1x1 convs for objectness and box deltas.

Shape shorthand: b batch, N anchors per image (all levels), A anchors per location.
"""

import torch
from jaxtyping import Float
from torch import Tensor, nn

from mono3d.contracts import NeckFeatures, contract


class RPNHead(nn.Module):
    """Shared over the levels s2, s3, s4: conv3x3 + ReLU, then a 1x1 conv to A objectness
    logits and a 1x1 conv to 4A deltas (dx, dy, dw, dh) per location. Every conv is
    initialised normal(std=0.01) with zero bias (torchvision).

    Keyword-only arguments: in_channels (the neck's c), num_anchors (A).
    """

    def __init__(self, *, in_channels: int, num_anchors: int) -> None:
        super().__init__()
        self.in_channels, self.num_anchors = in_channels, num_anchors
        self.conv = nn.Conv2d(in_channels, in_channels, kernel_size=3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.objectness = nn.Conv2d(in_channels, num_anchors, kernel_size=1)
        self.deltas = nn.Conv2d(in_channels, 4 * num_anchors, kernel_size=1)
        for layer in (self.conv, self.objectness, self.deltas):
            nn.init.normal_(layer.weight, std=0.01)
            assert layer.bias is not None
            nn.init.zeros_(layer.bias)

    @contract
    def forward(
        self, features: NeckFeatures
    ) -> tuple[Float[Tensor, "b N 1"], Float[Tensor, "b N 4"]]:
        """(object_logit (b, N, 1), bbox2d_logit (b, N, 4)), anchors ordered level-major,
        then (y, x, anchor) — the order of :class:`AnchorGenerator`."""
        logits, deltas = [], []
        for level in (features.s2, features.s3, features.s4):
            hidden = self.relu(self.conv(level))
            b = level.shape[0]
            # (b, A, h, w) -> (b, h, w, A) -> (b, h*w*A, 1); free for channels_last maps
            logits.append(self.objectness(hidden).permute(0, 2, 3, 1).reshape(b, -1, 1))
            # channel a*4 + k is coordinate k of anchor a (torchvision's layout)
            deltas.append(self.deltas(hidden).permute(0, 2, 3, 1).reshape(b, -1, 4))
        return torch.cat(logits, dim=1), torch.cat(deltas, dim=1)
