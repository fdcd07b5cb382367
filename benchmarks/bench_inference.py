"""Network inference alone (``engine.run``) against the GEMM lower bound, and batching."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench_common import RESOLUTIONS, BlasThreads, Contender, Series, count_macs, fmt, interleave, log, summary
from posenet.engines.onnx_engine import OnnxRuntimeEngine
from posenet.graph import Graph
from posenet.preprocess import preprocess

GEMM_N = 1024


def _timed_reps(fn: Callable[[], object], reps: int, per: int = 1) -> Series:
    """``{"s": [seconds of each of reps calls of fn(), divided by per]}``."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) / per)
    return {"s": times}


def gemm_contenders(blas: BlasThreads, reps: int = 3) -> dict[str, Contender]:
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

    def ort_gemm(threads: int) -> Contender:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        return lambda _: _timed_reps(lambda: session.run(None, {"a": a, "b": b}), reps)

    def numpy_gemm(threads: int) -> Contender:
        def run(_: int) -> Series:
            blas.set(threads)
            times = _timed_reps(lambda: np.matmul(a, b), reps)
            blas.set(1)
            return times
        return run

    contenders = {}
    for threads in (1, 2):
        if blas.available:
            contenders[f"gemm/numpy-sgemm/t{threads}"] = numpy_gemm(threads)
        contenders[f"gemm/ort-matmul/t{threads}"] = ort_gemm(threads)
    for fn in contenders.values():
        fn(0)  # warm-up
    return contenders


def gemm_summary(raw: dict[str, Series]) -> dict[str, Any]:
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


def _bound_row(res: int, threads: int, macs: dict[str, int], s: dict[str, float],
               g: dict[str, float]) -> dict[str, Any]:
    """One inference row: the time, the GEMM bounds at the same thread count, the ratios."""
    bound_best = 2 * macs["total"] / (g["gflops_best"] * 1e9) * 1e3
    bound_median = 2 * macs["total"] / (g["gflops_median"] * 1e9) * 1e3
    log(f"  inference {res} t{threads}: {fmt(s)} ms; bound {bound_median:.1f} ms "
        f"(best {bound_best:.1f}); ratio {s['median_ms'] / bound_median:.2f} "
        f"(best {s['min_ms'] / bound_best:.2f})")
    return {
        "resolution": res, "threads": threads, "macs": macs, **s,
        "gemm_gflops_best": g["gflops_best"], "gemm_gflops_median": g["gflops_median"],
        "bound_ms_best_gemm": bound_best, "bound_ms_median_gemm": bound_median,
        "ratio_median": s["median_ms"] / bound_median, "ratio_best": s["min_ms"] / bound_best,
        "achieved_gflops_best": 2 * macs["total"] / (s["min_ms"] * 1e-3) / 1e9,
    }


def _single_image(graph: Graph, engines: dict[int, OnnxRuntimeEngine], photos: list[tuple[str, np.ndarray]],
                  gemms: dict[str, Contender], res: int, rounds: int, results: dict[str, Any]) -> None:
    """``engine.run`` on one image at ``res``, interleaved with the GEMM contenders."""
    inputs = [preprocess(img, (res, res), "MobileNetV1")[0][None] for _, img in photos[:4]]
    macs = count_macs(graph, res, res)

    def runner(threads: int) -> Contender:
        def run(_: int) -> Series:
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
    raw = interleave(contenders, rounds, f"inference {res}")
    gemm = results["gemm"][res] = gemm_summary(raw)
    for threads in (1, 2):
        results["single_image"].append(_bound_row(res, threads, macs, summary(raw[f"t{threads}"]["s"]),
                                                  gemm[f"t{threads}"]))


def _batching(engines: dict[int, OnnxRuntimeEngine], photos: list[tuple[str, np.ndarray]], res: int,
              batch_sizes: tuple[int, ...], rounds: int) -> list[dict[str, Any]]:
    """Per-image time of ``engine.run`` at each batch size, against batch 1."""
    base = [preprocess(img, (res, res), "MobileNetV1")[0] for _, img in photos]
    batches = {n: np.stack([base[i % len(base)] for i in range(n)]) for n in batch_sizes}

    def batch_runner(threads: int, n: int) -> Contender:
        return lambda _: _timed_reps(lambda: engines[threads].run(batches[n]), max(1, 8 // n), per=n)

    contenders = {f"t{t}/b{n}": batch_runner(t, n) for t in (1, 2) for n in batch_sizes}
    for fn in contenders.values():
        fn(0)
    raw = interleave(contenders, rounds, f"batching {res}")
    rows = []
    for threads in (1, 2):
        b1 = summary(raw[f"t{threads}/b1"]["s"])
        for n in batch_sizes:
            s = summary(raw[f"t{threads}/b{n}"]["s"])
            rows.append({"resolution": res, "threads": threads, "batch": n,
                         "per_image": s, "speedup_vs_batch1": b1["median_ms"] / s["median_ms"]})
    return rows


def bench_inference(graph: Graph, photos: list[tuple[str, np.ndarray]], blas: BlasThreads,
                    rounds: dict[int, int], batch_rounds: int, quick: bool) -> dict[str, Any]:
    """``engine.run`` alone at each resolution and thread count, interleaved with GEMM runs
    that give the bound under the same machine noise; then per-image time at batch 1, 4, 8."""
    engines = {t: OnnxRuntimeEngine(graph, num_threads=t) for t in (1, 2)}
    gemms = gemm_contenders(blas)
    results: dict[str, Any] = {"single_image": [], "batching": [], "gemm": {}}
    for res in RESOLUTIONS:
        _single_image(graph, engines, photos, gemms, res, rounds[res], results)
    batch_sizes = (1, 4) if quick else (1, 4, 8)
    for res in (257, 513):
        results["batching"] += _batching(engines, photos, res, batch_sizes, batch_rounds)
    return results
