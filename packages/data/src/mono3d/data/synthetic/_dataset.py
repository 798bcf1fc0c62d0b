"""Synthetic scenes rendered on the fly as a torch ``Dataset`` (no files needed)."""

from collections.abc import Mapping, Sequence

from torch.utils.data import Dataset

from .._classes import DEFAULT_CLASSES, ClassMap
from .._dataset import Transform
from .._sample import Sample
from ._scene import SceneGenerator


class SyntheticDataset(Dataset[Sample]):
    """``num_frames`` frames of the stream ``seed`` of ``generator``, rendered when indexed
    (frame i is ``generator.scene(seed, i)``, frame id ``f"{i:06d}"``), labels mapped by
    ``classes`` / ``mapping`` as in :class:`~mono3d.data.KittiDataset`, then ``transforms``.
    """

    def __init__(
        self,
        num_frames: int,
        *,
        seed: int = 0,
        generator: SceneGenerator | None = None,
        classes: Sequence[str] = DEFAULT_CLASSES,
        mapping: Mapping[str, str] | None = None,
        transforms: Transform | None = None,
    ) -> None:
        if num_frames < 1:
            raise ValueError(f"num_frames: need at least 1, got {num_frames}")
        self.num_frames = num_frames
        self.seed = seed
        self.generator = generator or SceneGenerator()
        self.class_map = ClassMap.build(classes, mapping)
        self.transforms = transforms

    def __len__(self) -> int:
        return self.num_frames

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < self.num_frames:
            raise IndexError(f"frame {index} outside 0..{self.num_frames - 1}")
        frame = self.generator.scene(self.seed, index)
        sample = frame.to_sample(f"{index:06d}", self.class_map)
        return self.transforms(sample) if self.transforms is not None else sample
