"""The benchmark's goals and its Markdown report (``bench.md``), from the results dict."""

from __future__ import annotations

from typing import Any

from bench_common import DEFAULT_OURS, GOALS, MODES, fmt

Results = dict[str, Any]


def goals(results: Results) -> list[dict[str, Any]]:
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


def _header(results: Results) -> list[str]:
    m = results["meta"]
    lines = [f"# posenet-py benchmark ({m['date']})", "",
             f"{m['machine']['cpu']}, {m['machine']['logical_cpus']} CPUs; Python {m['machine']['python']}, "
             f"numpy {m['machine']['numpy']}, onnxruntime {m['machine']['onnxruntime']}. "
             f"Load average at start {m['loadavg_start']}, at end {m['loadavg_end']}. "
             f"{'quick run' if m['quick'] else 'full run'}, {m['seconds']:.0f} s.", "",
             "Model: MobileNetV1 0.75 float, output stride 16. Times in ms: median (min–max). "
             "Contenders interleaved round-robin.", ""]
    e2e = results["end_to_end"]
    if e2e.get("reference_versions"):
        v = e2e["reference_versions"]
        lines += [f"Reference: @tensorflow-models/posenet {v.get('posenet')} on tfjs-core {v.get('tfjs_core')}, "
                  f"Node.js {v.get('node')}; wasm backend (cpu backend at 257 only, 2 calls). "
                  f"Multi-pose options {e2e['multi_options']}.", ""]
    elif e2e.get("reference_error"):
        lines += [f"Reference not run: {e2e['reference_error']}", ""]
    return lines


def _end_to_end(e2e: dict[str, Any]) -> list[str]:
    names = sorted({n for c in e2e["configs"] for n in c["contenders"]},
                   key=lambda n: (not n.startswith("reference"), n))
    ours = [n for n in names if n.startswith("ours")]
    lines = ["## End to end (uint8 image → poses)", "",
             "| input | mode | " + " | ".join(names) + " | reference wasm / default ours |",
             "|---|---|" + "---|" * len(names) + "---|"]
    for c in e2e["configs"]:
        cells = [fmt(c["contenders"][n]["e2e"]) if n in c["contenders"] and "e2e" in c["contenders"][n] else "–"
                 for n in names]
        ratio = c.get("speedup_vs_reference_wasm", {}).get(DEFAULT_OURS)
        lines.append(f"| {c['resolution']} | {c['mode']} | " + " | ".join(cells)
                     + f" | {f'{ratio:.2f}×' if ratio else '–'} |")
    lines += ["", "Speed-up over the reference (wasm), per configuration of ours:", "",
              "| input | mode | " + " | ".join(ours) + " |",
              "|---|---|" + "---|" * len(ours)]
    for c in e2e["configs"]:
        s = c.get("speedup_vs_reference_wasm", {})
        lines.append(f"| {c['resolution']} | {c['mode']} | "
                     + " | ".join(f"{s[n]:.2f}×" if n in s else "–" for n in ours) + " |")
    util = [f"{c['resolution']} {c['mode']}: {c['reference_wasm_cpu_utilisation']:.2f}"
            for c in e2e["configs"] if "reference_wasm_cpu_utilisation" in c]
    if util:
        lines += ["", "Reference worker CPU use (cores busy while it runs, median): " + "; ".join(util)]
    return lines


def _stages(e2e: dict[str, Any]) -> list[str]:
    lines = ["", "## Stages (the public steps net.prepare / net.infer / net.decode)", "",
             "| input | mode | ours | preprocess | inference (+sigmoid) | decode (+map back) | sum | API end to end |",
             "|---|---|---|---|---|---|---|---|"]
    for c in e2e["configs"]:
        for n, v in c["contenders"].items():
            if n.startswith("ours") and "preprocess" in v:
                lines.append(f"| {c['resolution']} | {c['mode']} | {n[5:]} | {v['preprocess']['median_ms']:.2f} | "
                             f"{v['inference']['median_ms']:.2f} | {v['decode']['median_ms']:.2f} | "
                             f"{v['staged_total']['median_ms']:.2f} | {v['e2e']['median_ms']:.2f} |")
    return lines


def _inference(results: Results) -> list[str]:
    g = results["gemm"]
    lines = ["", "## Inference against the GEMM lower bound", "",
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
                     f"{r['gemm_gflops_median']:.0f} / {r['gemm_gflops_best']:.0f} | "
                     f"{r['bound_ms_median_gemm']:.1f} | {r['ratio_median']:.2f} | {r['bound_ms_best_gemm']:.1f} | "
                     f"{r['ratio_best']:.2f} | {r['achieved_gflops_best']:.0f} |")
    lines += ["", "## Batching (ms per image)", "", "| input | threads | batch | per image | speed-up vs batch 1 |",
              "|---|---|---|---|---|"]
    for r in results["inference"]["batching"]:
        lines.append(f"| {r['resolution']} | {r['threads']} | {r['batch']} | {fmt(r['per_image'])} | "
                     f"{r['speedup_vs_batch1']:.2f}× |")
    return lines


def _stage_targets(st: dict[str, Any]) -> list[str]:
    lines = ["", "## Stage targets", "", "| stage | median (min–max) ms |", "|---|---|"]
    for k, v in st.items():
        extra = (f" ({v['detections']} detections, score_threshold {v['score_threshold']}, {v['photo']})"
                 if "detections" in v else "")
        value = fmt(v) if v["median_ms"] >= 0.1 else f"{v['median_ms']:.3f} ({v['min_ms']:.3f}–{v['max_ms']:.3f})"
        lines.append(f"| {k}{extra} | {value} |")
    return lines


def _memory(memory: dict[str, Any]) -> list[str]:
    lines = ["", "## Peak memory (fresh process, default model at 513, every photo twice single + multi)", "",
             "Peak = the child's own high-water mark (VmHWM); ru_maxrss is shown for reference only: Linux "
             "carries it over exec from the (much larger) parent benchmark process.", "",
             "| engine | RSS after import | after load | peak (VmHWM) | ru_maxrss |", "|---|---|---|---|---|"]
    for engine, v in memory.items():
        if "peak_rss_mb" in v:
            lines.append(f"| {engine} | {v['rss_after_import_mb']:.0f} MB | {v['rss_after_load_mb']:.0f} MB | "
                         f"{v['peak_rss_mb']:.0f} MB | {v['ru_maxrss_mb']:.0f} MB |")
        else:
            lines.append(f"| {engine} | error | | | |")
    return lines


def markdown(results: Results) -> str:
    lines = _header(results) + _end_to_end(results["end_to_end"]) + _stages(results["end_to_end"])
    lines += _inference(results) + _stage_targets(results["stage_targets"]) + _memory(results["memory"])
    lines += ["", "## Goals", "", "| goal | measured | met |", "|---|---|---|"]
    for row in results["goals"]:
        lines.append(f"| {row['goal']} | {row['measured']} | {'yes' if row['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# The int8 benchmark (bench_int8.py)


def int8_goals(results: Results, targets: dict[str, float]) -> list[dict[str, Any]]:
    """int8 end to end >= 10x the reference with AP within 0.005 of fp32 (257, 513);
    int8 inference within 2x of the int8 bound."""
    rows = []
    acc = results["accuracy"]
    for c in results["end_to_end"]["configs"]:
        s = c.get("speedup_vs_reference_wasm", {})
        best = max((v for k, v in s.items() if "/int8/" in k), default=None)
        if best is not None:
            rows.append({"goal": f"end to end {c['resolution']} {c['mode']}: reference wasm / int8 (best of t1, t2) "
                                 f"≥ {targets['e2e_speedup']:g}", "measured": round(best, 2),
                         "met": best >= targets["e2e_speedup"]})
    for res in sorted({int(k.split("/")[0]) for k in acc}):
        drop = acc[f"{res}/fp32"]["AP"] - acc[f"{res}/int8"]["AP"]
        rows.append({"goal": f"AP {res}: fp32 - int8 ≤ {targets['ap_drop']:g}", "measured": round(drop, 4),
                     "met": drop <= targets["ap_drop"]})
    for r in results["inference"]["rows"]:
        if r["precision"] == "int8":
            rows.append({"goal": f"inference {r['resolution']} t{r['threads']}: int8 ≤ "
                                 f"{targets['inference_over_int8_bound']:g}× int8 bound (median / median)",
                         "measured": round(r["over_int8_bound"], 2),
                         "met": r["over_int8_bound"] <= targets["inference_over_int8_bound"]})
    return rows


def int8_markdown(results: Results) -> str:
    m = results["meta"]
    lines = [f"# posenet-py int8 benchmark ({m['date']})", "",
             f"{m['machine']['cpu']}, {m['machine']['logical_cpus']} CPUs; onnxruntime {m['machine']['onnxruntime']}. "
             f"Load average at start {m['loadavg_start']}, at end {m['loadavg_end']}. "
             f"{'quick run' if m['quick'] else 'full run'}, {m['seconds']:.0f} s. MobileNetV1 0.75 float, stride 16; "
             "times in ms: median (min–max), contenders interleaved round-robin.", "",
             f"First use (int8 model built, no cache): {results['first_use']['build_s']:.2f} s; "
             f"read back from the cache: {results['first_use']['cached_s'] * 1e3:.0f} ms.", "",
             "## Inference against the GEMM bounds", "",
             "Bounds = 2 × MACs / GEMM throughput 1024³ at the same thread count, measured in the same "
             "interleaved rounds: float32 (best of numpy, ORT MatMul) and int8 (ORT MatMulInteger u8×s8).", "",
             "| input | precision | threads | inference | fp32 GEMM GFLOP/s | int8 GEMM GOP/s | fp32 bound | "
             "int8 bound | / int8 bound |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results["inference"]["rows"]:
        lines.append(f"| {r['resolution']} | {r['precision']} | {r['threads']} | {fmt(r)} | "
                     f"{r['fp32_gemm_gflops']:.0f} | {r['int8_gemm_gops']:.0f} | {r['fp32_bound_ms']:.1f} | "
                     f"{r['int8_bound_ms']:.1f} | {r['over_int8_bound']:.2f} |")
    e2e = results["end_to_end"]
    if e2e.get("reference_error"):
        lines += ["", f"Reference not run: {e2e['reference_error']}"]
    names = sorted({n for c in e2e["configs"] for n in c["contenders"]}, key=lambda n: (not n.startswith("ref"), n))
    lines += ["", "## End to end (uint8 image → poses, net.estimate)", "",
              "| input | mode | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for c in e2e["configs"]:
        cells = [fmt(c["contenders"][n]["e2e"]) if n in c["contenders"] else "–" for n in names]
        lines.append(f"| {c['resolution']} | {c['mode']} | " + " | ".join(cells) + " |")
    ours = [n for n in names if n.startswith("ours")]
    lines += ["", "Speed-up over the reference (wasm):", "", "| input | mode | " + " | ".join(ours) + " |",
              "|---|---|" + "---|" * len(ours)]
    for c in e2e["configs"]:
        s = c.get("speedup_vs_reference_wasm", {})
        lines.append(f"| {c['resolution']} | {c['mode']} | " + " | ".join(f"{s[n]:.2f}×" if n in s else "–"
                                                                          for n in ours) + " |")
    lines += ["", "## COCO keypoints (shared subset, coco preset)", "", "| input | precision | AP | AP50 | AP75 | AR |",
              "|---|---|---|---|---|---|"]
    for key, st in results["accuracy"].items():
        res, precision = key.split("/")
        lines.append(f"| {res} | {precision} | {st['AP']:.4f} | {st['AP50']:.4f} | {st['AP75']:.4f} | {st['AR']:.4f} |")
    lines += ["", "## Goals", "", "| goal | measured | met |", "|---|---|---|"]
    lines += [f"| {g['goal']} | {g['measured']} | {'yes' if g['met'] else '**no**'} |" for g in results["goals"]]
    return "\n".join(lines) + "\n"
