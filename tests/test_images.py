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
