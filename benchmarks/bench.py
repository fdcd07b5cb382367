"""Speed benchmark: posenet-py against the TensorFlow.js reference and a GEMM lower bound.

    python benchmarks/bench.py [--quick] [--out benchmarks/results]

One run measures, on the real photos in ``<shared>/data/photos`` with MobileNetV1 0.75
float, output stride 16, at input 257, 513 and 801:

* end to end (uint8 image array in -> poses out) for single and multi pose: this project
  through ``posenet.load(...).estimate_*`` for each engine (onnxruntime, numpy) and thread
  count (1, 2), and ``@tensorflow-models/posenet@2.2.2`` under Node.js (wasm backend; the cpu
  backend once, at 257);
* the same calls split into stages (preprocess / inference / decode), calling the stage
  functions directly in the order ``PoseNet.predict`` and ``estimate_*`` use them;
* network inference alone (``engine.run``) against the lower bound ``2 * MACs / GEMM
  FLOP/s`` (numpy sgemm and ONNX Runtime MatMul, 1024^3, 1 and 2 threads), and batching
  (per-image time at batch 1, 4 and 8);
* stage targets (preprocess a 1280x720 photo at 257, single decode, multi decode with 20
  detections) and the peak RSS of a fresh process running the default model at 513.

Contenders are interleaved round-robin (one block of calls each per round) so machine noise
hits all alike. Results: ``bench.json`` and ``bench.md`` in ``--out``. No pass/fail: the
goals are reported as met or not.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:
    try:
        import posenet  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(REPO / "src"))
SHARED = Path(os.environ.get("POSENET_SHARED_DIR", REPO.parent / "shared")).resolve()
os.environ.setdefault("POSENET_MODEL_DIR", str(SHARED / "models" / "posenet"))

import posenet  # noqa: E402
from posenet.decode_multi import decode_multiple_poses  # noqa: E402
from posenet.decode_single import decode_single_pose  # noqa: E402
from posenet.engines import create_engine  # noqa: E402
from posenet.engines.numpy_engine import padding_amounts  # noqa: E402
from posenet.engines.onnx_engine import default_num_threads  # noqa: E402
from posenet.geometry import scale_and_flip_poses  # noqa: E402
from posenet.images import to_rgb_array  # noqa: E402
from posenet.preprocess import preprocess  # noqa: E402
from posenet.tfjs_graph import Graph, read_graph_model, restride  # noqa: E402

MODEL_JSON = SHARED / "models" / "posenet" / "mobilenet" / "float" / "075" / "model-stride16.json"
PHOTOS = SHARED / "data" / "photos"
RESOLUTIONS = (257, 513, 801)
MODES = ("single", "multi")
OURS = (("onnxruntime", 1), ("onnxruntime", 2), ("numpy", 1), ("numpy", 2))
DEFAULT_OURS = f"ours/onnxruntime/t{min(default_num_threads(), 2)}"  # what posenet.load() runs here
MULTI = dict(max_detections=5, score_threshold=0.5, nms_radius=20)  # the reference's defaults
GOALS = {"e2e_speedup_257": 4.0, "e2e_speedup_513": 3.5, "inference_over_bound": 1.3,
         "peak_rss_mb_513": 250.0, "preprocess_ms_257_720p": 2.0, "decode_single_ms": 0.5,
         "decode_multi20_ms": 3.0}


# ---------------------------------------------------------------------------------------
# Helpers


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def summary(seconds: list[float]) -> dict[str, float]:
    """Median, min, max (ms) and sample count."""
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    return {"median_ms": float(np.median(ms)), "min_ms": float(ms.min()), "max_ms": float(ms.max()),
            "n": int(ms.size)}


def fmt(s: dict[str, float]) -> str:
    return f"{s['median_ms']:.1f} ({s['min_ms']:.1f}–{s['max_ms']:.1f})"


def interleave(contenders: dict[str, Callable[[int], dict[str, list[float]]]], rounds: int,
               log_label: str = "") -> dict[str, dict[str, list[float]]]:
    """Run ``contenders[name](round)`` round-robin; each returns ``{series: [seconds...]}``;
    the rotating start spreads any drift of the machine over all contenders."""
    names = list(contenders)
    out: dict[str, dict[str, list[float]]] = {n: {} for n in names}
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


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """As ``posenet.model`` computes heatmap scores."""
    return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)


# ---------------------------------------------------------------------------------------
# Sections


GEMM_N = 1024


def gemm_contenders(blas: BlasThreads, reps: int = 3) -> dict[str, Callable[[int], dict[str, list[float]]]]:
    """float32 GEMM 1024^3 with numpy (OpenBLAS) and ONNX Runtime MatMul, 1 and 2 threads."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    n = GEMM_N
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "mm",
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in "ab"],
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()

    def ort_gemm(threads: int) -> Callable[[int], dict[str, list[float]]]:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

        def run(_: int) -> dict[str, list[float]]:
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                session.run(None, {"a": a, "b": b})
                times.append(time.perf_counter() - t0)
            return {"s": times}
        return run

    def numpy_gemm(threads: int) -> Callable[[int], dict[str, list[float]]]:
        def run(_: int) -> dict[str, list[float]]:
            blas.set(threads)
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                np.matmul(a, b)
                times.append(time.perf_counter() - t0)
            blas.set(1)
            return {"s": times}
        return run

    contenders = {}
    for threads in (1, 2):
        if blas.available:
            contenders[f"gemm/numpy-sgemm/t{threads}"] = numpy_gemm(threads)
        contenders[f"gemm/ort-matmul/t{threads}"] = ort_gemm(threads)
    for fn in contenders.values():
        fn(0)  # warm-up
    return contenders


def gemm_summary(raw: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """GFLOP/s per GEMM series, and per thread count the best of numpy and ORT."""
    flop = 2.0 * GEMM_N ** 3
    result: dict[str, Any] = {"size": GEMM_N, "series": {}}
    for name, series in raw.items():
        if not name.startswith("gemm/"):
            continue
        t = np.asarray(series["s"])
        result["series"][name[5:]] = {"gflops_best": flop / t.min() / 1e9,
                                      "gflops_median": flop / np.median(t) / 1e9, "n": int(t.size)}
    for threads in (1, 2):
        entries = [v for k, v in result["series"].items() if k.endswith(f"/t{threads}")]
        result[f"t{threads}"] = {"gflops_best": max(e["gflops_best"] for e in entries),
                                 "gflops_median": max(e["gflops_median"] for e in entries)}
    return result


def bench_gemm(blas: BlasThreads, rounds: int) -> dict[str, Any]:
    """GEMM throughput on its own (the bounds use the GEMM runs interleaved with inference)."""
    return gemm_summary(interleave(gemm_contenders(blas, reps=5), rounds))


def bench_inference(graph: Graph, photos: list[tuple[str, np.ndarray]], blas: BlasThreads,
                    rounds: dict[int, int], batch_rounds: int, quick: bool) -> dict[str, Any]:
    """``engine.run`` alone at each resolution and thread count, interleaved with GEMM runs
    that give the bound under the same machine noise; then per-image time at batch 1, 4, 8."""
    from posenet.engines.onnx_engine import OnnxRuntimeEngine

    engines = {t: OnnxRuntimeEngine(graph, num_threads=t) for t in (1, 2)}
    gemms = gemm_contenders(blas)
    results: dict[str, Any] = {"single_image": [], "batching": [], "gemm": {}}
    for res in RESOLUTIONS:
        inputs = [preprocess(img, (res, res), "MobileNetV1")[0][None] for _, img in photos[:4]]
        macs = count_macs(graph, res, res)

        def runner(threads: int) -> Callable[[int], dict[str, list[float]]]:
            def run(r: int) -> dict[str, list[float]]:
                times = []
                for x in inputs:
                    t0 = time.perf_counter()
                    engines[threads].run(x)
                    times.append(time.perf_counter() - t0)
                return {"s": times}
            return run

        contenders = {f"t{t}": runner(t) for t in (1, 2)}
        for fn in contenders.values():
            fn(0)
        contenders.update(gemms)
        raw = interleave(contenders, rounds[res], f"inference {res}")
        gemm = results["gemm"][res] = gemm_summary(raw)
        for threads in (1, 2):
            s = summary(raw[f"t{threads}"]["s"])
            g = gemm[f"t{threads}"]
            bound_best = 2 * macs["total"] / (g["gflops_best"] * 1e9) * 1e3
            bound_median = 2 * macs["total"] / (g["gflops_median"] * 1e9) * 1e3
            results["single_image"].append({
                "resolution": res, "threads": threads, "macs": macs, **s,
                "gemm_gflops_best": g["gflops_best"], "gemm_gflops_median": g["gflops_median"],
                "bound_ms_best_gemm": bound_best, "bound_ms_median_gemm": bound_median,
                "ratio_median": s["median_ms"] / bound_median, "ratio_best": s["min_ms"] / bound_best,
                "achieved_gflops_best": 2 * macs["total"] / (s["min_ms"] * 1e-3) / 1e9,
            })
            log(f"  inference {res} t{threads}: {fmt(s)} ms; bound {bound_median:.1f} ms "
                f"(best {bound_best:.1f}); ratio {s['median_ms'] / bound_median:.2f} "
                f"(best {s['min_ms'] / bound_best:.2f})")

    batch_sizes = (1, 4) if quick else (1, 4, 8)
    for res in (257, 513):
        base = [preprocess(img, (res, res), "MobileNetV1")[0] for _, img in photos]
        batches = {n: np.stack([base[i % len(base)] for i in range(n)]) for n in batch_sizes}

        def batch_runner(threads: int, n: int) -> Callable[[int], dict[str, list[float]]]:
            def run(_: int) -> dict[str, list[float]]:
                reps = max(1, 8 // n)
                times = []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    engines[threads].run(batches[n])
                    times.append((time.perf_counter() - t0) / n)
                return {"s": times}
            return run

        contenders = {f"t{t}/b{n}": batch_runner(t, n) for t in (1, 2) for n in batch_sizes}
        for fn in contenders.values():
            fn(0)
        raw = interleave(contenders, batch_rounds, f"batching {res}")
        for threads in (1, 2):
            b1 = summary(raw[f"t{threads}/b1"]["s"])
            for n in batch_sizes:
                s = summary(raw[f"t{threads}/b{n}"]["s"])
                results["batching"].append({"resolution": res, "threads": threads, "batch": n,
                                            "per_image": s, "speedup_vs_batch1": b1["median_ms"] / s["median_ms"]})
    return results


class Ours:
    """One configuration of this project: the public API for end to end, and the stage
    functions called directly (same sequence as ``PoseNet.predict`` + ``estimate_*``)."""

    def __init__(self, engine: str, threads: int, res: int, blas: BlasThreads) -> None:
        self.threads = threads
        self.blas = blas
        self.model = posenet.load("MobileNetV1", output_stride=16, input_resolution=res, multiplier=0.75,
                                  quant_bytes=4, engine=engine, num_threads=threads)
        graph = restride(read_graph_model(self.model.model_path, tfjs_compat=self.model.tfjs_compat),
                         self.model.output_stride)
        self.engine = create_engine(graph, engine, threads)
        self.engine_name = engine

    def e2e(self, image: np.ndarray, mode: str) -> Any:
        if mode == "single":
            return self.model.estimate_single_pose(image)
        return self.model.estimate_multiple_poses(image, **MULTI)

    def staged(self, image: np.ndarray, mode: str) -> tuple[float, float, float]:
        """Seconds spent in preprocess, inference (network + sigmoid), decode (+ map back)."""
        t0 = time.perf_counter()
        array = to_rgb_array(image)
        size = self.model.input_resolution
        tensor, padding = preprocess(array, size, self.model.architecture)
        t1 = time.perf_counter()
        out = self.engine.run(tensor[None])
        scores = sigmoid(out.heatmap_logits)
        t2 = time.perf_counter()
        stride = self.model.output_stride
        if mode == "single":
            pose = decode_single_pose(scores[0], out.offsets[0], stride)
            scale_and_flip_poses([pose], array.shape[:2], size, padding, False)
        else:
            poses = decode_multiple_poses(scores[0], out.offsets[0], out.displacement_fwd[0],
                                          out.displacement_bwd[0], stride, MULTI["max_detections"],
                                          MULTI["score_threshold"], MULTI["nms_radius"])
            scale_and_flip_poses(poses, array.shape[:2], size, padding, False)
        t3 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2

    def block(self, images: list[np.ndarray], mode: str) -> dict[str, list[float]]:
        if self.engine_name == "numpy":
            self.blas.set(self.threads)
        out: dict[str, list[float]] = {"e2e": [], "preprocess": [], "inference": [], "decode": [], "staged_total": []}
        for image in images:
            t0 = time.perf_counter()
            self.e2e(image, mode)
            out["e2e"].append(time.perf_counter() - t0)
        for image in images:
            p, i, d = self.staged(image, mode)
            out["preprocess"].append(p)
            out["inference"].append(i)
            out["decode"].append(d)
            out["staged_total"].append(p + i + d)
        if self.engine_name == "numpy":
            self.blas.set(1)  # idle OpenBLAS threads would otherwise spin into the next contender's time
        return out


def _child_cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _node_children() -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            comm = text[text.index("(") + 1: text.rindex(")")]
            ppid = int(text.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        if ppid == os.getpid() and comm.startswith("node"):
            pids.append(int(stat.parent.name))
    return pids


def bench_end_to_end(photos: list[tuple[str, np.ndarray]], blas: BlasThreads, rounds: dict[int, int],
                     block: int, with_cpu_backend: bool) -> dict[str, Any]:
    """All contenders, interleaved, per resolution and mode."""
    sys.path.insert(0, str(REPO))
    reference_error = None
    try:
        from tests.reference import ReferenceWorker, ensure_reference_installed

        ensure_reference_installed()
    except Exception as exc:  # noqa: BLE001 - report and run without the reference
        reference_error = f"{type(exc).__name__}: {exc}"
        log(f"reference unavailable: {reference_error}")
    results: dict[str, Any] = {"configs": [], "reference_error": reference_error, "multi_options": MULTI}
    wasm = cpu = None
    if reference_error is None:
        wasm = ReferenceWorker(timeout=600)
        results["reference_versions"] = wasm.version()
        if with_cpu_backend:
            cpu = ReferenceWorker(timeout=600)
    try:
        for res in RESOLUTIONS:
            ours = {f"ours/{e}/t{t}": Ours(e, t, res, blas) for e, t in OURS}
            if wasm is not None:
                wasm.load(MODEL_JSON, "MobileNetV1", 16, res, 0.75, 4, backend="wasm")
            use_cpu = cpu is not None and res == 257
            if use_cpu:
                cpu.load(MODEL_JSON, "MobileNetV1", 16, res, 0.75, 4, backend="cpu")
            for mode in MODES:
                opts = MULTI if mode == "multi" else {}
                contenders: dict[str, Callable[[int], dict[str, list[float]]]] = {}
                for name, o in ours.items():
                    contenders[name] = (lambda r, o=o, mode=mode: o.block(photo_block(photos, r, block), mode))
                ref_cpu_seconds: list[float] = []
                if wasm is not None:
                    node_pids = _node_children()

                    def ref_block(r: int, mode: str = mode, opts: dict = opts) -> dict[str, list[float]]:
                        before = [_child_cpu_seconds(p) for p in node_pids]
                        t0 = time.perf_counter()
                        ms = [wasm.bench(img, mode, warmup=0, iterations=1, **opts)[0]
                              for img in photo_block(photos, r, block)]
                        wall = time.perf_counter() - t0
                        after = [_child_cpu_seconds(p) for p in node_pids]
                        used = sum((a or 0) - (b or 0) for a, b in zip(after, before))
                        ref_cpu_seconds.append(used / wall if wall else 0.0)
                        return {"e2e": [m / 1e3 for m in ms]}

                    contenders["reference/wasm"] = ref_block
                    wasm.bench(photos[0][1], mode, warmup=3, iterations=1, **opts)
                if use_cpu:
                    def cpu_block(r: int, mode: str = mode, opts: dict = opts) -> dict[str, list[float]]:
                        if r > 0:
                            return {}
                        return {"e2e": [cpu.bench(img, mode, warmup=0, iterations=1, **opts)[0] / 1e3
                                        for img in photo_block(photos, 0, 2)]}

                    contenders["reference/cpu"] = cpu_block
                    cpu.bench(photos[0][1], mode, warmup=1, iterations=1, **opts)
                for o in ours.values():
                    o.block([photos[0][1]], mode)  # warm-up
                raw = interleave(contenders, rounds[res], f"e2e {res} {mode}")
                entry: dict[str, Any] = {"resolution": res, "mode": mode, "contenders": {}}
                for name, series in raw.items():
                    entry["contenders"][name] = {k: summary(v) for k, v in series.items() if v}
                if ref_cpu_seconds:
                    entry["reference_wasm_cpu_utilisation"] = float(np.median(ref_cpu_seconds))
                c = entry["contenders"]
                if "reference/wasm" in c:
                    ref_med = c["reference/wasm"]["e2e"]["median_ms"]
                    entry["speedup_vs_reference_wasm"] = {
                        n: ref_med / v["e2e"]["median_ms"] for n, v in c.items() if n.startswith("ours/")}
                results["configs"].append(entry)
                line = ", ".join(f"{n} {v['e2e']['median_ms']:.1f}" for n, v in c.items())
                log(f"  e2e {res} {mode} (median ms): {line}")
    finally:
        for worker in (wasm, cpu):
            if worker is not None:
                worker.close()
    return results


def bench_stage_targets(photos: list[tuple[str, np.ndarray]], reps: int) -> dict[str, Any]:
    """Stage targets: preprocess of a 1280x720 photo at 257, single decode, multi decode
    returning 20 poses (score threshold lowered until 20 are found)."""
    by_name = dict(photos)
    wide = next((img for img in by_name.values() if img.shape[:2] == (720, 1280)), photos[0][1])

    def timed(fn: Callable[[], Any]) -> dict[str, float]:
        fn()
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return summary(times)

    out: dict[str, Any] = {"preprocess_720p_257": timed(lambda: preprocess(wide, (257, 257), "MobileNetV1")),
                           "preprocess_720p_513": timed(lambda: preprocess(wide, (513, 513), "MobileNetV1"))}
    model = posenet.load(input_resolution=513)
    crowd_name = "ultralytics__bus.jpg" if "ultralytics__bus.jpg" in by_name else photos[0][0]
    for res in (257, 513):
        o = model.predict(by_name[crowd_name], input_resolution=res)
        out[f"decode_single_{res}"] = timed(lambda o=o: decode_single_pose(o.heatmap_scores, o.offsets, 16))
    o = model.predict(by_name[crowd_name], input_resolution=513)
    threshold, found = 0.5, 0
    for threshold in (0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01):
        found = len(decode_multiple_poses(o.heatmap_scores, o.offsets, o.displacement_fwd, o.displacement_bwd,
                                          16, 20, threshold, 20))
        if found >= 20:
            break
    out["decode_multi20_513"] = timed(lambda: decode_multiple_poses(
        o.heatmap_scores, o.offsets, o.displacement_fwd, o.displacement_bwd, 16, 20, threshold, 20))
    out["decode_multi20_513"].update(detections=found, score_threshold=threshold, photo=crowd_name)
    out["decode_multi5_513_default"] = timed(lambda: decode_multiple_poses(
        o.heatmap_scores, o.offsets, o.displacement_fwd, o.displacement_bwd, 16, 5, 0.5, 20))
    return out


_MEMORY_CHILD = textwrap.dedent("""
    import json, resource, sys, time
    def rss_mb(field="VmRSS"):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    start = rss_mb()
    import numpy as np
    import posenet
    from posenet.images import to_rgb_array
    from pathlib import Path
    imported = rss_mb()
    model = posenet.load(input_resolution=513, engine=sys.argv[2])
    loaded = rss_mb()
    images = [to_rgb_array(p) for p in sorted(Path(sys.argv[1]).iterdir())
              if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    for _ in range(2):
        for image in images:
            model.estimate_single_pose(image)
            model.estimate_multiple_poses(image)
    print(json.dumps({"engine": model.engine_name, "rss_start_mb": start, "rss_after_import_mb": imported,
                      "rss_after_load_mb": loaded, "rss_end_mb": rss_mb(), "peak_rss_mb": rss_mb("VmHWM"),
                      "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "photos": len(images)}))
""")


def bench_memory() -> dict[str, Any]:
    """Peak RSS of a fresh process: import, load the default model at 513, estimate single
    and multi pose on every photo twice.

    The peak is the process's own high-water mark ``VmHWM``. ``getrusage``'s ``ru_maxrss``
    is reported too but is not used: Linux carries it over ``exec`` from the parent's
    address space (the child is vfork-ed from this large benchmark process), so it reads
    the parent's peak whenever that is higher.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    out = {}
    for engine in ("onnxruntime", "numpy"):
        proc = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(PHOTOS), engine], capture_output=True,
                              text=True, env=env, timeout=600)
        if proc.returncode != 0:
            out[engine] = {"error": proc.stderr[-2000:]}
        else:
            out[engine] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


# ---------------------------------------------------------------------------------------
# Report


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    e2e = {(c["resolution"], c["mode"]): c for c in results["end_to_end"]["configs"]}
    for res, key in ((257, "e2e_speedup_257"), (513, "e2e_speedup_513")):
        for mode in MODES:
            c = e2e.get((res, mode))
            if c and "speedup_vs_reference_wasm" in c:
                v = c["speedup_vs_reference_wasm"][DEFAULT_OURS]
                rows.append({"goal": f"end to end {res} {mode}: reference wasm / ours (default engine) ≥ {GOALS[key]}",
                             "measured": round(v, 2), "met": v >= GOALS[key]})
    for row in results["inference"]["single_image"]:
        rows.append({"goal": f"inference {row['resolution']} t{row['threads']} ≤ {GOALS['inference_over_bound']}× "
                             "GEMM bound (median / median; best / best)",
                     "measured": f"{row['ratio_median']:.2f}; {row['ratio_best']:.2f}",
                     "met": row["ratio_median"] <= GOALS["inference_over_bound"]})
    mem = results["memory"].get("onnxruntime", {})
    if "peak_rss_mb" in mem:
        rows.append({"goal": f"peak RSS default model at 513 ≤ {GOALS['peak_rss_mb_513']:.0f} MB",
                     "measured": round(mem["peak_rss_mb"], 1), "met": mem["peak_rss_mb"] <= GOALS["peak_rss_mb_513"]})
    st = results["stage_targets"]
    for key, goal, label in (("preprocess_720p_257", "preprocess_ms_257_720p", "preprocess 1280x720 → 257"),
                             ("decode_single_513", "decode_single_ms", "single decode (513)"),
                             ("decode_multi20_513", "decode_multi20_ms", "multi decode, 20 detections (513)")):
        v = st[key]["median_ms"]
        rows.append({"goal": f"{label} ≤ {GOALS[goal]} ms", "measured": round(v, 3), "met": v <= GOALS[goal]})
    return rows


def markdown(results: dict[str, Any]) -> str:
    m = results["meta"]
    lines = [f"# posenet-py benchmark ({m['date']})", "",
             f"{m['machine']['cpu']}, {m['machine']['logical_cpus']} CPUs; Python {m['machine']['python']}, "
             f"numpy {m['machine']['numpy']}, onnxruntime {m['machine']['onnxruntime']}. "
             f"Load average at start {m['loadavg_start']}, at end {m['loadavg_end']}. "
             f"{'quick run' if m['quick'] else 'full run'}, {m['seconds']:.0f} s.", "",
             "Model: MobileNetV1 0.75 float, output stride 16. Times in ms: median (min–max). "
             "Contenders interleaved round-robin.", ""]
    e2e = results["end_to_end"]
    names = sorted({n for c in e2e["configs"] for n in c["contenders"]},
                   key=lambda n: (not n.startswith("reference"), n))
    if e2e.get("reference_versions"):
        v = e2e["reference_versions"]
        lines += [f"Reference: @tensorflow-models/posenet {v.get('posenet')} on tfjs-core {v.get('tfjs_core')}, "
                  f"Node.js {v.get('node')}; wasm backend (cpu backend at 257 only, 2 calls). "
                  f"Multi-pose options {e2e['multi_options']}.", ""]
    elif e2e.get("reference_error"):
        lines += [f"Reference not run: {e2e['reference_error']}", ""]
    lines += ["## End to end (uint8 image → poses)", "",
              "| input | mode | " + " | ".join(names) + " | reference wasm / default ours |",
              "|---|---|" + "---|" * len(names) + "---|"]
    for c in e2e["configs"]:
        cells = [fmt(c["contenders"][n]["e2e"]) if n in c["contenders"] and "e2e" in c["contenders"][n] else "–"
                 for n in names]
        ratio = c.get("speedup_vs_reference_wasm", {}).get(DEFAULT_OURS)
        lines.append(f"| {c['resolution']} | {c['mode']} | " + " | ".join(cells)
                     + f" | {'%.2f×' % ratio if ratio else '–'} |")
    lines += ["", "Speed-up over the reference (wasm), per configuration of ours:", "",
              "| input | mode | " + " | ".join(n for n in names if n.startswith("ours")) + " |",
              "|---|---|" + "---|" * sum(n.startswith("ours") for n in names)]
    for c in e2e["configs"]:
        s = c.get("speedup_vs_reference_wasm", {})
        lines.append(f"| {c['resolution']} | {c['mode']} | "
                     + " | ".join(f"{s[n]:.2f}×" if n in s else "–" for n in names if n.startswith("ours")) + " |")
    util = [f"{c['resolution']} {c['mode']}: {c['reference_wasm_cpu_utilisation']:.2f}"
            for c in e2e["configs"] if "reference_wasm_cpu_utilisation" in c]
    if util:
        lines += ["", "Reference worker CPU use (cores busy while it runs, median): " + "; ".join(util)]
    lines += ["", "## Stages (called directly, same sequence as the API)", "",
              "| input | mode | ours | preprocess | inference (+sigmoid) | decode (+map back) | sum | API end to end |",
              "|---|---|---|---|---|---|---|---|"]
    for c in e2e["configs"]:
        for n, v in c["contenders"].items():
            if n.startswith("ours") and "preprocess" in v:
                lines.append(f"| {c['resolution']} | {c['mode']} | {n[5:]} | {v['preprocess']['median_ms']:.2f} | "
                             f"{v['inference']['median_ms']:.2f} | {v['decode']['median_ms']:.2f} | "
                             f"{v['staged_total']['median_ms']:.2f} | {v['e2e']['median_ms']:.2f} |")
    g = results["gemm"]
    lines += ["", "## Inference against the GEMM lower bound", "",
              "GEMM 1024³ float32 on its own (GFLOP/s, best / median): " + "; ".join(
                  f"{k} {v['gflops_best']:.0f} / {v['gflops_median']:.0f}" for k, v in g["series"].items()),
              "", "Bound = 2 × MACs / GEMM throughput at the same thread count (best of numpy and ORT), "
              "GEMM measured in the same interleaved rounds as the inference it bounds.", "",
              "| input | threads | GMAC (conv + depthwise) | inference | GEMM GFLOP/s median / best | "
              "bound (median GEMM) | ratio median | bound (best GEMM) | ratio best | GFLOP/s achieved (best) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results["inference"]["single_image"]:
        lines.append(f"| {r['resolution']} | {r['threads']} | {r['macs']['total'] / 1e9:.3f} "
                     f"({r['macs']['conv'] / 1e9:.3f} + {r['macs']['depthwise'] / 1e9:.3f}) | {fmt(r)} | "
                     f"{r['gemm_gflops_median']:.0f} / {r['gemm_gflops_best']:.0f} | {r['bound_ms_median_gemm']:.1f} | {r['ratio_median']:.2f} | {r['bound_ms_best_gemm']:.1f} | "
                     f"{r['ratio_best']:.2f} | {r['achieved_gflops_best']:.0f} |")
    lines += ["", "## Batching (ms per image)", "", "| input | threads | batch | per image | speed-up vs batch 1 |",
              "|---|---|---|---|---|"]
    for r in results["inference"]["batching"]:
        lines.append(f"| {r['resolution']} | {r['threads']} | {r['batch']} | {fmt(r['per_image'])} | "
                     f"{r['speedup_vs_batch1']:.2f}× |")
    st = results["stage_targets"]
    lines += ["", "## Stage targets", "", "| stage | median (min–max) ms |", "|---|---|"]
    for k, v in st.items():
        extra = f" ({v['detections']} detections, score_threshold {v['score_threshold']}, {v['photo']})" \
            if "detections" in v else ""
        lines.append(f"| {k}{extra} | {fmt(v) if v['median_ms'] >= 0.1 else '%.3f (%.3f–%.3f)' % (v['median_ms'], v['min_ms'], v['max_ms'])} |")
    lines += ["", "## Peak memory (fresh process, default model at 513, every photo twice single + multi)", "",
              "Peak = the child's own high-water mark (VmHWM); ru_maxrss is shown for reference only: Linux "
              "carries it over exec from the (much larger) parent benchmark process.", "",
              "| engine | RSS after import | after load | peak (VmHWM) | ru_maxrss |", "|---|---|---|---|---|"]
    for engine, v in results["memory"].items():
        if "peak_rss_mb" in v:
            lines.append(f"| {engine} | {v['rss_after_import_mb']:.0f} MB | {v['rss_after_load_mb']:.0f} MB | "
                         f"{v['peak_rss_mb']:.0f} MB | {v['ru_maxrss_mb']:.0f} MB |")
        else:
            lines.append(f"| {engine} | error | | | |")
    lines += ["", "## Goals", "", "| goal | measured | met |", "|---|---|---|"]
    for row in results["goals"]:
        lines.append(f"| {row['goal']} | {row['measured']} | {'yes' if row['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, no cpu-backend reference (~2 min)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    started = time.time()
    quick = args.quick
    blas = BlasThreads()
    blas.set(1)
    if not blas.available:
        log("cannot set OpenBLAS threads at run time: numpy contenders use its default")
    photos = load_photos()
    graph = read_graph_model(MODEL_JSON)
    results: dict[str, Any] = {"meta": {
        "date": _dt.datetime.now().isoformat(timespec="seconds"), "quick": quick, "machine": machine_info(),
        "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()), "photos": [n for n, _ in photos],
        "blas_threads_control": blas.available, "model": str(MODEL_JSON.relative_to(SHARED)),
        "default_engine": posenet.load(input_resolution=257).engine_name,
    }}
    log("GEMM throughput")
    results["gemm"] = bench_gemm(blas, rounds=3 if quick else 8)
    log("inference")
    results["inference"] = bench_inference(
        graph, photos, blas, rounds={257: 4, 513: 2, 801: 1} if quick else {257: 30, 513: 12, 801: 6},
        batch_rounds=2 if quick else 5, quick=quick)
    log("end to end")
    results["end_to_end"] = bench_end_to_end(
        photos, blas, rounds={257: 2, 513: 1, 801: 1} if quick else {257: 8, 513: 5, 801: 2},
        block=3 if quick else 5, with_cpu_backend=not quick)
    log("stage targets")
    results["stage_targets"] = bench_stage_targets(photos, reps=20 if quick else 100)
    log("peak memory")
    results["memory"] = bench_memory()
    results["goals"] = goals(results)
    results["meta"]["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results["meta"]["seconds"] = time.time() - started
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    report = markdown(results)
    (args.out / "bench.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
