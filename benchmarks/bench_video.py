"""Video throughput of ``posenet video``: frames per second with an annotated H.264 MP4
(``--out x.mp4``) beside JSON only (``--json``), on the shared videos, runs interleaved.

    python benchmarks/bench_video.py --rounds 3

Prints a Markdown table: the median of the fps each run reports in its summary line
(frames over the processing time; loading the model is not counted).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SHARED = Path(os.environ.get("POSENET_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
VIDEOS = {"1080p": "mmaction2__demo_skeleton.mp4", "240p": "mmaction2__test_video_structuralize.mp4"}
SUMMARY = re.compile(r"\(([\d.]+) fps\)")


def _fps(video: Path, outputs: list[str], extra: list[str]) -> float:
    """The fps ``posenet video`` reports in its summary line (frames over processing time)."""
    command = [sys.executable, "-m", "posenet", "video", str(video), "--multi", "--overwrite", *outputs, *extra]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    found = SUMMARY.findall(result.stderr)
    if not found:
        raise RuntimeError(f"no fps in the summary of {' '.join(command)}:\n{result.stderr[-800:]}")
    return float(found[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--precision", default="fp32", help="fp32 or int8")
    args = parser.parse_args()
    os.environ.setdefault("POSENET_MODEL_DIR", str(SHARED / "models" / "posenet"))
    extra = ["--precision", args.precision]
    print(f"load average at start {os.getloadavg()[0]:.2f}; precision {args.precision}")
    print("| video | JSON only (fps) | annotated H.264 MP4 (fps) | ratio |\n| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for name, file in VIDEOS.items():
            video = SHARED / "data" / "video" / file
            json_fps, mp4_fps = [], []
            for _ in range(args.rounds):  # interleaved: both modes see the same moment's load
                json_fps.append(_fps(video, ["--json", f"{tmp}/x.jsonl"], extra))
                mp4_fps.append(_fps(video, ["--out", f"{tmp}/x.mp4"], extra))
            j, m = statistics.median(json_fps), statistics.median(mp4_fps)
            print(f"| {name} | {j:.1f} | {m:.1f} | {m / j:.2f} |", flush=True)
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
