"""Optional extras: one message for a missing one, naming the package and the install."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import PoseNetError

EXTRAS: dict[str, tuple[str, ...]] = {
    "video": ("cv2", "av", "tqdm"),
    "eval": ("pycocotools", "tqdm"),
    "server": ("fastapi", "uvicorn", "python_multipart", "websockets"),
    "ray": ("ray",),
}
"""The modules each extra of ``pyproject.toml`` brings."""


class MissingExtraError(PoseNetError, ImportError):
    """An optional extra is not installed."""


def require(extra: str, feature: str) -> None:
    """Raise :class:`MissingExtraError` unless every module of ``extra`` imports."""
    for name in EXTRAS[extra]:
        try:
            importlib.import_module(name)
        except ImportError:
            raise MissingExtraError(
                f"{feature} needs the {extra} extra ({name} is missing): pip install 'posenet-py[{extra}]'"
            ) from None


def import_extra(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` after checking ``extra`` (see :func:`require`)."""
    require(extra, feature)
    return importlib.import_module(module)
