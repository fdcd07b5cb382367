"""GPTQ weight rounding (Frantar et al. 2022, "GPTQ: Accurate Post-Training Quantization
for Generative Pre-trained Transformers"), for the int8 convolutions of :mod:`.int8`.

The scales stay as chosen (per output channel); only the rounding changes. Each row of a
weight matrix (one output channel) is rounded one input at a time, and the rounding error
of each input is pushed onto the inputs not yet rounded through the inverse of
``H = E[x xᵀ]`` of the layer's input windows (damped by 1% of its mean diagonal), so that
the layer's output on such inputs moves as little as possible. A 1x1 convolution shares
one ``H`` (input channels) across its rows; a depthwise one has one ``H`` per channel
(its kernel taps).
"""

from __future__ import annotations

import numpy as np

DAMPING = 0.01
"""Added to ``H``'s diagonal, as a fraction of its mean diagonal."""
QMAX = 127
PAIR_MAX = 128
"""``|q[2j]| + |q[2j + 1]|`` bound of pair-limited rows (see :mod:`.int8`)."""


def inverse_cholesky(h: np.ndarray, damping: float = DAMPING) -> np.ndarray:
    """Upper triangular ``U`` with ``Uᵀ U = (H + damping·mean(diag H)·I)⁻¹``, for one
    ``H`` ``[K, K]`` or a stack ``[R, K, K]``. Inputs that were always zero (``H[i, i] = 0``)
    get a unit diagonal: they are then rounded to nearest, independently of the others."""
    h = np.array(h, dtype=np.float64, copy=True)
    k = h.shape[-1]
    idx = np.arange(k)
    diag = h[..., idx, idx]
    mean = np.mean(diag, axis=-1, keepdims=True)
    mean = np.where(mean > 0, mean, 1.0)
    h[..., idx, idx] = np.where(diag > 0, diag, 1.0) + damping * mean
    lower = np.linalg.cholesky(np.linalg.inv(h))
    return np.swapaxes(lower, -1, -2)


def gptq_round(weights: np.ndarray, scales: np.ndarray, hessian: np.ndarray, *, pair_limited: bool = False,
               damping: float = DAMPING) -> np.ndarray:
    """Integer weights ``[R, K]`` (float64 holding integers in [-127, 127]) for ``weights``
    ``[R, K]`` with per-row ``scales`` ``[R]``.

    ``hessian``: ``E[x xᵀ]`` of the inputs, ``[K, K]`` shared by all rows or ``[R, K, K]``
    one per row. ``pair_limited``: also keep ``|q[2j]| + |q[2j+1]| <= 128`` in every row.
    """
    w = np.array(weights, dtype=np.float64, copy=True)
    rows, k = w.shape
    u = inverse_cholesky(hessian, damping)
    shared = u.ndim == 2
    s = np.asarray(scales, np.float64)
    q = np.zeros_like(w)
    for i in range(k):
        limit = np.full(rows, float(QMAX))
        if pair_limited and i % 2 == 1:
            limit = np.minimum(limit, PAIR_MAX - np.abs(q[:, i - 1]))
        qi = np.clip(np.round(w[:, i] / s), -limit, limit)
        q[:, i] = qi
        if i + 1 < k:
            if shared:
                err = (w[:, i] - qi * s) / u[i, i]
                w[:, i + 1:] -= err[:, None] * u[i, i + 1:][None, :]
            else:
                err = (w[:, i] - qi * s) / u[:, i, i]
                w[:, i + 1:] -= err[:, None] * u[:, i, i + 1:]
    return q


def nearest_round(weights: np.ndarray, scales: np.ndarray, *, pair_limited: bool = False) -> np.ndarray:
    """Round-to-nearest integers ``[R, K]`` for ``weights`` ``[R, K]`` and per-row
    ``scales``, clipped to [-127, 127] (and to the pair bound when ``pair_limited``)."""
    q = np.clip(np.round(np.asarray(weights, np.float64) / np.asarray(scales, np.float64)[:, None]), -QMAX, QMAX)
    if pair_limited:
        k = q.shape[1] - q.shape[1] % 2
        even, odd = q[:, 0:k:2], q[:, 1:k:2]
        q[:, 1:k:2] = np.clip(odd, -(PAIR_MAX - np.abs(even)), PAIR_MAX - np.abs(even))
    return q


__all__ = ["DAMPING", "gptq_round", "inverse_cholesky", "nearest_round"]
