"""Shared pieces of the benchmark (:mod:`bench`): paths, timing and interleaving helpers,
OpenBLAS thread control, MAC counting, machine facts and the photos."""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:
    try:
        import posenet
    except ImportError:
        sys.path.insert(0, str(REPO / "src"))
SHARED = Path(os.environ.get("POSENET_SHARED_DIR", REPO.parent / "shared")).resolve()
os.environ.setdefault("POSENET_MODEL_DIR", str(SHARED / "models" / "posenet"))

import posenet  # noqa: E402
from posenet.engines.onnx_engine import default_num_threads  # noqa: E402
from posenet.graph import Graph  # noqa: E402
from posenet.graph.analysis import padding_amounts  # noqa: E402
from posenet.images import to_rgb_array  # noqa: E402

MODEL_JSON = SHARED / "models" / "posenet" / "mobilenet" / "float" / "075" / "model-stride16.json"
PHOTOS = SHARED / "data" / "photos"
RESOLUTIONS = (257, 513, 801)
MODES = ("single", "multi")
OURS = (("onnxruntime", 1), ("onnxruntime", 2), ("numpy", 1), ("numpy", 2))
DEFAULT_OURS = f"ours/onnxruntime/t{min(default_num_threads(), 2)}"  # what posenet.load() runs here
MULTI: dict[str, Any] = {"max_detections": 5, "score_threshold": 0.5, "nms_radius": 20}  # the reference's defaults
GOALS = {"e2e_speedup_257": 4.0, "e2e_speedup_513": 3.5, "inference_over_bound": 1.3,
         "peak_rss_mb_513": 250.0, "preprocess_ms_257_720p": 2.0, "decode_single_ms": 0.5,
         "decode_multi20_ms": 3.0}

Series = dict[str, list[float]]
"""Named lists of seconds, as one contender's block returns them."""
Contender = Callable[[int], Series]
"""One contender: called with the round index, runs one block of calls."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def summary(seconds: list[float]) -> dict[str, float]:
    """Median, min, max (ms) and sample count."""
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    return {"median_ms": float(np.median(ms)), "min_ms": float(ms.min()), "max_ms": float(ms.max()),
            "n": int(ms.size)}


def fmt(s: dict[str, float]) -> str:
    return f"{s['median_ms']:.1f} ({s['min_ms']:.1f}–{s['max_ms']:.1f})"


def interleave(contenders: dict[str, Contender], rounds: int, log_label: str = "") -> dict[str, Series]:
    """Run ``contenders[name](round)`` round-robin; each returns ``{series: [seconds...]}``;
    the rotating start spreads any drift of the machine over all contenders."""
    names = list(contenders)
    out: dict[str, Series] = {n: {} for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            for series, values in contenders[name](r).items():
                out[name].setdefault(series, []).extend(values)
        if log_label:
            log(f"  {log_label}: round {r + 1}/{rounds} done")
    return out


class BlasThreads:
    """Set OpenBLAS's thread count at run time (numpy's BLAS), via its C entry point."""

    _NAMES = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
              "scipy_openblas_set_num_threads", "openblas_set_num_threads")

    def __init__(self) -> None:
        self._setter = None
        try:
            libs = {line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines()
                    if "openblas" in line.lower() and line.split()[-1].startswith("/")}
        except OSError:
            libs = set()
        for lib in sorted(libs):
            handle = ctypes.CDLL(lib)
            for name in self._NAMES:
                if hasattr(handle, name):
                    self._setter = getattr(handle, name)
                    self._setter.argtypes = [ctypes.c_int]
                    return

    @property
    def available(self) -> bool:
        return self._setter is not None

    def set(self, n: int) -> None:
        if self._setter is not None:
            self._setter(int(n))


def count_macs(graph: Graph, height: int, width: int) -> dict[str, int]:
    """Multiply-adds of one image through ``graph``: convolutions and depthwise
    convolutions (output pixels x kernel taps x input channels x output channels)."""
    shapes: dict[str, tuple[int, int, int]] = {graph.input_name: (height, width, 3)}
    macs = {"conv": 0, "depthwise": 0}
    for node in graph.nodes:
        h, w, c = shapes[node.inputs[0]]
        if node.op in ("Conv2D", "DepthwiseConv2dNative", "MaxPool"):
            kh, kw = graph.kernel_shape(node)
            ho = padding_amounts(h, kh, node.strides[0], node.dilations[0], node.padding)[2]
            wo = padding_amounts(w, kw, node.strides[1], node.dilations[1], node.padding)[2]
            if node.op == "Conv2D":
                cout = int(graph.weights[node.inputs[1]].shape[3])
                macs["conv"] += ho * wo * kh * kw * c * cout
            elif node.op == "DepthwiseConv2dNative":
                cout = c * int(graph.weights[node.inputs[1]].shape[3])
                macs["depthwise"] += ho * wo * kh * kw * cout
            else:
                cout = c
            shapes[node.name] = (ho, wo, cout)
        elif node.op == "Pad":
            p = graph.weights[node.inputs[1]]
            shapes[node.name] = (h + int(p[1].sum()), w + int(p[2].sum()), c)
        else:
            shapes[node.name] = (h, w, c)
    macs["total"] = macs["conv"] + macs["depthwise"]
    return macs


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import onnxruntime

    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "onnxruntime": onnxruntime.__version__,
            "posenet_py": getattr(posenet, "__version__", "?"), "platform": platform.platform()}


def load_photos(limit: int | None = None) -> list[tuple[str, np.ndarray]]:
    paths = sorted(p for p in PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return [(p.name, to_rgb_array(p)) for p in paths[:limit]]


def photo_block(photos: list[tuple[str, np.ndarray]], round_index: int, size: int) -> list[np.ndarray]:
    """``size`` photos, a different slice each round so that every photo gets its turn."""
    start = (round_index * size) % len(photos)
    return [photos[(start + i) % len(photos)][1] for i in range(size)]
