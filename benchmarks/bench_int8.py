"""int8 benchmark: fp32 and int8 against the TensorFlow.js reference and the int8 bound.

    python benchmarks/bench_int8.py [--quick] [--out benchmarks/results]

One run, MobileNetV1 0.75 float, output stride 16, real photos, at 257 and 513:

* GEMM throughput 1024^3: float32 (numpy sgemm, ORT MatMul) and int8 (ORT
  ``MatMulInteger`` uint8 x int8), 1 and 2 threads, interleaved with the inference it bounds;
* inference (``engine.run``, one image) for fp32 and int8, against the fp32 bound
  ``2 * MACs / float32 GEMM`` and the int8 bound ``2 * MACs / int8 GEMM`` (every MAC at the
  int8 GEMM rate, although the recipe keeps the first layers and the heads in fp32);
* end to end (``net.estimate``, uint8 image to poses), single and multi pose, fp32 and int8
  with 1 and 2 threads beside ``@tensorflow-models/posenet@2.2.2`` (wasm backend);
* first use: building the int8 model without the disk cache;
* COCO keypoint AP of fp32 and int8 on the shared subset (``coco`` preset).

Results: ``bench_int8.json`` and ``bench_int8.md`` in ``--out``. Goals are reported as met
or not, never enforced.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (
    MULTI,
    REPO,
    SHARED,
    BlasThreads,
    Contender,
    Series,
    count_macs,
    fmt,
    interleave,
    load_photos,
    log,
    machine_info,
    photo_block,
    summary,
)
from bench_e2e import _entry, _reference_contenders, _reference_workers
from bench_inference import GEMM_N, _timed_reps, gemm_contenders, gemm_summary
from bench_report import int8_goals, int8_markdown
from posenet import PoseOptions, load
from posenet.engines.onnx_engine import OnnxRuntimeEngine
from posenet.graph import Graph, read_graph_model
from posenet.preprocess import preprocess

MODEL_JSON = SHARED / "models" / "posenet" / "mobilenet" / "float" / "075" / "model-stride16.json"
RESOLUTIONS = (257, 513)
PRECISIONS = ("fp32", "int8")
THREADS = (1, 2)
GOALS = {"e2e_speedup": 10.0, "ap_drop": 0.005, "inference_over_int8_bound": 2.0}
Photos = list[tuple[str, np.ndarray]]


def int8_gemm_contenders(reps: int = 3) -> dict[str, Contender]:
    """uint8 x int8 GEMM 1024^3 (ORT ``MatMulInteger``, int32 result), 1 and 2 threads."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    n = GEMM_N
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (n, n), dtype=np.uint8)
    b = rng.integers(-127, 128, (n, n), dtype=np.int8)
    graph = helper.make_graph([helper.make_node("MatMulInteger", ["a", "b"], ["c"])], "mmi",
                              [helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n]),
                               helper.make_tensor_value_info("b", TensorProto.INT8, [n, n])],
                              [helper.make_tensor_value_info("c", TensorProto.INT32, [n, n])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()

    def contender(threads: int) -> Contender:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        return lambda _: _timed_reps(lambda: session.run(None, {"a": a, "b": b}), reps)

    contenders = {f"gemm-int8/ort-matmulinteger/t{t}": contender(t) for t in THREADS}
    for fn in contenders.values():
        fn(0)
    return contenders


def _gops(raw: dict[str, Series], prefix: str) -> dict[str, dict[str, float]]:
    """Best and median GOP/s (2 ops per MAC) per thread count of the ``prefix`` series."""
    ops = 2.0 * GEMM_N ** 3
    out = {}
    for threads in THREADS:
        t = np.asarray(next(v["s"] for k, v in raw.items() if k.startswith(prefix) and k.endswith(f"/t{threads}")))
        out[f"t{threads}"] = {"gops_best": ops / t.min() / 1e9, "gops_median": ops / np.median(t) / 1e9}
    return out


def _inference_rows(res: int, macs: int, raw: dict[str, Series], gemm: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    int8_gemm = _gops(raw, "gemm-int8/")
    for precision in PRECISIONS:
        for threads in THREADS:
            s = summary(raw[f"{precision}/t{threads}"]["s"])
            fp32_bound = 2 * macs / (gemm[f"t{threads}"]["gflops_median"] * 1e9) * 1e3
            int8_bound = 2 * macs / (int8_gemm[f"t{threads}"]["gops_median"] * 1e9) * 1e3
            rows.append({"resolution": res, "precision": precision, "threads": threads, **s, "gmac": macs / 1e9,
                         "fp32_gemm_gflops": gemm[f"t{threads}"]["gflops_median"],
                         "int8_gemm_gops": int8_gemm[f"t{threads}"]["gops_median"],
                         "fp32_bound_ms": fp32_bound, "int8_bound_ms": int8_bound,
                         "over_int8_bound": s["median_ms"] / int8_bound})
            log(f"  inference {res} {precision} t{threads}: {fmt(s)} ms; int8 bound {int8_bound:.1f} ms, "
                f"fp32 bound {fp32_bound:.1f} ms")
    return rows


def bench_inference(graph: Graph, photos: Photos, blas: BlasThreads, rounds: dict[int, int]) -> dict[str, Any]:
    """``engine.run`` for both precisions, interleaved with float32 and int8 GEMM runs."""
    engines = {(p, t): OnnxRuntimeEngine(graph, num_threads=t, precision=p) for p in PRECISIONS for t in THREADS}
    gemms = {**gemm_contenders(blas), **int8_gemm_contenders()}
    out: dict[str, Any] = {"rows": [], "gemm": {}}
    for res in RESOLUTIONS:
        inputs = [preprocess(img, (res, res), "MobileNetV1")[0][None] for _, img in photos[:4]]

        def runner(engine: OnnxRuntimeEngine, inputs: list[np.ndarray] = inputs) -> Contender:
            def run(_: int) -> Series:
                times = []
                for x in inputs:
                    t0 = time.perf_counter()
                    engine.run(x)
                    times.append(time.perf_counter() - t0)
                return {"s": times}
            return run

        contenders = {f"{p}/t{t}": runner(e) for (p, t), e in engines.items()}
        for fn in contenders.values():
            fn(0)
        raw = interleave({**contenders, **gemms}, rounds[res], f"inference {res}")
        gemm = gemm_summary(raw)
        out["gemm"][res] = {"fp32": gemm, "int8": _gops(raw, "gemm-int8/")}
        out["rows"] += _inference_rows(res, count_macs(graph, res, res)["total"], raw, gemm)
    return out


def _ours(precision: str, threads: int, res: int, photos: Photos, block: int) -> dict[str, Contender]:
    net = load(input_resolution=res, num_threads=threads, precision=precision)
    options = {"single": PoseOptions(mode="single"), "multi": PoseOptions(mode="multi", **MULTI)}
    net.estimate(photos[0][1], options["single"])  # warm-up

    def contender(mode: str) -> Contender:
        def run(r: int) -> Series:
            times = []
            for image in photo_block(photos, r, block):
                t0 = time.perf_counter()
                net.estimate(image, options[mode])
                times.append(time.perf_counter() - t0)
            return {"e2e": times}
        return run

    return {mode: contender(mode) for mode in options}


def bench_end_to_end(photos: Photos, rounds: dict[int, int], block: int) -> dict[str, Any]:
    """Ours (fp32, int8; 1 and 2 threads) and the reference (wasm), interleaved per size and mode."""
    results: dict[str, Any] = {"configs": [], "reference_error": None, "multi_options": MULTI}
    wasm, _ = _reference_workers(False, results)
    try:
        for res in RESOLUTIONS:
            ours = {f"ours/{p}/t{t}": _ours(p, t, res, photos, block) for p in PRECISIONS for t in THREADS}
            if wasm is not None:
                wasm.load(MODEL_JSON, "MobileNetV1", 16, res, 0.75, 4, backend="wasm")
            for mode in ("single", "multi"):
                cpu_seconds: list[float] = []
                contenders = {name: o[mode] for name, o in ours.items()}
                contenders.update(_reference_contenders(wasm, None, mode, photos, block, cpu_seconds))
                raw = interleave(contenders, rounds[res], f"e2e {res} {mode}")
                results["configs"].append(_entry(res, mode, raw, cpu_seconds))
    finally:
        if wasm is not None:
            wasm.close()
    return results


def bench_first_use(graph: Graph) -> dict[str, float]:
    """Seconds to build the int8 model (no disk cache) and to read it back from the cache."""
    from posenet.engines.int8_cache import int8_model_bytes

    saved = os.environ.get("POSENET_INT8_CACHE")
    os.environ["POSENET_INT8_CACHE"] = "0"
    try:
        t0 = time.perf_counter()
        int8_model_bytes(graph)
        build = time.perf_counter() - t0
    finally:
        if saved is None:
            del os.environ["POSENET_INT8_CACHE"]
        else:
            os.environ["POSENET_INT8_CACHE"] = saved
    int8_model_bytes(graph)  # into the cache, if it was not there
    t0 = time.perf_counter()
    int8_model_bytes(graph)
    return {"build_s": build, "cached_s": time.perf_counter() - t0}


def bench_accuracy() -> dict[str, Any]:
    """COCO keypoint AP (all stats) of fp32 and int8 on the shared subset, per input size."""
    from posenet.evaluate import evaluate_coco

    coco = SHARED / "data" / "coco_train2017"
    annotations = coco / "person_keypoints_train2017__cocomini.json"
    out: dict[str, Any] = {}
    for res in RESOLUTIONS:
        for precision in PRECISIONS:
            report = evaluate_coco(load(input_resolution=res, precision=precision), annotations, coco, "coco")
            out[f"{res}/{precision}"] = report.stats
            log(f"  AP {res} {precision}: {report.stats['AP']:.4f}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (~3 min)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    started = time.time()
    blas = BlasThreads()
    blas.set(1)
    photos = load_photos()
    graph = read_graph_model(MODEL_JSON)
    results: dict[str, Any] = {"meta": {
        "date": _dt.datetime.now().isoformat(timespec="seconds"), "quick": args.quick, "machine": machine_info(),
        "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()), "photos": [n for n, _ in photos]}}
    log("first use")
    results["first_use"] = bench_first_use(graph)
    log("inference")
    results["inference"] = bench_inference(graph, photos, blas, {257: 6, 513: 3} if args.quick else {257: 30, 513: 12})
    log("end to end")
    results["end_to_end"] = bench_end_to_end(photos, {257: 2, 513: 1} if args.quick else {257: 8, 513: 5},
                                             block=3 if args.quick else 5)
    log("accuracy")
    results["accuracy"] = bench_accuracy()
    results["goals"] = int8_goals(results, GOALS)
    results["meta"]["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results["meta"]["seconds"] = time.time() - started
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_int8.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    report = int8_markdown(results)
    (args.out / "bench_int8.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
