"""A FrozenBatchNorm2d that keeps the input's dtype and memory format."""

import torch
from torch import Tensor
from torchvision.ops import FrozenBatchNorm2d as _TorchvisionFrozenBatchNorm2d


class FrozenBatchNorm2d(_TorchvisionFrozenBatchNorm2d):
    """torchvision's FrozenBatchNorm2d (same buffers, same state_dict keys) with a cheaper,
    dtype-preserving forward.

    The affine map is computed in float32 from the fixed statistics, then cast to the input's
    dtype, so a bfloat16 activation under autocast stays bfloat16 (torchvision's version
    promotes it to float32, doubling the memory traffic of every following layer). One fused
    ``addcmul`` keeps a channels_last input channels_last.
    """

    def forward(self, x: Tensor) -> Tensor:
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        shape = (1, -1, 1, 1)
        return torch.addcmul(shift.to(x.dtype).view(shape), x, scale.to(x.dtype).view(shape))
