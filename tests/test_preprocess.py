"""Preprocessing facts verified against the reference (spec §3)."""

from __future__ import annotations

import numpy as np
import pytest

from posenet.jsmath import js_round
from posenet.preprocess import (
    Padding,
    compute_padding,
    normalize,
    pad_and_resize,
    resolution_from_scale_factor,
    resolve_input_resolution,
    valid_resolution,
)


def test_js_round_rounds_halves_up():
    assert [js_round(v) for v in (2.5, -2.5, -0.5, 0.49999, 80.5, 79.5)] == [3, -2, 0, 0, 81, 80]
    assert js_round(0.49999999999999994) == 0  # floor(v + 0.5) would give 1


@pytest.mark.parametrize(
    "resolution, stride, expected",
    [(256, 16, 257), (257, 16, 257), (500, 16, 497), (200, 16, 193), (1000, 16, 993), (257.5, 16, 257),
     (500, 32, 481), (350, 32, 321), (200, 32, 193), (513, 8, 513)],
)
def test_valid_resolution(resolution, stride, expected):
    assert valid_resolution(resolution, stride) == expected


def test_input_resolution_forms():
    assert resolve_input_resolution(257, 16) == (257, 257)
    assert resolve_input_resolution({"width": 640, "height": 480}, 16) == (481, 641)
    assert resolve_input_resolution((640, 480), 16) == (481, 641)
    assert resolve_input_resolution("640x480", 16) == (481, 641)
    assert resolve_input_resolution("257", 16) == (257, 257)
    with pytest.raises(ValueError, match="Should be a number"):
        resolve_input_resolution(object(), 16)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="inputResolution.width has a value of 'a'"):
        resolve_input_resolution({"width": "a", "height": 3}, 16)
    for tiny in (-5, 0, 0.5, (0, 0), 16):  # the reference would silently run these at 1x1
        with pytest.raises(ValueError, match=r"each side must be in \[17, 2049\]"):
            resolve_input_resolution(tiny, 16)
    with pytest.raises(ValueError, match="POSENET_MAX_INPUT_SIDE"):
        resolve_input_resolution(8000, 16)


def test_image_scale_factor_like_posenet_1():
    # 720 * 0.5 - 1 = 359 -> 359 - 359 % 16 + 1 = 353; 1280 * 0.5 - 1 = 639 -> 625
    assert resolution_from_scale_factor((720, 1280), 0.5, 16) == (353, 625)
    with pytest.raises(ValueError, match="image_scale_factor"):
        resolution_from_scale_factor((720, 1280), 1.5, 16)


@pytest.mark.parametrize(
    "image, target, expected",
    [((480, 641), (257, 257), Padding(81, 81, 0, 0)), ((480, 640), (257, 257), Padding(80, 80, 0, 0)),
     ((481, 640), (257, 257), Padding(80, 80, 0, 0)), ((100, 50), (257, 353), Padding(0, 0, 44, 44)),
     ((257, 257), (257, 257), Padding(0, 0, 0, 0))],
)
def test_padding(image, target, expected):
    assert compute_padding(image, target) == expected


def _resize(values, out_hw, padding=Padding(0, 0, 0, 0)):
    image = np.repeat(np.asarray(values, np.uint8)[:, :, None], 3, axis=2)
    return pad_and_resize(image, out_hw, padding)[:, :, 0]


def test_legacy_bilinear_vectors_from_tfjs():
    np.testing.assert_array_equal(
        _resize([[0, 10], [20, 30]], (3, 3)),
        np.array([[0, 6.6666665, 10], [13.333333, 20, 23.333334], [20, 26.666666, 30]], np.float32),
    )
    np.testing.assert_array_equal(_resize([[0, 10, 20, 30, 40, 50]], (1, 4)), [[0, 15, 30, 45]])
    np.testing.assert_array_equal(_resize([[0, 10], [20, 30]], (1, 1)), [[0]])


def test_padding_is_black_and_applied_before_resize():
    image = np.full((2, 4, 3), 200, np.uint8)
    padded = pad_and_resize(image, (4, 4), Padding(1, 1, 0, 0))
    np.testing.assert_array_equal(padded[:, :, 0], [[0] * 4, [200] * 4, [200] * 4, [0] * 4])
    explicit = np.pad(image, ((3, 3), (2, 2), (0, 0)))
    reference = pad_and_resize(explicit, (5, 7), Padding(0, 0, 0, 0))
    np.testing.assert_array_equal(pad_and_resize(image, (5, 7), Padding(3, 3, 2, 2)), reference)


def test_normalisation_per_architecture():
    x = np.array([[[0, 127.5, 255]]], np.float32)
    np.testing.assert_array_equal(normalize(x, "MobileNetV1"), [[[-1, 0, 1]]])
    np.testing.assert_allclose(normalize(x, "ResNet50"), [[[-123.15, 11.6, 151.94]]], rtol=1e-6)
