"""The ``posenet`` command: poses in photos and videos, COCO evaluation, models, server.

Exit codes: 0 success, 1 failure (a one-line reason on stderr; the traceback too with
``--verbose``), 2 usage error. Results go to stdout or files; messages to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Sequence

import numpy as np

from .errors import PoseNetError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
"""Files a folder argument of ``posenet image`` contributes (by extension, case-insensitive)."""

SINGLE_THRESHOLDS = (0.5, 0.1)
"""Reference demo, single pose: (min part confidence, min pose confidence)."""
MULTI_THRESHOLDS = (0.1, 0.15)
"""Reference demo, multi pose: (min part confidence, min pose confidence)."""

SERVER_PACKAGES = frozenset({"fastapi", "uvicorn", "starlette", "multipart", "python_multipart", "websockets", "pydantic"})


class CliError(Exception):
    """A failure to report in one line (exit code 1)."""


class UsageError(Exception):
    """Arguments that parse but make no sense together (exit code 2)."""


class Console:
    """Messages on stderr: ``info`` unless quiet, ``error`` always."""

    def __init__(self, quiet: bool = False, verbose: bool = False) -> None:
        self.quiet, self.verbose = quiet, verbose

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def debug(self, message: str) -> None:
        if self.verbose:
            print(message, file=sys.stderr, flush=True)

    def error(self, message: str) -> None:
        print(f"posenet: error: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Shared helpers


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, (PoseNetError, OSError, CliError)) else f"{type(exc).__name__}: {text}"


def _dumps(obj: Any) -> str:
    return json.dumps(obj, allow_nan=False, separators=(",", ":"))


def _resolved(paths: Iterable[Path]) -> set[Path]:
    return {p.resolve() for p in paths}


def _check_target(path: Path, overwrite: bool, inputs: set[Path]) -> None:
    """Refuse to write over an input (``inputs``: resolved paths; ever) or over an
    existing file (without --overwrite)."""
    if path.resolve() in inputs:
        raise CliError(f"refusing to write {path} over an input file; choose another output")
    if path.is_dir():
        raise CliError(f"{path} is a folder, expected a file name")
    if path.exists() and not overwrite:
        raise CliError(f"{path} already exists; pass --overwrite to replace it")


def _open_output(target: str) -> IO[str]:
    """stdout for ``-``, else the file (checked beforehand with :func:`_check_target`)."""
    if target == "-":
        return sys.stdout
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8")


def _write_output(target: str, text: str) -> None:
    sink = _open_output(target)
    sink.write(text)
    if sink is not sys.stdout:
        sink.close()


def _progress(console: Console, **kwargs: Any) -> Any:
    """A tqdm bar on stderr, or None when quiet or tqdm is missing."""
    if console.quiet:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(file=sys.stderr, dynamic_ncols=True, **kwargs)


def _parse_resolution(text: str) -> int | dict[str, int]:
    """``257`` or ``WIDTHxHEIGHT`` (e.g. ``640x480``)."""
    try:
        if "x" in text.lower():
            width, height = text.lower().split("x")
            return {"width": int(width), "height": int(height)}
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size like 257 or 640x480, got {text!r}") from None


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def _positive(text: str) -> float:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def _model_config(args: argparse.Namespace) -> dict[str, Any]:
    """``posenet.load`` keyword arguments from the model options, validated (UsageError)."""
    from .checkpoints import validate_model_config
    from .preprocess import resolve_input_resolution

    multiplier = args.multiplier if args.multiplier is not None else (0.75 if args.architecture == "MobileNetV1" else 1.0)
    try:
        validate_model_config(args.architecture, args.output_stride, multiplier, args.quant_bytes)
        resolve_input_resolution(args.input_resolution, args.output_stride)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return dict(
        architecture=args.architecture,
        output_stride=args.output_stride,
        input_resolution=args.input_resolution,
        multiplier=multiplier,
        quant_bytes=args.quant_bytes,
        model_url=args.model_url,
        engine=args.engine,
        num_threads=args.threads,
        tfjs_compat=args.tfjs_compat,
    )


def _load_net(args: argparse.Namespace, console: Console) -> Any:
    config = _model_config(args)
    import posenet

    start = time.perf_counter()
    net = posenet.load(**config)
    console.debug(f"loaded {net!r} in {time.perf_counter() - start:.2f} s")
    return net


def _thresholds(args: argparse.Namespace) -> tuple[float, float]:
    part, pose = MULTI_THRESHOLDS if args.multi else SINGLE_THRESHOLDS
    return (
        part if args.min_part_confidence is None else args.min_part_confidence,
        pose if args.min_pose_confidence is None else args.min_pose_confidence,
    )


def _estimate(net: Any, image: np.ndarray, args: argparse.Namespace, part: float, pose: float) -> list[Any]:
    """Poses with score >= the pose threshold: one (single) or several (``--multi``)."""
    if args.multi:
        found = net.estimate_multiple_poses(
            image,
            max_detections=args.max_detections,
            score_threshold=part if args.score_threshold is None else args.score_threshold,
            nms_radius=args.nms_radius,
        )
    else:
        found = [net.estimate_single_pose(image)]
    return [p for p in found if p.score >= pose]


# ---------------------------------------------------------------------------------------
# posenet image


def _collect_images(paths: Sequence[str], console: Console) -> list[Path]:
    """Files as given, plus the image files directly inside each folder (sorted)."""
    found: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            images = [p for p in inside if p.suffix.lower() in IMAGE_SUFFIXES]
            console.debug(f"{path}: {len(images)} images, {len(inside) - len(images)} other files skipped")
            if not images:
                console.error(f"{path}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
            found += images
        else:
            found.append(path)
    return found


def _plan_image_outputs(inputs: list[Path], out_dir: Path, overwrite: bool) -> dict[Path, Path]:
    """Where each annotated image goes: ``out_dir / <input file name>``; checked up front."""
    if out_dir.exists() and not out_dir.is_dir():
        raise CliError(f"--out {out_dir} is a file; it must be a folder")
    plan: dict[Path, Path] = {}
    seen: dict[Path, Path] = {}
    sources = _resolved(inputs)
    for source in inputs:
        target = out_dir / source.name
        if target in seen:
            raise CliError(f"{seen[target]} and {source} would both be written to {target}; annotate them separately")
        seen[target] = source
        _check_target(target, overwrite, sources)
        plan[source] = target
    return plan


def _save_image(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    image = Image.fromarray(array)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.save(path, quality=95)
    else:
        image.save(path)


def cmd_image(args: argparse.Namespace, console: Console) -> int:
    from .draw import draw_poses
    from .images import read_image

    part, pose_min = _thresholds(args)
    inputs = _collect_images(args.paths, console)
    if not inputs:
        raise CliError("no images to process")
    out_dir = Path(args.out) if args.out else None
    plan = _plan_image_outputs(inputs, out_dir, args.overwrite) if out_dir else {}
    json_target = args.json if args.json or out_dir else "-"
    if json_target and json_target != "-":
        _check_target(Path(json_target), args.overwrite, _resolved(inputs))
    net = _load_net(args, console)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    failed = 0
    start = time.perf_counter()
    for path in inputs:
        try:
            rgb = read_image(path)
            poses = _estimate(net, rgb, args, part, pose_min)
            if out_dir:
                _save_image(draw_poses(rgb, poses, part, pose_min, draw_boxes=args.boxes), plan[path])
        except Exception as exc:  # one bad image must not stop the others
            failed += 1
            console.error(f"{path}: {_one_line(exc)}")
            if console.verbose:
                traceback.print_exc()
            results[str(path)] = {"error": _one_line(exc)}
            continue
        results[str(path)] = {
            "width": int(rgb.shape[1]),
            "height": int(rgb.shape[0]),
            "poses": [p.to_dict() for p in poses],
        }
        console.info(f"{path}: {len(poses)} pose{'s' if len(poses) != 1 else ''}" + (f" -> {plan[path]}" if out_dir else ""))
    if json_target:
        lines = (f"  {_dumps(key)}: {_dumps(value)}" for key, value in results.items())
        _write_output(json_target, "{\n" + ",\n".join(lines) + "\n}\n")  # one line per image
    elapsed = time.perf_counter() - start
    console.info(f"{len(inputs) - failed} of {len(inputs)} images done, {failed} failed ({elapsed:.1f} s)")
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------
# posenet video


def _import_video_extra() -> Any:
    try:
        from . import video
    except ImportError as exc:
        raise CliError(f"posenet video needs OpenCV ({exc.name} is missing): pip install 'posenet-py[video]'") from None
    return video


def _draw_and_write(writer: Any, image: np.ndarray, poses: list[Any], part: float, pose: float, boxes: bool,
                    ids: list[int] | None) -> None:
    from .draw import draw_poses

    writer.write(draw_poses(image, poses, part, pose, boxes, ids))


def cmd_video(args: argparse.Namespace, console: Console) -> int:
    video = _import_video_extra()
    from .smoothing import PoseSmoother
    from .tracking import PoseTracker

    if args.end is not None and args.end <= args.start:
        raise UsageError(f"--end ({args.end} s) must be after --start ({args.start} s)")
    source = Path(args.input)
    inputs = _resolved([source])
    json_target = args.json if args.json or args.out else "-"
    for target in (args.out, json_target):
        if target not in (None, "-"):
            _check_target(Path(target), args.overwrite, inputs)
    if args.smooth and args.multi and not args.track:
        args.track = True
        console.info("--smooth with --multi smooths each person separately: tracking enabled")
    part, pose_min = _thresholds(args)
    reader = video.VideoReader(source, args.start, args.end)
    info = reader.info
    frames_in = video.prefetch(reader)
    writer = sink = bar = None
    background = video.Background()  # draws and encodes while the next frame is estimated
    try:
        net = _load_net(args, console)
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            writer = video.VideoWriter(args.out, info.width, info.height, info.fps, args.fourcc)
        sink = _open_output(json_target) if json_target else None
        tracker = PoseTracker(args.track_oks, args.track_max_age) if args.track else None
        smoother = PoseSmoother(args.smooth_min_cutoff, args.smooth_beta) if args.smooth else None
        console.info(f"{source}: {info.width}x{info.height}, {info.fps:.3g} fps, {info.frame_count or '?'} frames")
        bar = _progress(console, total=reader.frames_in_range(), unit="frame")
        black = np.zeros((info.height, info.width, 3), np.uint8)
        frames = failed = 0
        start = time.perf_counter()
        for frame in frames_in:
            frames += 1
            record: dict[str, Any] = {"frame": frame.index, "time_s": round(frame.time_s, 6)}
            if frame.image is None:
                failed += 1
                console.error(f"frame {frame.index} ({frame.time_s:.3f} s) failed to decode; written black")
                record.update(poses=[], error="failed to decode")
                if writer:
                    background.submit(writer.write, black)
            else:
                poses = _estimate(net, frame.image, args, part, pose_min)
                ids = [t.track_id for t in tracker.update(poses)] if tracker else None
                if smoother:
                    poses = smoother.update(frame.time_s, poses, ids)
                record["poses"] = [
                    p.to_dict() if ids is None else {"track_id": tid, **p.to_dict()}
                    for p, tid in zip(poses, ids or [None] * len(poses))
                ]
                if writer:
                    background.submit(_draw_and_write, writer, frame.image, poses, part, pose_min, args.boxes, ids)
            if sink:
                sink.write(_dumps(record) + "\n")
            if bar is not None:
                bar.update()
        background.close()
        elapsed = time.perf_counter() - start
    finally:
        if bar is not None:
            bar.close()
        frames_in.close()
        background.close()
        reader.close()
        if writer:
            writer.close()
        if sink and sink is not sys.stdout:
            sink.close()
    fps = frames / elapsed if elapsed > 0 else 0.0
    where = f" -> {args.out}" if args.out else ""
    console.info(f"{frames} frames, {failed} failed to decode, {elapsed:.1f} s ({fps:.1f} fps){where}")
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------
# posenet eval


def cmd_eval(args: argparse.Namespace, console: Console) -> int:
    from .evaluate import STAT_NAMES, evaluate_coco

    gt, images = Path(args.gt), Path(args.images)
    if not images.is_dir():
        raise CliError(f"--images {images} is not a folder")
    if args.out:
        _check_target(Path(args.out), args.overwrite, _resolved([gt]))
    net = _load_net(args, console)

    def progress(records: list[Any]) -> Iterable[Any]:
        bar = _progress(console, total=len(records), unit="image")
        for record in records:
            yield record
            if bar is not None:
                bar.update()
        if bar is not None:
            bar.close()

    report = evaluate_coco(
        net,
        gt,
        images,
        max_detections=args.max_detections,
        score_threshold=args.score_threshold,
        nms_radius=args.nms_radius,
        limit=args.limit,
        progress=progress,
    )
    if args.out:
        _write_output(args.out, json.dumps(report.results, allow_nan=False) + "\n")
    for name, reason in report.failures:
        console.error(f"{images / name}: {reason}")
    n = len(report.image_ids)
    rate = n / report.seconds if report.seconds > 0 else 0.0
    print(f"images     {n} evaluated, {len(report.failures)} failed, {len(report.results)} poses ({rate:.1f} images/s)")
    for name in STAT_NAMES:
        print(f"{name:<10} {report.stats[name]:.3f}")
    if args.out:
        console.info(f"results -> {args.out}")
    return 1 if report.failures else 0


# ---------------------------------------------------------------------------------------
# posenet models


WEIGHT_COUNTS = {
    ("MobileNetV1", 0.5): 577_459,
    ("MobileNetV1", 0.75): 1_258_195,
    ("MobileNetV1", 1.0): 3_313_907,
    ("ResNet50", 1.0): 23_717_123,
}
"""Number of weights per network (from the official manifests): size = count x quant bytes."""


def _location(path: Path | None) -> str:
    from .checkpoints import cache_dir, model_dir

    if path is None:
        return "no"
    root = model_dir()
    if root is not None and root.resolve() in path.resolve().parents:
        return "model dir"
    return "cache" if cache_dir().resolve() in path.resolve().parents else "yes"


def _disk_size(model_json: Path) -> int:
    from .checkpoints import shard_names

    try:
        names = [model_json.name] + shard_names(model_json)
    except Exception:
        names = [model_json.name]
    return sum((model_json.parent / n).stat().st_size for n in names if (model_json.parent / n).is_file())


def _mb(size: float) -> str:
    return f"{size / 1e6:.1f} MB"


def _select_checkpoints(names: Sequence[str], all_: bool, default: Callable[[], list[Any]]) -> list[Any]:
    from .checkpoints import all_checkpoints

    catalogue = all_checkpoints()
    if all_:
        return catalogue
    if not names:
        return default()
    by_name = {c.name: c for c in catalogue}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise UsageError(f"unknown checkpoint {', '.join(unknown)}; `posenet models list` shows the names")
    return [by_name[n] for n in names]


def cmd_models_list(args: argparse.Namespace, console: Console) -> int:
    from .checkpoints import all_checkpoints, locate

    rows = []
    for c in all_checkpoints():
        path = locate(c)
        size = _disk_size(path) if path else WEIGHT_COUNTS[(c.architecture, c.multiplier)] * c.quant_bytes
        rows.append(
            {
                "name": c.name,
                "architecture": c.architecture,
                "multiplier": c.multiplier,
                "precision": c.precision,
                "quant_bytes": c.quant_bytes,
                "output_stride": c.output_stride,
                "size_bytes": size,
                "size_exact": path is not None,
                "cached": _location(path),
                "path": str(path) if path else None,
                "url": c.url,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    header = f"{'NAME':<30} {'ARCHITECTURE':<12} {'MULT':>4} {'WEIGHTS':<7} {'STRIDE':>6} {'SIZE':>9}  CACHED"
    print(header)
    for r in rows:
        size = ("" if r["size_exact"] else "~") + _mb(r["size_bytes"])
        print(
            f"{r['name']:<30} {r['architecture']:<12} {r['multiplier']:>4.2f} {r['precision']:<7} "
            f"{r['output_stride']:>6} {size:>9}  {r['cached']}"
        )
    console.info("~ = expected download size; fetch with: posenet models fetch NAME")
    return 0


def cmd_models_fetch(args: argparse.Namespace, console: Console) -> int:
    from .checkpoints import fetch, find_checkpoint, locate

    chosen = _select_checkpoints(args.names, args.all, lambda: [find_checkpoint()])
    failed = 0
    for c in chosen:
        existing = locate(c)
        if existing and not args.force:
            console.info(f"{c.name}: already on disk ({existing})")
            continue
        bar = _progress(console, total=WEIGHT_COUNTS[(c.architecture, c.multiplier)] * c.quant_bytes,
                        unit="B", unit_scale=True, desc=c.name)
        done = {"base": 0, "last": 0}

        def progress(file_done: int, _total: int | None) -> None:
            if file_done < done["last"]:  # a new file started
                done["base"] += done["last"]
            done["last"] = file_done
            if bar is not None:
                bar.n = done["base"] + file_done
                bar.refresh()

        try:
            path = fetch(c, progress=progress, force=args.force)
        except Exception as exc:
            if bar is not None:
                bar.leave = False
                bar.close()
            failed += 1
            console.error(f"{c.name}: {_one_line(exc)}")
            continue
        if bar is not None:
            bar.total = bar.n
            bar.close()
        console.info(f"{c.name}: {_mb(_disk_size(path))} -> {path}")
    return 1 if failed else 0


def cmd_models_verify(args: argparse.Namespace, console: Console) -> int:
    from .checkpoints import all_checkpoints, locate, verify

    chosen = _select_checkpoints(args.names, False, lambda: [c for c in all_checkpoints() if locate(c)])
    if not chosen:
        console.info("no checkpoints on disk; fetch one with: posenet models fetch NAME")
        return 0
    bad = 0
    for c in chosen:
        problems = verify(c)
        if problems:
            bad += 1
            for problem in problems:
                console.error(f"{c.name}: {problem}")
        else:
            print(f"ok      {c.name}  ({locate(c)})")
    console.info(f"{len(chosen) - bad} of {len(chosen)} checkpoints verified")
    return 1 if bad else 0


# ---------------------------------------------------------------------------------------
# posenet serve


def cmd_serve(args: argparse.Namespace, console: Console) -> int:
    try:
        from . import server
    except ImportError as exc:
        if (exc.name or "").split(".")[0] in SERVER_PACKAGES:
            raise CliError(
                f"posenet serve needs the server extra ({exc.name} is missing): pip install 'posenet-py[server]'"
            ) from None
        raise
    net = _load_net(args, console)
    server.serve(
        net,
        host=args.host,
        port=args.port,
        max_upload_bytes=args.max_upload_bytes,
        max_pixels=args.max_pixels,
        max_queue=args.max_queue,
    )
    return 0


# ---------------------------------------------------------------------------------------
# Parser

_FORMATTER = argparse.RawDescriptionHelpFormatter

MAIN_EPILOG = """\
examples:
  posenet image photo.jpg                       poses as JSON on stdout
  posenet image photos/ --multi --out annotated/ --json poses.json
  posenet video clip.mp4 --multi --track --smooth --out clip_pose.mp4 --json clip.jsonl
  posenet eval --gt person_keypoints.json --images coco/ --out results.json
  posenet models list
  posenet serve --port 8000

Run `posenet VERB --help` for each verb's options and examples.
exit codes: 0 ok, 1 failure, 2 usage error
"""

IMAGE_EPILOG = """\
examples:
  posenet image photo.jpg                        JSON on stdout
  posenet image photo.jpg --out annotated/       annotated copy in annotated/photo.jpg
  posenet image photos/ more.png --multi --boxes --out annotated/ --json poses.json
  posenet image crowd.jpg --multi --min-pose-confidence 0.3 --json -
  posenet image photos/ --architecture ResNet50 --output-stride 16 --input-resolution 513 --json poses.json

JSON: {"<file>": {"width": W, "height": H, "poses": [{"score", "keypoints": [{"score",
"part", "position": {"x", "y"}}]}]}}; a file that failed: {"<file>": {"error": "..."}}.
Only poses with score >= --min-pose-confidence are written and drawn; keypoints below
--min-part-confidence are not drawn (all 17 are always in the JSON).
Existing files are never replaced without --overwrite, inputs never.
"""

VIDEO_EPILOG = """\
examples:
  posenet video clip.mp4 --out clip_pose.mp4                  annotated video
  posenet video clip.mp4 --json clip.jsonl                    one JSON line per frame
  posenet video clip.mp4 --multi --track --smooth --out out.mp4 --json out.jsonl
  posenet video long.mkv --start 60 --end 75 --out cut.mp4    seconds 60 to 75 only

Each JSON line: {"frame": N, "time_s": T, "poses": [...]} (with --track each pose also
has "track_id"); a frame that fails to decode: {"frame", "time_s", "poses": [],
"error": "failed to decode"}, a black frame in the video, and exit code 1 at the end.
The output video has the source's size and frame rate and one frame per source frame.
Codec from the extension: .mp4/.mov/.mkv/.m4v mp4v, .avi MJPG, .webm VP8 (--fourcc to choose).
"""

EVAL_EPILOG = """\
examples:
  posenet eval --gt person_keypoints_val2017.json --images val2017/
  posenet eval --gt keypoints.json --images imgs/ --out results.json --limit 100
  posenet eval --gt keypoints.json --images imgs/ --input-resolution 513 --output-stride 8

Prints COCO keypoint AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl (pycocotools).
--out writes COCO results format: [{"image_id", "category_id": 1, "keypoints":
[x1, y1, s1, ...], "score"}], keypoint score as the visibility value.
Decoding defaults follow the reference's COCO demo.
"""

MODELS_EPILOG = """\
examples:
  posenet models list                         the 27 official checkpoints, size, cached or not
  posenet models list --json
  posenet models fetch                        download the default checkpoint
  posenet models fetch resnet50-float-stride16 mobilenet-quant2-050-stride8
  posenet models fetch --all
  posenet models verify                       check every local checkpoint's sha256

Checkpoints are looked up in $POSENET_MODEL_DIR (a folder laid out like the official URL
tree), then in the cache ($POSENET_CACHE_DIR, default ~/.cache/posenet-py).
"""

SERVE_EPILOG = """\
examples:
  posenet serve                               http://127.0.0.1:8000/
  posenet serve --port 9000 --multiplier 0.5
  posenet serve --host 0.0.0.0 --max-upload-bytes 5000000   (no authentication: trusted networks only)

Needs the server extra: pip install 'posenet-py[server]'
"""


def _verbosity_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", default=default, help="only errors on stderr")
    parser.add_argument("-v", "--verbose", action="store_true", default=default, help="more detail; tracebacks on errors")


def _model_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("model options")
    group.add_argument("--architecture", choices=("MobileNetV1", "ResNet50"), default="MobileNetV1",
                       help="backbone (default MobileNetV1)")
    group.add_argument("--multiplier", type=float, choices=(0.5, 0.75, 1.0),
                       help="MobileNetV1 width (default 0.75; ResNet50: 1.0)")
    group.add_argument("--quant-bytes", type=int, choices=(1, 2, 4), default=4,
                       help="weights: 4 float32, 2 uint16, 1 uint8 (default 4)")
    group.add_argument("--output-stride", type=int, choices=(8, 16, 32), default=16,
                       help="8 = accurate and slow, 32 = fast (default 16)")
    group.add_argument("--input-resolution", type=_parse_resolution, default=257, metavar="N|WxH",
                       help="network input size, e.g. 257, 513 or 640x480 (default 257)")
    group.add_argument("--engine", choices=("auto", "onnxruntime", "numpy"), default="auto",
                       help="inference engine (default auto: ONNX Runtime if installed)")
    group.add_argument("--threads", type=_positive_int, metavar="N", help="engine threads (default: engine's choice)")
    group.add_argument("--model-url", metavar="PATH|URL", help="a model JSON, its folder or an http(s) URL instead of the official checkpoint")
    group.add_argument("--tfjs-compat", action="store_true",
                       help="reproduce TF.js exactly, including its misread stride-8 dilation (less accurate)")
    return parent


def _pose_options(max_detections: int, nms_radius: float) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("pose options")
    group.add_argument("--multi", action="store_true", help="find several people (default: one)")
    group.add_argument("--min-part-confidence", type=_fraction, metavar="S",
                       help="draw keypoints scoring at least this (default 0.5 single, 0.1 multi)")
    group.add_argument("--min-pose-confidence", type=_fraction, metavar="S",
                       help="keep poses scoring at least this (default 0.1 single, 0.15 multi)")
    group.add_argument("--max-detections", type=_positive_int, default=max_detections, metavar="N",
                       help=f"multi: most people per image (default {max_detections})")
    group.add_argument("--nms-radius", type=_positive, default=nms_radius, metavar="PX",
                       help=f"multi: suppression radius in model-input pixels (default {nms_radius:g})")
    group.add_argument("--score-threshold", type=_fraction, metavar="S",
                       help="multi: least part score to start a pose (default: --min-part-confidence)")
    group.add_argument("--boxes", action="store_true", help="also draw bounding boxes")
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The ``posenet`` argument parser (verbs: image, video, eval, models, serve)."""
    from . import __version__

    common = argparse.ArgumentParser(add_help=False)
    _verbosity_options(common, argparse.SUPPRESS)  # so that a verb's default does not hide the global flag
    model = _model_options()
    parser = argparse.ArgumentParser(
        prog="posenet",
        description="Human pose estimation with TensorFlow.js PoseNet 2.x, in Python.",
        epilog=MAIN_EPILOG,
        formatter_class=_FORMATTER,
    )
    parser.add_argument("--version", action="version", version=f"posenet-py {__version__}")
    _verbosity_options(parser, False)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    p = verbs.add_parser("image", parents=[common, model, _pose_options(5, 30)], formatter_class=_FORMATTER,
                         help="poses in photos", description="Find poses in photos or folders of photos.",
                         epilog=IMAGE_EPILOG)
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (not recursive)")
    p.add_argument("--out", metavar="DIR", help="write annotated images here (same file names)")
    p.add_argument("--json", metavar="FILE|-", help="write JSON here (- = stdout; the default without --out)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(run=cmd_image)

    p = verbs.add_parser("video", parents=[common, model, _pose_options(5, 30)], formatter_class=_FORMATTER,
                         help="poses in a video", description="Find poses in every frame of a video.",
                         epilog=VIDEO_EPILOG)
    p.add_argument("input", metavar="IN", help="a video file OpenCV reads (mp4, avi, mkv, mov, webm, ...)")
    p.add_argument("--out", metavar="OUT.mp4", help="write the annotated video here")
    p.add_argument("--json", metavar="FILE.jsonl", help="write one JSON line per frame here (- = stdout; the default without --out)")
    p.add_argument("--start", type=_non_negative, default=0.0, metavar="S", help="first second to process (default 0)")
    p.add_argument("--end", type=_non_negative, metavar="S", help="stop at this second (default: the end)")
    p.add_argument("--track", action="store_true", help="stable person ids across frames (OKS matching)")
    p.add_argument("--track-oks", type=_fraction, default=0.2, metavar="S", help="least OKS to continue a track (default 0.2)")
    p.add_argument("--track-max-age", type=_count, default=30, metavar="N", help="frames a lost track is kept (default 30)")
    p.add_argument("--smooth", action="store_true", help="One Euro filter on keypoint positions")
    p.add_argument("--smooth-min-cutoff", type=_positive, default=1.0, metavar="HZ", help="lower = smoother when still (default 1.0)")
    p.add_argument("--smooth-beta", type=_non_negative, default=0.01, metavar="B", help="higher = less lag when moving (default 0.01)")
    p.add_argument("--fourcc", metavar="CODE", help="output codec, e.g. mp4v or MJPG (default: from the extension)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(run=cmd_video)

    p = verbs.add_parser("eval", parents=[common, model], formatter_class=_FORMATTER,
                         help="COCO keypoint AP/AR", description="Run multi-pose on COCO images and score it with pycocotools.",
                         epilog=EVAL_EPILOG)
    p.add_argument("--gt", required=True, metavar="COCO_KEYPOINTS.json", help="COCO person-keypoints annotations")
    p.add_argument("--images", required=True, metavar="DIR", help="folder holding the annotated images")
    p.add_argument("--out", metavar="results.json", help="write detections in COCO results format")
    p.add_argument("--limit", type=_positive_int, metavar="N", help="only the first N images (by id)")
    p.add_argument("--max-detections", type=_positive_int, default=15, metavar="N", help="most people per image (default 15)")
    p.add_argument("--score-threshold", type=_fraction, default=0.1, metavar="S", help="least part score to start a pose (default 0.1)")
    p.add_argument("--nms-radius", type=_positive, default=20, metavar="PX", help="suppression radius, model-input pixels (default 20)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(run=cmd_eval)

    p = verbs.add_parser("models", parents=[common], formatter_class=_FORMATTER, help="list, fetch, verify checkpoints",
                         description="The official PoseNet checkpoints: list, download, check.", epilog=MODELS_EPILOG)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = actions.add_parser("list", parents=[common], help="the catalogue", epilog=MODELS_EPILOG, formatter_class=_FORMATTER)
    a.add_argument("--json", action="store_true", help="machine-readable output")
    a.set_defaults(run=cmd_models_list)
    a = actions.add_parser("fetch", parents=[common], help="download into the cache", epilog=MODELS_EPILOG, formatter_class=_FORMATTER)
    a.add_argument("names", nargs="*", metavar="NAME", help="checkpoint names from `posenet models list` (default: the default model)")
    a.add_argument("--all", action="store_true", help="all 27 checkpoints")
    a.add_argument("--force", action="store_true", help="download again even if on disk")
    a.set_defaults(run=cmd_models_fetch)
    a = actions.add_parser("verify", parents=[common], help="check sha256 of local copies", epilog=MODELS_EPILOG, formatter_class=_FORMATTER)
    a.add_argument("names", nargs="*", metavar="NAME", help="checkpoint names (default: every one on disk)")
    a.set_defaults(run=cmd_models_verify)

    p = verbs.add_parser("serve", parents=[common, model], formatter_class=_FORMATTER, help="local HTTP service and web page",
                         description="Serve pose estimation over HTTP with a browser page.", epilog=SERVE_EPILOG)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--max-upload-bytes", type=_positive_int, metavar="N", help="largest accepted upload (default: the server's)")
    p.add_argument("--max-pixels", type=_positive_int, metavar="N", help="largest accepted image, width x height (default: the server's)")
    p.add_argument("--max-queue", type=_positive_int, metavar="N",
                   help="requests waiting for the model before new ones get 503 (default: the server's)")
    p.set_defaults(run=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code (0 ok, 1 failure, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else 2
    console = Console(args.quiet, args.verbose)
    if not args.verbose:
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own decoder chatter
    try:
        return args.run(args, console)
    except UsageError as exc:
        print(f"{parser.prog} {args.verb}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    except BrokenPipeError:  # e.g. `posenet image a.jpg | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        if args.verbose:
            traceback.print_exc()
        from .errors import PoseNetError

        expected = isinstance(exc, (PoseNetError, OSError, CliError))
        console.error(_one_line(exc) + ("" if expected or args.verbose else " (--verbose for details)"))
        return 1
