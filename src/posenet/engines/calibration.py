"""Calibration statistics for int8 weight rounding, measured without any shipped data.

The int8 recipe (:mod:`.int8`) rounds each convolution's weights with GPTQ
(:mod:`.gptq`), which needs the second moments ``E[x xᵀ]`` of the convolution's input
windows, and corrects its bias with their means ``E[x]``. Both are measured here by
running the fp32 model on synthetic "dead leaves" images: opaque discs of random colour
with power-law radii, plus 1/f noise, which have the edge, occlusion and scale statistics
of natural photos, generated from a fixed seed. Measured on MobileNetV1 0.75 at 257 (40
COCO images, mean |heatmap logit| error against fp32): 0.135 with these moments, 0.111
with moments from the 10 shared photos, 0.39 with round-to-nearest weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from onnx import ModelProto, TensorProto, helper

CALIBRATION_IMAGES = 12
"""Synthetic images the moments are measured on."""
CALIBRATION_SIZE = 257
"""Their side, pixels (the default input size)."""
CALIBRATION_SEED = 20240229

_DISCS = 500
_NOISE_STD = 12.0  # 1/f noise added to the discs, in pixel values (0..255)


def _discs(rng: np.random.Generator, size: int) -> np.ndarray:
    """One dead-leaves image ``[size, size, 3]`` float32 in 0..255: discs painted largest
    first (so small ones lie on top), radii drawn with density proportional to r^-3 in [2, size/3]."""
    img = np.zeros((size, size, 3), np.float32)
    r_min, r_max = 2.0, size / 3.0
    u = rng.random(_DISCS)
    radii = np.sort((r_min ** -2 - u * (r_min ** -2 - r_max ** -2)) ** -0.5)[::-1]
    centres = rng.uniform(-radii[:, None], size + radii[:, None], (_DISCS, 2))
    colours = rng.uniform(0, 255, (_DISCS, 3)).astype(np.float32)
    for r, (cy, cx), colour in zip(radii, centres, colours, strict=True):
        y0, y1 = max(int(cy - r), 0), min(int(cy + r) + 1, size)
        x0, x1 = max(int(cx - r), 0), min(int(cx + r) + 1, size)
        if y0 >= y1 or x0 >= x1:
            continue
        yy = (np.arange(y0, y1, dtype=np.float32) - cy)[:, None] ** 2
        xx = (np.arange(x0, x1, dtype=np.float32) - cx)[None, :] ** 2
        img[y0:y1, x0:x1][yy + xx <= r * r] = colour
    return img


def _pink_noise(rng: np.random.Generator, size: int) -> np.ndarray:
    """Noise ``[size, size]`` with a 1/f amplitude spectrum and standard deviation 1."""
    f = np.sqrt(np.fft.fftfreq(size)[:, None] ** 2 + np.fft.fftfreq(size)[None, :] ** 2)
    spectrum = np.exp(2j * np.pi * rng.random((size, size))) / np.maximum(f, 1.0 / size)
    noise: np.ndarray = np.real(np.fft.ifft2(spectrum))
    return np.asarray(noise / noise.std(), np.float32)


def synthetic_images(count: int = CALIBRATION_IMAGES, size: int = CALIBRATION_SIZE,
                     seed: int = CALIBRATION_SEED) -> np.ndarray:
    """``count`` dead-leaves images ``[count, size, size, 3]`` float32, normalised for
    MobileNetV1 (``x / 127.5 - 1``). The same seed gives the same images everywhere."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, size, size, 3), np.float32)
    for i in range(count):
        img = _discs(rng, size) + _NOISE_STD * _pink_noise(rng, size)[..., None]
        out[i] = np.clip(img, 0, 255) / np.float32(127.5) - 1
    return out


# -------------------------------------------------------------------------- moments


def _attrs(node: Any) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _same_upper(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    """ONNX ``SAME_UPPER`` pads (begin, end) of one spatial axis."""
    total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def conv_patches(x: np.ndarray, attrs: dict[str, Any]) -> np.ndarray:
    """The input windows of an ONNX ``Conv`` over ``x`` ``[N, C, H, W]``:
    ``[N, C, Ho, Wo, kh * kw]`` (taps in the kernel's row-major order)."""
    kh, kw = (int(k) for k in attrs["kernel_shape"])
    sh, sw = (int(s) for s in attrs.get("strides", (1, 1)))
    dh, dw = (int(d) for d in attrs.get("dilations", (1, 1)))
    if "pads" in attrs:
        p = [int(v) for v in attrs["pads"]]
        (pt, pb), (pl, pr) = (p[0], p[2]), (p[1], p[3])
    else:
        (pt, pb), (pl, pr) = _same_upper(x.shape[2], kh, sh, dh), _same_upper(x.shape[3], kw, sw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    ho = (xp.shape[2] - (kh - 1) * dh - 1) // sh + 1
    wo = (xp.shape[3] - (kw - 1) * dw - 1) // sw + 1
    taps = [xp[:, :, i * dh: i * dh + (ho - 1) * sh + 1: sh, j * dw: j * dw + (wo - 1) * sw + 1: sw]
            for i in range(kh) for j in range(kw)]
    return np.stack(taps, axis=-1)


@dataclass(frozen=True)
class Moments:
    """What the rounding needs of one conv's input windows: ``second`` ``E[x xᵀ]`` and
    ``mean`` ``E[x]``; ``[C, C]`` and ``[C]`` for a 1x1 conv (the window is the channel
    vector), ``[C, k, k]`` and ``[C, k]`` (k taps) for a depthwise one."""

    second: np.ndarray
    mean: np.ndarray


def _window_sums(x: np.ndarray, attrs: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, int]:
    """Sums of ``x xᵀ`` and of ``x`` over the windows of one conv input ``[N, C, H, W]``
    (see :class:`Moments`) and how many windows; float32 sums of a few thousand terms."""
    x = np.asarray(x, np.float32)
    if int(attrs.get("group", 1)) == 1:
        if list(attrs["kernel_shape"]) != [1, 1] or int(attrs.get("strides", (1, 1))[0]) != 1:
            raise ValueError("calibration moments are defined for 1x1 stride-1 and depthwise convs only")
        flat = x.transpose(1, 0, 2, 3).reshape(x.shape[1], -1)
        return flat @ flat.T, flat.sum(axis=1), flat.shape[1]
    p = conv_patches(x, attrs)
    p = p.transpose(1, 0, 2, 3, 4).reshape(x.shape[1], -1, p.shape[-1])
    return np.matmul(p.transpose(0, 2, 1), p), p.sum(axis=1), p.shape[1]


def _probe_session(model: ModelProto, tensors: Sequence[str]) -> Any:
    """An ONNX Runtime session of ``model`` that also returns ``tensors``."""
    import onnxruntime as ort

    probe = ModelProto()
    probe.CopyFrom(model)
    known = {o.name for o in probe.graph.output}
    probe.graph.output.extend(helper.make_tensor_value_info(t, TensorProto.FLOAT, None)
                              for t in tensors if t not in known)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])


def input_moments(model: ModelProto, conv_names: Sequence[str], images: np.ndarray) -> dict[str, Moments]:
    """The :class:`Moments` of the input windows of each named ``Conv`` of ``model``,
    measured by running ``model`` (fp32, ONNX Runtime) on ``images`` ``[N, H, W, 3]``
    one at a time."""
    if not conv_names:
        return {}
    nodes = {n.name: n for n in model.graph.node if n.op_type == "Conv"}
    sources = {name: nodes[name].input[0] for name in conv_names}
    wanted = sorted(set(sources.values()))
    session = _probe_session(model, wanted)
    sums: dict[str, list[np.ndarray]] = {}
    counts = dict.fromkeys(conv_names, 0)
    for image in images:
        values = dict(zip(wanted, session.run(wanted, {"input": image[None]}), strict=True))
        for name in conv_names:
            second, first, windows = _window_sums(values[sources[name]], _attrs(nodes[name]))
            total = sums.setdefault(name, [np.zeros(second.shape), np.zeros(first.shape)])
            total[0] += second
            total[1] += first
            counts[name] += windows
    return {name: Moments(sums[name][0] / counts[name], sums[name][1] / counts[name]) for name in conv_names}


__all__ = ["CALIBRATION_IMAGES", "CALIBRATION_SIZE", "Moments", "conv_patches", "input_moments",
           "synthetic_images"]
