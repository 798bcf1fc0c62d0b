"""Images: 8- and 16-bit PNGs scaled to [0, 1], a size limit checked before decoding, and
any file that does not decode a one-line ``KittiFormatError`` naming it (fuzzed)."""

import io
import pathlib
import tempfile

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mono3d.data import DataConfig, KittiDataset, KittiFormatError, read_image
from mono3d.data.synthetic import SceneGenerator


def _png(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    (Image.fromarray(array, mode) if mode else Image.fromarray(array)).save(buffer, "PNG")
    return buffer.getvalue()


def test_16_bit_greyscale_is_scaled_by_65535(tmp_path):
    values = np.array([[0, 1000, 32768], [65535, 255, 4096]], dtype=np.uint16)
    path = tmp_path / "grey16.png"
    path.write_bytes(_png(values))
    with Image.open(path) as image:
        assert image.mode.startswith("I")  # a 16-bit PNG, not converted on save
    pixels = read_image(path)
    assert pixels.shape == (3, 2, 3) and pixels.dtype == torch.float32
    expected = torch.from_numpy(values.astype(np.float32) / np.float32(65535.0))
    for channel in pixels:
        assert torch.equal(channel, expected)  # not all white, as convert("RGB") made them


def test_8_bit_modes_are_scaled_by_255(tmp_path):
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    (tmp_path / "rgb.png").write_bytes(_png(rgb))
    expected = torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float32) / 255)
    assert torch.equal(read_image(tmp_path / "rgb.png"), expected)
    grey = np.array([[0, 128, 255]], dtype=np.uint8)
    (tmp_path / "grey.png").write_bytes(_png(grey))
    assert read_image(tmp_path / "grey.png")[:, 0, 2].tolist() == [1.0, 1.0, 1.0]


def test_32_bit_images_are_refused(tmp_path):
    path = tmp_path / "float.tiff"
    Image.fromarray(np.ones((2, 2), dtype=np.float32), "F").save(path)
    with pytest.raises(KittiFormatError, match=r"float\.tiff: unsupported pixel format F"):
        read_image(path)


def test_an_image_over_the_size_limit_is_refused_before_decoding(tmp_path, wide_png):
    path = tmp_path / "huge.png"
    path.write_bytes(wide_png(12000, 4000))  # 48 Mpixel: 576 MB as float32 RGB
    default = DataConfig.model_fields["max_image_pixels"].default
    assert 12000 * 4000 > default
    with pytest.raises(KittiFormatError, match=r"huge\.png: image is 12000x4000 = 48000000 pixels"):
        read_image(path)
    small = tmp_path / "small.png"
    small.write_bytes(wide_png(64, 32))
    assert read_image(small, max_pixels=64 * 32).shape == (3, 32, 64)
    with pytest.raises(KittiFormatError, match="more than the limit of 2047"):
        read_image(small, max_pixels=2047)


def test_the_dataset_takes_the_limit_from_its_config(tmp_path):
    SceneGenerator(image_size=(32, 64), max_objects=1).write_dataset(tmp_path, 1)
    config = DataConfig(root=str(tmp_path), augment=None, max_image_pixels=1000)
    dataset = KittiDataset.from_config(config)
    with pytest.raises(KittiFormatError, match=r"000000\.png: image is 64x32 = 2048 pixels"):
        dataset[0]
    assert KittiDataset(tmp_path)[0].image.shape == (3, 32, 64)


@pytest.mark.parametrize("share", [0.0, 0.01, 0.05, 0.5, 0.97])
def test_truncated_or_corrupt_png_is_one_line_naming_the_file(tmp_path, share):
    data = _png(np.random.default_rng(3).integers(0, 255, (32, 32, 3), dtype=np.uint8))
    path = tmp_path / "000003.png"
    path.write_bytes(data[: int(share * len(data))])
    with pytest.raises(KittiFormatError) as caught:
        read_image(path)
    assert caught.value.path == str(path) and "\n" not in str(caught.value)


_GOOD = _png(np.random.default_rng(0).integers(0, 255, (8, 12, 3), dtype=np.uint8))
_GOOD16 = _png(np.random.default_rng(1).integers(0, 65535, (8, 12), dtype=np.uint16))


@st.composite
def mutated_images(draw):
    """Random bytes, or a valid 8/16-bit PNG truncated, with bytes flipped or spliced."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=200))
    data = bytearray(draw(st.sampled_from([_GOOD, _GOOD16])))
    for _ in range(draw(st.integers(0, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@settings(max_examples=200)
@given(data=mutated_images())
def test_fuzzed_images_decode_to_unit_range_or_raise_the_named_error(data):
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "000000.png"
        path.write_bytes(data)
        try:
            pixels = read_image(path)
        except KittiFormatError as error:
            assert error.path == str(path) and "\n" not in str(error)
        else:
            assert pixels.dtype == torch.float32 and pixels.shape[0] == 3
            assert torch.isfinite(pixels).all() and pixels.min() >= 0 and pixels.max() <= 1
