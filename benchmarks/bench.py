"""Speed benchmark: posenet-py against the TensorFlow.js reference and a GEMM lower bound.

    python benchmarks/bench.py [--quick] [--out benchmarks/results]

One run measures, on the real photos in ``<shared>/data/photos`` with MobileNetV1 0.75
float, output stride 16, at input 257, 513 and 801:

* end to end (uint8 image array in -> poses out) for single and multi pose: this project
  through ``posenet.load(...).estimate(image, options)`` for each engine (onnxruntime, numpy)
  and thread count (1, 2), and ``@tensorflow-models/posenet@2.2.2`` under Node.js (wasm
  backend; the cpu backend once, at 257);
* the same calls split into the public steps ``net.prepare`` / ``net.infer`` /
  ``net.decode``, timed one by one;
* network inference alone (``engine.run``) against the lower bound ``2 * MACs / GEMM
  FLOP/s`` (numpy sgemm and ONNX Runtime MatMul, 1024^3, 1 and 2 threads), and batching
  (per-image time at batch 1, 4 and 8);
* stage targets (preprocess a 1280x720 photo at 257, single decode, multi decode with 20
  detections) and the peak RSS of a fresh process running the default model at 513.

Contenders are interleaved round-robin (one block of calls each per round) so machine noise
hits all alike. Results: ``bench.json`` and ``bench.md`` in ``--out``. No pass/fail: the
goals are reported as met or not. The sections live beside this script: ``bench_common``
(helpers), ``bench_inference`` (engine and GEMM), ``bench_e2e`` (end to end) and
``bench_report`` (goals, Markdown).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench_* modules, however this is run

from bench_common import (
    MODEL_JSON,
    PHOTOS,
    REPO,
    SHARED,
    BlasThreads,
    load_photos,
    log,
    machine_info,
    summary,
)
from bench_e2e import bench_end_to_end
from bench_inference import bench_gemm, bench_inference
from bench_report import goals, markdown
from posenet import load
from posenet.decode import decode_multiple_poses, decode_single_pose
from posenet.graph import read_graph_model
from posenet.preprocess import preprocess


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
    model = load(input_resolution=513)
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
            model.estimate(image, mode="single")
            model.estimate(image, mode="multi")
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
        "default_engine": load(input_resolution=257).engine_name,
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
