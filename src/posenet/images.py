"""Turn what users pass as an image into a uint8 RGB array ``[height, width, 3]``.

One decoder serves the library, the CLI, evaluation and the server:
:func:`decode_image` takes a path, encoded bytes, a PIL image or an array, with an
optional pixel cap (checked from the header, before anything is decompressed) and an
optional allow-list of formats.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from .errors import ImageTooLargeError, InvalidImageError
from .options import max_image_pixels

if TYPE_CHECKING:
    from PIL import Image as PILImage

ImageInput = Union[str, "os.PathLike[str]", "PILImage.Image", np.ndarray]
"""A file path, a ``PIL.Image.Image`` or a numpy array (uint8 RGB ``HxWx3``; ``HxW``
grayscale and ``HxWx4`` RGBA are converted; uint16 arrays and 16-bit images are scaled to
8 bits by 255/65535; float images are refused, since their range is unknown). OpenCV
users: convert BGR to RGB first (``frame[..., ::-1]``)."""

ImageSource = ImageInput | bytes | bytearray | memoryview
"""What :func:`decode_image` takes: an :data:`ImageInput` or encoded image bytes."""

SAFE_FORMATS: tuple[str, ...] = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF")
"""Pillow formats the server decodes from untrusted bytes (nothing exotic)."""


def is_pil_image(value: Any) -> bool:
    """Whether ``value`` is a PIL image (without importing Pillow when it is not loaded)."""
    import sys

    pil = sys.modules.get("PIL.Image")
    return pil is not None and isinstance(value, pil.Image)


def is_single_image(value: Any) -> bool:
    """Whether ``value`` is one image (a path, PIL image or array) rather than a sequence."""
    return isinstance(value, (str, os.PathLike, np.ndarray)) or is_pil_image(value)


_WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
"""Pillow modes of 16-bit (and 32-bit integer) grey images, scaled to 8 bits by 1/257."""

_FLOAT_ADVICE = ("convert it to 8 bits first, e.g. (np.clip(a, 0, 1) * 255).round().astype(np.uint8) for values "
                 "in 0..1, or (a / a.max() * 255).round().astype(np.uint8)")


def _scale_16_bit(values: np.ndarray, what: str) -> np.ndarray:
    """uint8 from 16-bit values (0..65535 -> 0..255, rounded: v / 257)."""
    if values.size and (values.min() < 0 or values.max() > 65535):
        raise InvalidImageError(f"{what} has values outside 0..65535, so its range is unknown: {_FLOAT_ADVICE}")
    return ((values.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _from_pil(image: PILImage.Image) -> np.ndarray:
    if image.mode in _WIDE_MODES:  # convert("RGB") would clip these to white
        return _scale_16_bit(np.asarray(image), f"a {image.mode} image")
    if image.mode == "F":
        raise InvalidImageError(f"a 32-bit float image (mode F) has no fixed range: {_FLOAT_ADVICE}")
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _open(source: str | os.PathLike[str] | bytes, name: str, formats: Collection[str] | None,
          max_pixels: int) -> PILImage.Image:
    from PIL import Image, UnidentifiedImageError

    target: Any = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
    if Image.MAX_IMAGE_PIXELS is not None and max_pixels > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = max_pixels  # our own check from the header replaces Pillow's
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we refuse with our own message
            if formats is not None:  # Pillow raises KeyError for a name it has no opener for (12.x: MPO)
                Image.init()
                formats = tuple(f for f in formats if f.upper() in Image.OPEN)
            return Image.open(target, formats=formats)
    except FileNotFoundError:
        parent = Path(source).parent if not isinstance(source, bytes) else None
        where = f" (no folder {parent})" if parent is not None and not parent.is_dir() else ""
        raise InvalidImageError(f"{name}: no such file{where}") from None
    except IsADirectoryError:
        raise InvalidImageError(f"{name} is a folder, not an image file") from None
    except UnidentifiedImageError:
        allowed = ", ".join(formats) if formats else "JPEG, PNG, ..."
        raise InvalidImageError(f"cannot decode {name}: not an image format this reads ({allowed})") from None
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{name} is too large to decode safely: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(f"cannot decode {name}: {_short(exc)}") from None


def decode_image(source: ImageSource, *, exif: bool = True, max_pixels: int | None = None,
                 formats: Collection[str] | None = None, name: str | None = None) -> np.ndarray:
    """uint8 RGB ``[height, width, 3]`` from a path, encoded bytes, a PIL image or an array.

    ``exif`` applies the file's EXIF orientation (off for COCO, whose annotations use the
    stored pixels); ``max_pixels`` refuses larger images (width x height, from the
    header) with :class:`~posenet.ImageTooLargeError` (default
    :func:`posenet.options.max_image_pixels`, 100 megapixels); ``formats`` limits the Pillow
    decoders tried (e.g. :data:`SAFE_FORMATS`); ``name`` is what messages call the image.
    Anything unreadable raises :class:`~posenet.InvalidImageError` naming the image.
    """
    if isinstance(source, (bytearray, memoryview)):
        source = bytes(source)
    if not isinstance(source, (bytes, str, os.PathLike)):
        return to_rgb_array(source)
    label = name or ("the image" if isinstance(source, bytes) else str(source))
    if isinstance(source, bytes) and not source:
        raise InvalidImageError(f"{label} is empty: no bytes to decode")
    from PIL import ImageOps

    limit = max_image_pixels() if max_pixels is None else max_pixels
    with _open(source, label, formats, limit) as image:
        width, height = image.size
        if width * height > limit:
            raise ImageTooLargeError(
                f"{label} is too large: {width}x{height} = {width * height} pixels, the limit is {limit} "
                "(POSENET_MAX_IMAGE_PIXELS sets it)"
            )
        if width <= 0 or height <= 0:
            raise InvalidImageError(f"{label} has no pixels ({width}x{height})")
        try:
            image.load()
        except Exception as exc:  # noqa: BLE001 - any decoder failure on a corrupt file is the file's
            raise InvalidImageError(f"cannot decode {label} ({image.format}): {_short(exc)}") from None
        oriented = image
        if exif and image.getexif().get(0x0112, 1) != 1:  # only when an orientation is set
            try:
                oriented = ImageOps.exif_transpose(image)
            except Exception:  # noqa: BLE001 - a malformed EXIF block: keep the stored orientation
                oriented = image
        try:
            return to_rgb_array(_from_pil(oriented))
        except (OSError, ValueError) as exc:
            raise InvalidImageError(f"cannot convert {label} ({image.mode}) to RGB: {_short(exc)}") from None


def read_image(path: str | os.PathLike[str], *, exif: bool = True) -> np.ndarray:
    """Decode an image file to uint8 RGB, applying its EXIF orientation unless ``exif=False``."""
    return decode_image(os.fspath(path), exif=exif)


def to_rgb_array(image: ImageInput) -> np.ndarray:
    """uint8 RGB ``[height, width, 3]`` from a path, a PIL image or a numpy array.

    Arrays are used without a copy when they are already uint8 RGB.
    """
    if isinstance(image, (str, os.PathLike)):
        array = read_image(image)
    elif isinstance(image, np.ndarray):
        array = image
    elif is_pil_image(image):
        array = _from_pil(image)
    else:
        raise InvalidImageError(
            f"unsupported image type {type(image).__name__}: pass a file path, a PIL.Image "
            "or a numpy uint8 array of shape (height, width, 3)"
        )
    if array.dtype == np.uint16:  # 16-bit images (OpenCV's IMREAD_ANYDEPTH, ...): 0..65535
        array = _scale_16_bit(array, "a uint16 image array")
    elif array.dtype != np.uint8:
        raise InvalidImageError(f"image arrays must be uint8 (0..255) or uint16 (0..65535), got {array.dtype}: "
                                + _FLOAT_ADVICE)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 4:
        array = array[:, :, :3]
    elif array.ndim == 3 and array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        raise InvalidImageError(
            f"image array has shape {array.shape}; expected (height, width, 3) RGB, "
            "(height, width) grayscale or (height, width, 4) RGBA"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidImageError(f"image is empty (shape {array.shape})")
    return array
