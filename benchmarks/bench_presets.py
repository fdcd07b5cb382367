"""Cost of the presets: median ms of ``net.estimate`` per image, presets interleaved
image by image so that they share the machine's load, with COCO AP from the same run.

    python benchmarks/bench_presets.py --sizes 257,353,513,801 --presets coco,accurate,most-accurate

Prints a Markdown table (AP from pycocotools on the shared COCO subset, median and
ratio to the first preset's time at the same size).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import posenet
from posenet.evaluate import keypoint_stats, load_coco
from posenet.images import decode_image
from posenet.serialize import coco_results

SHARED = Path(os.environ.get("POSENET_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
COCO = SHARED / "data" / "coco_train2017"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="257,353,513,801")
    parser.add_argument("--presets", default="coco,accurate,most-accurate")
    parser.add_argument("--limit", type=int, default=None, help="first N images only")
    args = parser.parse_args()
    os.environ.setdefault("POSENET_MODEL_DIR", str(SHARED / "models" / "posenet"))
    gt = load_coco(COCO / "person_keypoints_train2017__cocomini.json")
    records = sorted(gt.dataset["images"], key=lambda r: r["id"])[: args.limit]
    images = {r["id"]: decode_image(COCO / r["file_name"], exif=False) for r in records}
    presets = args.presets.split(",")
    print(f"load average at start {os.getloadavg()[0]:.2f}; {len(records)} images")
    print("| input | preset | AP | AP50 | median ms | x first preset |\n| --- | --- | --- | --- | --- | --- |")
    for size in (int(s) for s in args.sizes.split(",")):
        net = posenet.load(input_resolution=size)
        times: dict[str, list[float]] = {p: [] for p in presets}
        results: dict[str, list[dict[str, object]]] = {p: [] for p in presets}
        for record in records:
            for preset in presets:  # interleaved: every preset sees the same moment's load
                start = time.perf_counter()
                poses = net.estimate(images[record["id"]], preset, mode="multi")
                times[preset].append(time.perf_counter() - start)
                results[preset] += coco_results(record["id"], poses)
        base = statistics.median(times[presets[0]])
        for preset in presets:
            stats = keypoint_stats(gt, results[preset], images)  # type: ignore[arg-type]
            ms = statistics.median(times[preset])
            print(f"| {size} | {preset} | {stats['AP']:.3f} | {stats['AP50']:.3f} | {ms * 1e3:.1f} | {ms / base:.2f}x |",
                  flush=True)
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
