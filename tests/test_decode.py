"""The one decoder: the same pixels whatever the mode, and whether a file or a PIL image."""
import numpy as np
import pytest
from PIL import Image

from sbka_lite.data.decode import decode_image, to_rgb
from sbka_lite.data.errors import ImageReadError


def _sketch_array() -> np.ndarray:
    ink = np.full((32, 32), 255, dtype=np.uint8)
    ink[8:24, 15:17] = 0  # a black stroke on white
    return ink


def test_16_bit_greyscale_keeps_its_values(tmp_path):
    path = tmp_path / "sketch16.png"
    Image.fromarray(_sketch_array().astype(np.uint16) * 257).save(path)  # 0..65535
    assert Image.open(path).mode.startswith("I")
    pixels = np.asarray(decode_image(path))
    assert pixels.shape == (32, 32, 3)
    assert pixels[16, 15].tolist() == [0, 0, 0] and pixels[0, 0].tolist() == [255, 255, 255]
    np.testing.assert_array_equal(pixels[..., 0], _sketch_array())


def test_transparent_grey_colour_is_white_paper_from_a_path_and_from_pil(tmp_path):
    grey = _sketch_array().copy()
    grey[grey == 255] = 0  # paper drawn as transparent black, ink as grey 0 -> make ink distinct
    grey[8:24, 15:17] = 60
    path = tmp_path / "transparent.png"
    Image.fromarray(grey, mode="L").save(path, transparency=0)
    from_file = np.asarray(decode_image(path))
    with Image.open(path) as handle:
        from_pil = np.asarray(to_rgb(handle))
    np.testing.assert_array_equal(from_file, from_pil)
    assert from_file[0, 0].tolist() == [255, 255, 255]  # the transparent colour is paper, not black
    assert from_file[16, 15].tolist() == [60, 60, 60]


def test_too_many_pixels_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (300, 200), "white").save(path)
    with pytest.raises(ImageReadError, match="too large: 300x200"):
        decode_image(path, max_pixels=10_000)
    assert decode_image(path, max_pixels=60_000).size == (300, 200)
