"""The one decoder: the same pixels whatever the mode, and whether a file or a PIL image."""
import numpy as np
import pytest
from PIL import Image

from sbka_lite.data.decode import decode_image, to_rgb
from sbka_lite.data.errors import ImageReadError


def _sketch_array() -> np.ndarray:
    ink = np.full((32, 32), 255, dtype=np.uint8)
    ink[8:24, 15:17] = 0  # a black stroke on white
    ink[4:6, 4:28] = 90  # and a grey one: clipping a 16-bit value (90 * 257) to 8 bits would make it white
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


def test_big_endian_16_bit_grey_is_scaled_like_little_endian():
    sketch = _sketch_array().astype(np.uint16) * 257
    big = Image.frombytes("I;16B", (32, 32), sketch.astype(">u2").tobytes())
    little = Image.frombytes("I;16", (32, 32), sketch.astype("<u2").tobytes())
    np.testing.assert_array_equal(np.asarray(to_rgb(big))[..., 0], _sketch_array())
    np.testing.assert_array_equal(np.asarray(to_rgb(big)), np.asarray(to_rgb(little)))


def test_16_bit_transparent_grey_is_matched_at_full_depth(tmp_path):
    # Paper: transparent 16-bit black (0). Ink: a very dark grey (100 of 65535) that rounds to 8-bit 0;
    # matched after scaling, the ink would turn transparent too and vanish into the paper.
    grey = np.zeros((32, 32), dtype=np.uint16)
    grey[8:24, 15:17] = 100
    path = tmp_path / "sketch16_trns.png"
    Image.fromarray(grey).save(path, transparency=0)
    with Image.open(path) as handle:
        assert handle.mode.startswith("I") and handle.info.get("transparency") == 0
    pixels = np.asarray(decode_image(path))
    assert pixels[0, 0].tolist() == [255, 255, 255]  # the transparent paper is white
    assert pixels[16, 15].tolist() == [0, 0, 0]  # the ink stays ink


def test_cmyk_jpeg_decodes_to_its_rgb_colours(tmp_path):
    rgb = np.zeros((16, 32, 3), dtype=np.uint8)
    rgb[:, :16] = (200, 30, 60)
    rgb[:, 16:] = (20, 120, 220)
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(rgb).convert("CMYK").save(path, quality=95)
    with Image.open(path) as handle:
        assert handle.mode == "CMYK"
    pixels = np.asarray(decode_image(path)).astype(int)
    assert np.abs(pixels[4:12, 2:14] - rgb[4:12, 2:14]).max() <= 12  # not inverted, not swapped
    assert np.abs(pixels[4:12, 18:30] - rgb[4:12, 18:30]).max() <= 12


def test_exif_orientation_is_applied(tmp_path):
    stored = np.zeros((10, 20, 3), dtype=np.uint8)
    stored[:, :10] = (255, 0, 0)  # left half red, right half blue, as the sensor stored it
    stored[:, 10:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "phone.png"
    Image.fromarray(stored).save(path, exif=exif)
    upright = np.asarray(decode_image(path))
    np.testing.assert_array_equal(upright, np.rot90(stored, k=-1))  # 10 wide, 20 tall; red on top
    exif[0x0112] = 1
    Image.fromarray(stored).save(path, exif=exif)
    np.testing.assert_array_equal(np.asarray(decode_image(path)), stored)


def test_a_large_jpeg_is_decoded_reduced_under_the_cap(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (400, 300), (200, 30, 40)).save(path, quality=90)
    image = decode_image(path, max_pixels=40_000)  # 120,000 pixels: half scale (30,000) fits
    assert image.size == (200, 150)
    assert abs(int(np.asarray(image)[75, 100, 0]) - 200) < 8  # still the same picture
    with pytest.raises(ImageReadError, match="too large"):
        decode_image(path, max_pixels=1_000)  # even 1/8 scale (50x37) is more
