"""``posenet video``: poses in every frame of a video; annotated video and JSON Lines.

The work is :func:`posenet.video.process_video` (read, prefetched -> estimate -> track ->
smooth); :mod:`._video_out` draws and encodes each frame in a background thread while
the next one is estimated, and writes one JSON line per source frame.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posenet.extras import MissingExtraError, require
from posenet.options import DEFAULT_PRESET

from ._args import Parents, count, fraction, load_model, non_negative, positive
from ._files import STDOUT, Targets, is_stream
from ._output import CliError, Console, UsageError, plural
from ._video_out import Tally, annotate

if TYPE_CHECKING:
    from posenet.video import VideoReader

EPILOG = """\
examples:
  posenet video clip.mp4 --out clip_pose.mp4                  annotated video
  posenet video clip.mp4 --json clip.jsonl                    one JSON line per frame
  posenet video clip.mp4 --multi --track --smooth --out out.mp4 --json out.jsonl
  posenet video long.mkv --start 60 --end 75 --out cut.mp4    seconds 60 to 75 only
  posenet video webcam.mp4 --preset reference --multi --flip --json -

Each JSON line: {"frame": N, "time_s": T, "poses": [...]} (with --track each pose also
has "track_id"). A frame that fails to decode, or that the file declares but no longer
holds (a damaged or cut-short file): {"frame", "time_s", "poses": [], "error": "failed to
decode" | "missing from the file"}, a black frame in the video, exit code 1 at the end.
Frames are numbered by their time in the source.
The output video has the source's frame rate and one frame per source frame, at the
source's size (an odd width or height gets one more pixel: 4:2:0 video needs even sizes).
Codec from the extension: .mp4/.m4v/.mov/.mkv H.264 (plays in browsers), .avi MJPG,
.webm VP8 (--fourcc to choose another OpenCV codec, e.g. mp4v). The video is written
under a temporary name and renamed when complete; Ctrl+C or SIGTERM keeps the frames done.
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
    p.add_argument("--fourcc", metavar="CODE",
                   help="output codec, e.g. avc1 (H.264), mp4v or MJPG (default: from the extension)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(run=run)


def _require_video() -> None:
    require("video", "posenet video")
    if importlib.util.find_spec("av") is None:
        raise MissingExtraError("posenet video needs the video extra (av is missing): pip install 'posenet-py[video]'")


def _check_paths(args: argparse.Namespace, source: Path, json_target: str | None) -> None:
    """The input is a file; the outputs are files that are neither it nor each other."""
    if source.is_dir():
        raise CliError(f"{source} is a folder, not a video file")
    if not source.exists():
        raise CliError(f"{source}: no such file")
    if args.out and is_stream(Path(args.out)):
        raise CliError(f"--out {args.out}: a video must be written to a file (its container needs seeking)")
    targets = Targets([source], args.overwrite)
    targets.add(args.out, "--out")
    targets.add(json_target, "--json")


def _check_range(reader: VideoReader, args: argparse.Namespace, source: Path) -> None:
    """Refuse a --start / --end that holds no frame (before the model is loaded)."""
    if reader.frames_in_range() != 0:
        return
    duration = reader.duration_s
    length = f"{duration:.3f} s long" if duration is not None else "length unknown"
    if duration is not None and args.start >= duration:
        raise CliError(f"--start {args.start:g} s is past the end of {source} ({length}); nothing to do")
    end = "the end" if args.end is None else f"--end {args.end:g} s"
    raise CliError(f"no frame of {source} ({length}) is between --start {args.start:g} s and {end}")


def _describe(reader: VideoReader, source: Path, video: bool, console: Console) -> None:
    info = reader.info
    frames = plural(info.frame_count, "frame") if info.frame_count else "? frames"
    console.info(f"{source}: {info.width}x{info.height}, {info.fps:.5g} fps, {frames}")
    if video and (info.width % 2 or info.height % 2):
        console.info(f"odd size: the output video is {info.width + info.width % 2}x{info.height + info.height % 2} "
                     "(4:2:0 video needs even sizes; the last column or row is repeated)")


def _summary(tally: Tally, args: argparse.Namespace, json_target: str | None) -> str:
    parts = [f"{tally.missing} missing from the file"] * bool(tally.missing)
    parts += [f"{tally.undecoded} failed to decode"] * bool(tally.undecoded)
    failed = f"{tally.failed} failed" + (f" ({', '.join(parts)})" if parts else "")
    fps = tally.frames / tally.seconds if tally.seconds > 0 else 0.0
    written = [str(p) for p in (args.out, json_target) if p and p != STDOUT]
    where = f" -> {', '.join(written)}" if written else ""
    return f"{plural(tally.frames, 'frame')}, {failed}, {tally.seconds:.1f} s ({fps:.1f} fps){where}"


def run(args: argparse.Namespace, console: Console) -> int:
    """Exit code 1 if any frame was not had (every frame is still accounted for)."""
    if args.end is not None and args.end <= args.start:
        raise UsageError(f"--end ({args.end} s) must be after --start ({args.start} s)")
    _require_video()
    from posenet.video import VideoReader

    source = Path(args.input)
    json_target = args.json if args.json or args.out else STDOUT
    _check_paths(args, source, json_target)
    if args.smooth and args.pose_options.mode == "multi" and not args.track:
        args.track = True
        console.info("--smooth with --multi smooths each person separately: tracking enabled")
    reader = VideoReader(source, args.start, args.end)
    try:
        _check_range(reader, args, source)
        _describe(reader, source, bool(args.out), console)
        model = load_model(args, console)
        tally = annotate(model, reader, args, json_target, console)
    finally:
        reader.close()
    if tally.frames == 0:
        raise CliError(f"no frame could be read from {source}")
    console.info(_summary(tally, args, json_target))
    return 1 if tally.failed else 0
