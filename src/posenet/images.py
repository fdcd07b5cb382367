"""Turn what users pass as an image into a uint8 RGB array ``[height, width, 3]``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

from .errors import InvalidImageError

if TYPE_CHECKING:
    from PIL import Image as PILImage

ImageInput = Union[str, "os.PathLike[str]", "PILImage.Image", np.ndarray]
"""A file path, a ``PIL.Image.Image`` or a numpy array (uint8 RGB ``HxWx3``; ``HxW``
grayscale and ``HxWx4`` RGBA are converted). OpenCV users: convert BGR to RGB first
(``frame[..., ::-1]``)."""


def _from_pil(image: "PILImage.Image") -> np.ndarray:
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image)


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode an image file to uint8 RGB, applying its EXIF orientation."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            return _from_pil(image)
    except FileNotFoundError:
        raise InvalidImageError(f"image file not found: {path}") from None
    except IsADirectoryError:
        raise InvalidImageError(f"{path} is a folder, not an image file") from None
    except UnidentifiedImageError:
        raise InvalidImageError(f"cannot decode {path}: not an image format Pillow reads (JPEG, PNG, ...)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(f"cannot decode {path}: {exc} (is the file truncated or corrupt?)") from None
    except Image.DecompressionBombError as exc:
        raise InvalidImageError(f"{path} is too large to decode safely: {exc}") from None


def to_rgb_array(image: ImageInput) -> np.ndarray:
    """uint8 RGB ``[height, width, 3]`` from a path, a PIL image or a numpy array.

    Arrays are used without a copy when they are already uint8 RGB.
    """
    if isinstance(image, (str, os.PathLike)):
        array = read_image(image)
    elif isinstance(image, np.ndarray):
        array = image
    elif hasattr(image, "mode") and hasattr(image, "convert"):
        array = _from_pil(image)  # type: ignore[arg-type]
    else:
        raise InvalidImageError(
            f"unsupported image type {type(image).__name__}: pass a file path, a PIL.Image "
            "or a numpy uint8 array of shape (height, width, 3)"
        )
    if array.dtype != np.uint8:
        raise InvalidImageError(
            f"image arrays must be uint8 (0..255), got {array.dtype}: convert with "
            "np.clip(a, 0, 255).astype(np.uint8)"
        )
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
