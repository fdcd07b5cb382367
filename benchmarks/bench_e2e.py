"""End to end (uint8 image in -> poses out): this project's configurations, timed through the
public API, against the TensorFlow.js reference under Node.js, interleaved."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench_common import (
    MODEL_JSON,
    MODES,
    MULTI,
    OURS,
    REPO,
    RESOLUTIONS,
    BlasThreads,
    Contender,
    Series,
    interleave,
    log,
    photo_block,
    summary,
)
from posenet import Pose, PoseOptions, load

Photos = list[tuple[str, np.ndarray]]


class Ours:
    """One configuration of this project, timed through the public API: :meth:`PoseNet.estimate`
    end to end, and its three steps ``prepare`` / ``infer`` / ``decode`` one by one."""

    def __init__(self, engine: str, threads: int, res: int, blas: BlasThreads) -> None:
        self.threads = threads
        self.blas = blas
        self.model = load("MobileNetV1", output_stride=16, input_resolution=res, multiplier=0.75,
                                  quant_bytes=4, engine=engine, num_threads=threads)
        self.engine_name = engine
        self.options = {"single": PoseOptions(mode="single"), "multi": PoseOptions(mode="multi", **MULTI)}

    def e2e(self, image: np.ndarray, mode: str) -> list[Pose]:
        return self.model.estimate(image, self.options[mode])

    def staged(self, image: np.ndarray, mode: str) -> tuple[float, float, float]:
        """Seconds spent in ``prepare`` (pad, resize, normalise), ``infer`` (network +
        sigmoid) and ``decode`` (decode + map back)."""
        net, options = self.model, self.options[mode]
        t0 = time.perf_counter()
        prepared = net.prepare([image], options)
        t1 = time.perf_counter()
        outputs = net.infer(prepared)
        t2 = time.perf_counter()
        net.decode(outputs[0], options)
        t3 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2

    def contender(self, mode: str, photos: Photos, size: int) -> Contender:
        """Round ``r``: one block of ``size`` photos (a different slice each round)."""
        return lambda r: self.block(photo_block(photos, r, size), mode)

    def block(self, images: list[np.ndarray], mode: str) -> Series:
        if self.engine_name == "numpy":
            self.blas.set(self.threads)
        out: Series = {"e2e": [], "preprocess": [], "inference": [], "decode": [], "staged_total": []}
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


def _reference_workers(with_cpu_backend: bool, results: dict[str, Any]) -> tuple[Any, Any]:
    """The reference's wasm worker and, if asked, a cpu-backend one (``None`` where the
    reference cannot run; the reason goes into ``results``)."""
    sys.path.insert(0, str(REPO))
    try:
        from tests.reference import ReferenceWorker, ensure_reference_installed

        ensure_reference_installed()
    except Exception as exc:  # noqa: BLE001 - report and run without the reference
        results["reference_error"] = f"{type(exc).__name__}: {exc}"
        log(f"reference unavailable: {results['reference_error']}")
        return None, None
    wasm = ReferenceWorker(timeout=600)
    results["reference_versions"] = wasm.version()
    return wasm, ReferenceWorker(timeout=600) if with_cpu_backend else None


def _reference_contenders(wasm: Any, cpu: Any, mode: str, photos: Photos, block: int,
                          cpu_seconds: list[float]) -> dict[str, Contender]:
    """The reference's contenders for ``mode`` (warmed up); the wasm worker's CPU use per
    block (cores busy while it runs) goes into ``cpu_seconds``."""
    opts: dict[str, Any] = MULTI if mode == "multi" else {}
    contenders: dict[str, Contender] = {}
    if wasm is not None:
        node_pids = _node_children()

        def ref_block(r: int) -> Series:
            before = [_child_cpu_seconds(p) for p in node_pids]
            t0 = time.perf_counter()
            ms = [wasm.bench(img, mode, warmup=0, iterations=1, **opts)[0] for img in photo_block(photos, r, block)]
            wall = time.perf_counter() - t0
            after = [_child_cpu_seconds(p) for p in node_pids]
            used = sum((a or 0) - (b or 0) for a, b in zip(after, before, strict=True))
            cpu_seconds.append(used / wall if wall else 0.0)
            return {"e2e": [m / 1e3 for m in ms]}

        contenders["reference/wasm"] = ref_block
        wasm.bench(photos[0][1], mode, warmup=3, iterations=1, **opts)
    if cpu is not None:
        def cpu_block(r: int) -> Series:
            if r > 0:
                return {}
            return {"e2e": [cpu.bench(img, mode, warmup=0, iterations=1, **opts)[0] / 1e3
                            for img in photo_block(photos, 0, 2)]}

        contenders["reference/cpu"] = cpu_block
        cpu.bench(photos[0][1], mode, warmup=1, iterations=1, **opts)
    return contenders


def _entry(res: int, mode: str, raw: dict[str, Series], cpu_seconds: list[float]) -> dict[str, Any]:
    """One configuration's summary: every contender's series, the speed-ups over wasm."""
    entry: dict[str, Any] = {"resolution": res, "mode": mode, "contenders": {}}
    for name, series in raw.items():
        entry["contenders"][name] = {k: summary(v) for k, v in series.items() if v}
    if cpu_seconds:
        entry["reference_wasm_cpu_utilisation"] = float(np.median(cpu_seconds))
    c = entry["contenders"]
    if "reference/wasm" in c:
        ref_med = c["reference/wasm"]["e2e"]["median_ms"]
        entry["speedup_vs_reference_wasm"] = {
            n: ref_med / v["e2e"]["median_ms"] for n, v in c.items() if n.startswith("ours/")}
    line = ", ".join(f"{n} {v['e2e']['median_ms']:.1f}" for n, v in c.items())
    log(f"  e2e {res} {mode} (median ms): {line}")
    return entry


def _bench_resolution(res: int, photos: Photos, blas: BlasThreads, rounds: int, block: int, wasm: Any,
                      cpu: Any) -> list[dict[str, Any]]:
    """Every contender at one input size, single and multi pose."""
    ours = {f"ours/{e}/t{t}": Ours(e, t, res, blas) for e, t in OURS}
    if wasm is not None:
        wasm.load(MODEL_JSON, "MobileNetV1", 16, res, 0.75, 4, backend="wasm")
    use_cpu = cpu is not None and res == 257
    if use_cpu:
        cpu.load(MODEL_JSON, "MobileNetV1", 16, res, 0.75, 4, backend="cpu")
    entries = []
    for mode in MODES:
        contenders = {name: o.contender(mode, photos, block) for name, o in ours.items()}
        cpu_seconds: list[float] = []
        contenders.update(_reference_contenders(wasm, cpu if use_cpu else None, mode, photos, block, cpu_seconds))
        for o in ours.values():
            o.block([photos[0][1]], mode)  # warm-up
        raw = interleave(contenders, rounds, f"e2e {res} {mode}")
        entries.append(_entry(res, mode, raw, cpu_seconds))
    return entries


def bench_end_to_end(photos: Photos, blas: BlasThreads, rounds: dict[int, int], block: int,
                     with_cpu_backend: bool) -> dict[str, Any]:
    """All contenders, interleaved, per resolution and mode."""
    results: dict[str, Any] = {"configs": [], "reference_error": None, "multi_options": MULTI}
    wasm, cpu = _reference_workers(with_cpu_backend, results)
    try:
        for res in RESOLUTIONS:
            results["configs"] += _bench_resolution(res, photos, blas, rounds[res], block, wasm, cpu)
    finally:
        for worker in (wasm, cpu):
            if worker is not None:
                worker.close()
    return results
