"""``posenet video``: poses in every frame of a video; annotated video and JSON Lines.

The work is :func:`posenet.video.process_video` (read, prefetched -> estimate -> track ->
smooth); this verb draws and encodes each frame in a background thread while the next
one is estimated, and writes one JSON line per source frame.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from posenet import PoseModel, PoseOptions, PoseSmoother, PoseTracker
from posenet.draw import draw_poses
from posenet.extras import require
from posenet.options import DEFAULT_PRESET
from posenet.serialize import dumps, frame_record

from ._args import Parents, count, fraction, load_model, non_negative, positive
from ._output import Console, UsageError, check_targets, close_output, open_output, progress_bar, resolved

if TYPE_CHECKING:
    from posenet.video import FrameResult, VideoInfo, VideoReader, VideoWriter

EPILOG = """\
examples:
  posenet video clip.mp4 --out clip_pose.mp4                  annotated video
  posenet video clip.mp4 --json clip.jsonl                    one JSON line per frame
  posenet video clip.mp4 --multi --track --smooth --out out.mp4 --json out.jsonl
  posenet video long.mkv --start 60 --end 75 --out cut.mp4    seconds 60 to 75 only
  posenet video webcam.mp4 --preset reference --multi --flip --json -

Each JSON line: {"frame": N, "time_s": T, "poses": [...]} (with --track each pose also
has "track_id"); a frame that fails to decode: {"frame", "time_s", "poses": [],
"error": "failed to decode"}, a black frame in the video, and exit code 1 at the end.
The output video has the source's size and frame rate and one frame per source frame.
Codec from the extension: .mp4/.mov/.mkv/.m4v mp4v, .avi MJPG, .webm VP8 (--fourcc to choose).
Pose defaults come from --preset (camera: the reference camera demo's thresholds).
"""


def add_parser(subparsers: Any, parents: Parents) -> None:
    """Register the verb."""
    p = subparsers.add_parser("video", parents=[parents.common, parents.model, parents.pose(DEFAULT_PRESET)],
                              formatter_class=argparse.RawDescriptionHelpFormatter, help="poses in a video",
                              description="Find poses in every frame of a video.", epilog=EPILOG)
    p.add_argument("input", metavar="IN", help="a video file OpenCV reads (mp4, avi, mkv, mov, webm, ...)")
    p.add_argument("--out", metavar="OUT.mp4", help="write the annotated video here")
    p.add_argument("--json", metavar="FILE.jsonl",
                   help="write one JSON line per frame here (- = stdout; the default without --out)")
    p.add_argument("--start", type=non_negative, default=0.0, metavar="S", help="first second to process (default 0)")
    p.add_argument("--end", type=non_negative, metavar="S", help="stop at this second (default: the end)")
    p.add_argument("--track", action="store_true", help="stable person ids across frames (OKS matching)")
    p.add_argument("--track-oks", type=fraction, default=0.2, metavar="S",
                   help="least OKS to continue a track (default 0.2)")
    p.add_argument("--track-max-age", type=count, default=30, metavar="N",
                   help="frames a lost track is kept (default 30)")
    p.add_argument("--smooth", action="store_true", help="One Euro filter on keypoint positions")
    p.add_argument("--smooth-min-cutoff", type=positive, default=1.0, metavar="HZ",
                   help="lower = smoother when still (default 1.0)")
    p.add_argument("--smooth-beta", type=non_negative, default=0.01, metavar="B",
                   help="higher = less lag when moving (default 0.01)")
    p.add_argument("--fourcc", metavar="CODE", help="output codec, e.g. mp4v or MJPG (default: from the extension)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(run=run)


def _draw_and_write(writer: VideoWriter, result: FrameResult, options: PoseOptions, boxes: bool) -> None:
    assert result.image is not None
    writer.write(draw_poses(result.image, result.poses, options.min_part_score, options.min_pose_score, boxes,
                            result.track_ids))


class _Outputs:
    """Where frame results go: the annotated video (drawn and encoded in a background
    thread, in order) and the JSON lines."""

    def __init__(self, out: str | None, json_target: str | None, info: VideoInfo, fourcc: str | None,
                 options: PoseOptions, boxes: bool) -> None:
        from posenet.video import Background, VideoWriter

        self.options, self.boxes = options, boxes
        self.background = Background()
        self.writer: VideoWriter | None = None
        self.sink: IO[str] | None = None
        self.black = np.zeros((info.height, info.width, 3), np.uint8)
        try:
            if out:
                Path(out).parent.mkdir(parents=True, exist_ok=True)
                self.writer = VideoWriter(out, info.width, info.height, info.fps, fourcc)
            self.sink = open_output(json_target) if json_target else None
        except BaseException:
            self.close()
            raise

    def put(self, result: FrameResult) -> None:
        """Queue the frame for the video (black if it failed to decode); write its JSON line."""
        if self.writer is not None:
            if result.image is None:
                self.background.submit(self.writer.write, self.black)
            else:
                self.background.submit(_draw_and_write, self.writer, result, self.options, self.boxes)
        if self.sink is not None:
            record = frame_record(result.index, result.time_s, result.poses, result.track_ids, result.error)
            self.sink.write(dumps(record) + "\n")

    def finish(self) -> None:
        """Wait for the queued frames; re-raise a drawing or encoding error."""
        self.background.close()

    def close(self) -> None:
        try:
            self.background.close()
        finally:
            if self.writer is not None:
                self.writer.close()
            close_output(self.sink)


def _annotate(model: PoseModel, reader: VideoReader, args: argparse.Namespace, json_target: str | None,
              console: Console) -> tuple[int, int, float]:
    """Run the pipeline over the reader; returns (frames, frames that failed, seconds)."""
    from posenet.video import process_video

    options: PoseOptions = args.pose_options
    tracker = PoseTracker(args.track_oks, args.track_max_age) if args.track else None
    smoother = PoseSmoother(args.smooth_min_cutoff, args.smooth_beta) if args.smooth else None
    outputs = _Outputs(args.out, json_target, reader.info, args.fourcc, options, args.boxes)
    results = process_video(model, reader, options, tracker=tracker, smoother=smoother)
    bar = progress_bar(console, total=reader.frames_in_range(), unit="frame")
    frames = failed = 0
    start = time.perf_counter()
    try:
        for result in results:
            frames += 1
            if not result.ok:
                failed += 1
                console.error(f"frame {result.index} ({result.time_s:.3f} s) failed to decode; written black")
            outputs.put(result)
            if bar is not None:
                bar.update()
        outputs.finish()
        elapsed = time.perf_counter() - start
    finally:
        if bar is not None:
            bar.close()
        results.close()  # stops the prefetch thread before the reader is closed
        outputs.close()
    return frames, failed, elapsed


def run(args: argparse.Namespace, console: Console) -> int:
    """Exit code 1 if any frame failed to decode (every frame is still accounted for)."""
    if args.end is not None and args.end <= args.start:
        raise UsageError(f"--end ({args.end} s) must be after --start ({args.start} s)")
    require("video", "posenet video")
    from posenet.video import VideoReader

    source = Path(args.input)
    json_target = args.json if args.json or args.out else "-"
    check_targets((args.out, json_target), args.overwrite, resolved([source]))
    if args.smooth and args.pose_options.mode == "multi" and not args.track:
        args.track = True
        console.info("--smooth with --multi smooths each person separately: tracking enabled")
    reader = VideoReader(source, args.start, args.end)
    try:
        model = load_model(args, console)
        info = reader.info
        console.info(f"{source}: {info.width}x{info.height}, {info.fps:.3g} fps, {info.frame_count or '?'} frames")
        frames, failed, elapsed = _annotate(model, reader, args, json_target, console)
    finally:
        reader.close()
    fps = frames / elapsed if elapsed > 0 else 0.0
    where = f" -> {args.out}" if args.out else ""
    console.info(f"{frames} frames, {failed} failed to decode, {elapsed:.1f} s ({fps:.1f} fps){where}")
    return 1 if failed else 0
