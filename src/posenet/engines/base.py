"""The engine interface: run a :class:`~posenet.graph.Graph` on a batch of images."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class NetworkOutputs:
    """Raw network outputs for a batch, each ``[N, Ho, Wo, C]`` float32 in model-input pixels.

    ``heatmap_logits`` (C=17) are logits (apply a sigmoid for scores); ``offsets`` (C=34)
    are ``[y_0..y_16, x_0..x_16]``; displacements (C=32) are ``[y_e0..y_e15, x_e0..x_e15]``.
    """

    heatmap_logits: np.ndarray
    offsets: np.ndarray
    displacement_fwd: np.ndarray
    displacement_bwd: np.ndarray


class Engine(Protocol):
    """Runs one network. Engines are built once per graph and are thread-safe to call."""

    name: str

    def run(self, batch: np.ndarray) -> NetworkOutputs:
        """``batch``: float32 ``[N, H, W, 3]``, already normalised for the architecture."""
        ...
