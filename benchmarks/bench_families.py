"""Speed of the other families: MoveNet (and BlazePose) against pose-detection 2.1.3 on wasm.

    python benchmarks/bench_families.py [--rounds 3] [--repeats 3] [--families movenet-lightning ...]

End to end per photo (a decoded RGB uint8 array in -> poses out) on the photos in
``<shared>/data/photos``, for each MoveNet family and, once registered, ``blazepose-lite``,
``-full`` and ``-heavy``:

* this project: ``posenet.create_detector(family, num_threads=...)`` then ``.estimate(rgb)``,
  one stream (no timestamp), at the default thread count and at 1 thread;
* the reference: ``@tensorflow-models/pose-detection@2.1.3`` with TF.js 4.22.0 on the wasm
  backend under Node.js (``tests/reference_posedetection.py``), fed the same model files
  over a loopback HTTP server; ``time()`` measures each ``estimatePoses`` call inside Node
  (the int32 image tensor is built once, outside the timing).

Each block: for every photo, a reset, one warm-up call, then ``--repeats`` timed calls on the
same image (one stream, as the reference's ``time`` does). Contenders are interleaved
round-robin (``--rounds`` blocks each) so machine noise hits all alike. Reported: medians
(ms) over all timed calls, the reference's median over ours (the speed-up), the goal (4x
MoveNet, 3x BlazePose) met or not, the load average. Results: ``bench_families.json`` and
``bench_families.md`` in ``--out``. Model files come through the package's lookup
(``$POSENET_MOVENET_DIR`` / ``$POSENET_BLAZEPOSE_DIR``, default the shared copies; else the
cache or a download).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench_* modules, however this is run

from bench_common import REPO, SHARED, Contender, Series, interleave, load_photos, log, machine_info, summary

os.environ.setdefault("POSENET_MOVENET_DIR", str(SHARED / "models" / "movenet"))
os.environ.setdefault("POSENET_BLAZEPOSE_DIR", str(SHARED / "models" / "blazepose"))

from bench_e2e import _child_cpu_seconds, _node_children
from posenet import checkpoints
from posenet.engines.onnx_engine import default_num_threads
from posenet.families import FAMILIES, create_detector

Photos = list[tuple[str, np.ndarray]]

MOVENET_TYPES = {"movenet-lightning": "SinglePose.Lightning", "movenet-thunder": "SinglePose.Thunder",
                 "movenet-multipose": "MultiPose.Lightning"}
BLAZEPOSE = ("blazepose-lite", "blazepose-full", "blazepose-heavy")
GOALS = {"movenet": 4.0, "blazepose": 3.0}
"""The issue's goals: the reference's median end-to-end time over ours."""


def available_families() -> list[str]:
    """The MoveNet families, and the BlazePose ones where ``posenet.families`` has them."""
    return [*MOVENET_TYPES, *(f for f in BLAZEPOSE if f in FAMILIES)]


def model_files(family: str) -> list[str]:
    """The model file names a family uses (BlazePose: the detector, then the landmarks)."""
    return ["blazepose-detector", family] if family.startswith("blazepose") else [family]


def reference_config(family: str, urls: dict[str, str]) -> tuple[dict[str, Any], str]:
    """``createDetector``'s configuration and model name for the reference."""
    if family in MOVENET_TYPES:
        return {"modelType": MOVENET_TYPES[family], "modelUrl": urls[family]}, "MoveNet"
    return {"runtime": "tfjs", "modelType": family.split("-", 1)[1], "detectorModelUrl": urls["blazepose-detector"],
            "landmarkModelUrl": urls[family]}, "BlazePose"


def ours(family: str, threads: int | None) -> Any:
    """Our detector of ``family`` at ``threads`` (``None``: the engine's default), if its
    configuration takes a thread count."""
    config_type = FAMILIES[family].config_type
    names = {f.name for f in dataclasses.fields(config_type)}
    return create_detector(family, **({"num_threads": threads} if "num_threads" in names else {}))


def ours_contender(model: Any, photos: Photos, repeats: int, found: dict[str, int]) -> Contender:
    def block(_r: int) -> Series:
        out: Series = {"e2e": []}
        for name, rgb in photos:
            model.reset()
            model.estimate(rgb)  # warm-up, and the first frame of the stream
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                poses = model.estimate(rgb)
                times.append(time.perf_counter() - t0)
            found[name] = len(poses)
            out["e2e"] += times
            out[f"photo:{name}"] = times
        return out

    return block


def reference_contender(ref: Any, handle: int, photos: Photos, repeats: int, found: dict[str, int],
                        cpu_use: list[float], notes: dict[str, str]) -> Contender:
    node_pids = _node_children()
    resets = [True]

    def reset() -> None:
        if resets[0]:
            try:
                ref.reset(handle)
            except Exception as exc:  # noqa: BLE001 - 2.1.3's MultiPose reset() throws; go on without it
                log(f"  reference reset() failed ({exc}): photos follow one another in one stream")
                resets[0] = False
                notes["reference_reset_failed"] = str(exc)

    def block(_r: int) -> Series:
        out: Series = {"e2e": []}
        before = [_child_cpu_seconds(p) for p in node_pids]
        t0 = time.perf_counter()
        for name, rgb in photos:
            reset()
            ms, found[name] = ref.time(handle, rgb, repeats, warmup=1)
            out["e2e"] += [m / 1e3 for m in ms]
            out[f"photo:{name}"] = [m / 1e3 for m in ms]
        wall = time.perf_counter() - t0
        after = [_child_cpu_seconds(p) for p in node_pids]
        cpu_use.append(sum((a or 0) - (b or 0) for a, b in zip(after, before, strict=True)) / wall if wall else 0.0)
        return out

    return block


def bench_family(family: str, photos: Photos, ref: Any, server_urls: dict[str, str], rounds: int,
                 repeats: int) -> dict[str, Any]:
    """One family: ours at the default thread count and at 1 thread beside the reference."""
    default_threads = default_num_threads()
    found: dict[str, dict[str, int]] = {}
    contenders: dict[str, Contender] = {}
    for label, threads in ((f"ours/t{default_threads} (default)", None), ("ours/t1", 1)):
        found[label] = {}
        contenders[label] = ours_contender(ours(family, threads), photos, repeats, found[label])
    cpu_use: list[float] = []
    notes: dict[str, str] = {}
    if ref is not None:
        config, model_name = reference_config(family, server_urls)
        handle = ref.create(config, model=model_name)
        found["reference/wasm"] = {}
        contenders["reference/wasm"] = reference_contender(ref, handle, photos, repeats, found["reference/wasm"],
                                                           cpu_use, notes)
    raw = interleave(contenders, rounds, family)
    entry: dict[str, Any] = {"contenders": {}, "per_photo_median_ms": {}, "poses_found": found,
                             "goal_speedup": GOALS[family.split("-")[0]], **notes}
    for name, series in raw.items():
        entry["contenders"][name] = summary(series["e2e"])
        entry["per_photo_median_ms"][name] = {k.removeprefix("photo:"): summary(v)["median_ms"]
                                              for k, v in series.items() if k.startswith("photo:")}
    c = entry["contenders"]
    if "reference/wasm" in c:
        ref_ms = c["reference/wasm"]["median_ms"]
        entry["speedup_vs_reference_wasm"] = {n: ref_ms / v["median_ms"] for n, v in c.items() if n.startswith("ours")}
        entry["goal_met"] = {n: s >= entry["goal_speedup"] for n, s in entry["speedup_vs_reference_wasm"].items()}
        entry["reference_wasm_cpu_utilisation"] = float(np.median(cpu_use)) if cpu_use else None
    log("  " + ", ".join(f"{n} {v['median_ms']:.1f} ms" for n, v in c.items()))
    return entry


def _reference() -> tuple[Any, Any, dict[str, Any]]:
    """``(PoseDetectionWorker on wasm, ModelServer class, versions)``; ``(None, None, error)`` if unavailable."""
    sys.path.insert(0, str(REPO))
    try:
        from tests.reference_posedetection import ModelServer, PoseDetectionWorker

        ref = PoseDetectionWorker(timeout=600, backend="wasm")
        return ref, ModelServer, ref.version()
    except Exception as exc:  # noqa: BLE001 - report and run without the reference
        log(f"reference unavailable: {type(exc).__name__}: {exc}")
        return None, None, {"error": f"{type(exc).__name__}: {exc}"}


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        "# MoveNet / BlazePose end to end against pose-detection 2.1.3 (wasm)", "",
        f"{meta['date']}, {meta['machine']['cpu']} ({meta['machine']['logical_cpus']} logical CPUs), "
        f"load average {meta['loadavg_start']} at the start, {meta['loadavg_end']} at the end; "
        f"{meta['rounds']} rounds x {len(meta['photos'])} photos x {meta['repeats']} calls per contender. "
        f"Command: `{meta['command']}`", "",
        "| family | reference wasm (ms) | ours default threads (ms) | ours 1 thread (ms) | speed-up default | "
        "speed-up 1 thread | goal | wasm cores busy |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for family, e in results["families"].items():
        c = e["contenders"]
        default = next(n for n in c if n.endswith("(default)"))
        ref = c.get("reference/wasm", {}).get("median_ms")
        up = e.get("speedup_vs_reference_wasm", {})
        util = e.get("reference_wasm_cpu_utilisation")
        lines.append(
            f"| {family} | {f'{ref:.1f}' if ref else 'n/a'} | {c[default]['median_ms']:.1f} | "
            f"{c['ours/t1']['median_ms']:.1f} | {up.get(default, float('nan')):.2f}x | "
            f"{up.get('ours/t1', float('nan')):.2f}x | {e['goal_speedup']:.0f}x | "
            f"{f'{util:.2f}' if util is not None else 'n/a'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", nargs="*", help=f"default: {' '.join(available_families())}")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved blocks per contender (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per photo and block (default 3)")
    parser.add_argument("--photos", type=int, default=None, help="only the first N photos")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    families = args.families or available_families()
    unknown = [f for f in families if f not in FAMILIES or f not in [*MOVENET_TYPES, *BLAZEPOSE]]
    if unknown:
        parser.error(f"not a registered MoveNet / BlazePose family: {', '.join(unknown)}")
    started = time.time()
    photos = load_photos(args.photos)
    ref, model_server, versions = _reference()
    results: dict[str, Any] = {"meta": {
        "date": _dt.datetime.now().isoformat(timespec="seconds"), "machine": machine_info(),
        "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()), "photos": [n for n, _ in photos],
        "rounds": args.rounds, "repeats": args.repeats, "reference_versions": versions,
        "ours_default_threads": default_num_threads(),
        "command": "python benchmarks/bench_families.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }, "families": {}}
    servers: list[Any] = []
    try:
        for family in families:
            log(f"{family}")
            paths = {name: Path(checkpoints.resolve_graph_model(name)) for name in model_files(family)}
            urls: dict[str, str] = {}
            if model_server is not None:
                for name, path in paths.items():
                    servers.append(model_server(path.parent))
                    urls[name] = servers[-1].url(path.name)
            results["families"][family] = bench_family(family, photos, ref, urls, args.rounds, args.repeats)
            write(results, args.out)  # what is done so far, should a later family fail
    finally:
        for server in servers:
            server.close()
        if ref is not None:
            ref.close()
    results["meta"]["seconds"] = time.time() - started
    print(write(results, args.out))
    return 0


def write(results: dict[str, Any], out: Path) -> str:
    """``bench_families.json`` and ``.md`` in ``out``; returns the Markdown."""
    results["meta"]["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_families.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    report = markdown(results)
    (out / "bench_families.md").write_text(report)
    return report


if __name__ == "__main__":
    sys.exit(main())
