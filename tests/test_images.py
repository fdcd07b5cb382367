"""Image inputs: files (EXIF orientation applied), PIL images, numpy arrays."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from posenet.errors import InvalidImageError
from posenet.images import to_rgb_array


def test_exif_orientation_is_applied(tmp_path, photos_dir):
    upright = Image.open(photos_dir / "tfpose__p1.jpg").convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90 degree clockwise turn
    path = tmp_path / "rotated.jpg"
    upright.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif, quality=95)
    array = to_rgb_array(path)
    assert array.shape == (upright.height, upright.width, 3)
    assert np.abs(array.astype(int) - np.asarray(upright, int)).mean() < 6


def test_arrays_pass_through_without_a_copy():
    rgb = np.zeros((4, 5, 3), np.uint8)
    assert to_rgb_array(rgb) is rgb
    assert to_rgb_array(np.zeros((4, 5), np.uint8)).shape == (4, 5, 3)
    assert to_rgb_array(np.zeros((4, 5, 1), np.uint8)).shape == (4, 5, 3)


def test_pil_modes_are_converted():
    for mode in ("L", "RGBA", "P", "I;16", "CMYK"):
        assert to_rgb_array(Image.new(mode, (6, 4))).shape == (4, 6, 3)


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(InvalidImageError, match="folder"):
        to_rgb_array(tmp_path)


def _gray(photos_dir):
    from PIL import Image

    return np.asarray(Image.open(photos_dir / "tfpose__p1.jpg").convert("L"))


def test_16_bit_images_are_scaled_not_clipped(photos_dir, tmp_path):
    """A 16-bit grey PNG used to turn white (0 poses, silently); now it equals the 8-bit one."""
    from PIL import Image

    import posenet

    gray8 = _gray(photos_dir)
    wide = gray8.astype(np.uint16) * 257
    Image.fromarray(wide).save(tmp_path / "p1-16bit.png")
    decoded = posenet.decode_image(tmp_path / "p1-16bit.png")
    assert decoded.dtype == np.uint8 and np.array_equal(decoded[..., 0], gray8)
    assert np.array_equal(to_rgb_array(wide)[..., 1], gray8)
    net = posenet.load()
    assert len(net.estimate(tmp_path / "p1-16bit.png", "camera")) == len(net.estimate(gray8, "camera")) >= 1


def test_float_images_are_refused_with_a_correct_conversion(photos_dir, tmp_path):
    from PIL import Image

    gray = _gray(photos_dir).astype(np.float32) / 255
    with pytest.raises(InvalidImageError, match=r"\(np.clip\(a, 0, 1\) \* 255\).round\(\)"):
        to_rgb_array(gray)
    Image.fromarray(gray).save(tmp_path / "f.tiff")
    from posenet.images import decode_image

    with pytest.raises(InvalidImageError, match="no fixed range"):
        decode_image(tmp_path / "f.tiff")


def test_huge_images_are_refused_from_the_header_without_pillow_warnings(tmp_path, monkeypatch):
    import warnings

    from posenet.errors import ImageTooLargeError
    from posenet.images import decode_image

    Image.new("L", (13000, 13000)).save(tmp_path / "huge.png", optimize=True)  # ~170 Mpx, a small file
    assert (tmp_path / "huge.png").stat().st_size < 1_000_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageTooLargeError, match="13000x13000 = 169000000 pixels, the limit is 100000000"):
            decode_image(tmp_path / "huge.png")
    monkeypatch.setenv("POSENET_MAX_IMAGE_PIXELS", "1000")
    Image.new("RGB", (40, 30)).save(tmp_path / "small.png")
    with pytest.raises(ImageTooLargeError, match="limit is 1000"):
        decode_image(tmp_path / "small.png")
