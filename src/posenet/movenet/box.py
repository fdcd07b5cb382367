"""The box of a MoveNet pose (also the crop region the single-pose detector follows)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..serialize import finite


@dataclass(frozen=True, slots=True)
class Box:
    """pose-detection's multi-pose box: ``y_min``, ``x_min``, ``y_max``, ``x_max`` as the model
    gives them, normalised to the padded model input (the reference does not map boxes to
    image pixels); ``width``/``height`` in the same units."""

    y_min: float
    x_min: float
    y_max: float
    x_max: float

    @property
    def width(self) -> float:
        return self.x_max - self.x_min

    @property
    def height(self) -> float:
        return self.y_max - self.y_min

    def to_json(self) -> dict[str, Any]:
        """The reference's ``{yMin, xMin, yMax, xMax, width, height}``."""
        return {"yMin": finite(self.y_min), "xMin": finite(self.x_min), "yMax": finite(self.y_max),
                "xMax": finite(self.x_max), "width": finite(self.width), "height": finite(self.height)}
