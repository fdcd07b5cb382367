"""``posenet image``: poses in photos or folders of photos; JSON and annotated copies."""

from __future__ import annotations

import argparse
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from posenet import PoseModel, PoseOptions
from posenet.draw import draw_poses
from posenet.images import decode_image
from posenet.options import DEFAULT_PRESET
from posenet.serialize import error_record, image_record

from ._args import Parents, load_model
from ._output import CliError, Console, check_target, one_line, plural, resolved, write_json_object

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
"""Files a folder argument contributes (by extension, case-insensitive)."""

EPILOG = """\
examples:
  posenet image photo.jpg                        JSON on stdout
  posenet image photo.jpg --out annotated/       annotated copy in annotated/photo.jpg
  posenet image photos/ more.png --multi --boxes --out annotated/ --json poses.json
  posenet image crowd.jpg --multi --min-pose-confidence 0.3 --json -
  posenet image photo.jpg --preset reference --multi   the library's defaults, nothing filtered
  posenet image selfie.jpg --flip                mirrored x, as for a webcam
  posenet image photos/ --architecture ResNet50 --output-stride 16 --input-resolution 513 --json poses.json

JSON: {"<file>": {"width": W, "height": H, "poses": [{"score", "keypoints": [{"score",
"part", "position": {"x", "y"}}]}]}}; a file that failed: {"<file>": {"error": "..."}}.
Poses scoring under --min-pose-confidence are neither written nor drawn; keypoints
under --min-part-confidence are not drawn (all 17 are always in the JSON). Defaults
come from --preset (camera: the reference camera demo's thresholds).
Existing files are never replaced without --overwrite, inputs never.
"""


def add_parser(subparsers: Any, parents: Parents) -> None:
    """Register the verb."""
    p = subparsers.add_parser("image", parents=[parents.common, parents.model, parents.pose(DEFAULT_PRESET)],
                              formatter_class=argparse.RawDescriptionHelpFormatter, help="poses in photos",
                              description="Find poses in photos or folders of photos.", epilog=EPILOG)
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (not recursive)")
    p.add_argument("--out", metavar="DIR", help="write annotated images here (same file names)")
    p.add_argument("--json", metavar="FILE|-", help="write JSON here (- = stdout; the default without --out)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(run=run)


def collect_images(paths: Sequence[str], console: Console) -> list[Path]:
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


def plan_outputs(inputs: list[Path], out_dir: Path, overwrite: bool) -> dict[Path, Path]:
    """Where each annotated image goes: ``out_dir / <input file name>``; checked up front."""
    if out_dir.exists() and not out_dir.is_dir():
        raise CliError(f"--out {out_dir} is a file; it must be a folder")
    plan: dict[Path, Path] = {}
    seen: dict[Path, Path] = {}
    sources = resolved(inputs)
    for source in inputs:
        target = out_dir / source.name
        if target in seen:
            raise CliError(f"{seen[target]} and {source} would both be written to {target}; annotate them separately")
        seen[target] = source
        check_target(target, overwrite, sources)
        plan[source] = target
    return plan


def save_image(array: np.ndarray, path: Path) -> None:
    """Write uint8 RGB ``array``; JPEG at quality 95."""
    from PIL import Image

    image = Image.fromarray(array)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.save(path, quality=95)
    else:
        image.save(path)


def _one_image(model: PoseModel, path: Path, options: PoseOptions, target: Path | None,
               boxes: bool) -> dict[str, Any]:
    """Estimate (and draw) one image; returns its JSON record."""
    rgb = decode_image(path)  # EXIF orientation applied
    poses = model.estimate(rgb, options)
    if target is not None:
        save_image(draw_poses(rgb, poses, options.min_part_score, options.min_pose_score, draw_boxes=boxes), target)
    return image_record(rgb.shape[1], rgb.shape[0], poses)


def run(args: argparse.Namespace, console: Console) -> int:
    """Exit code 1 if any image failed (the others are still done)."""
    options: PoseOptions = args.pose_options
    inputs = collect_images(args.paths, console)
    if not inputs:
        raise CliError("no images to process")
    out_dir = Path(args.out) if args.out else None
    plan = plan_outputs(inputs, out_dir, args.overwrite) if out_dir else {}
    json_target = args.json if args.json or out_dir else "-"
    if json_target and json_target != "-":
        check_target(Path(json_target), args.overwrite, resolved(inputs))
    model = load_model(args, console)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    failed = 0
    start = time.perf_counter()
    for path in inputs:
        try:
            record = _one_image(model, path, options, plan.get(path), args.boxes)
        except Exception as exc:  # noqa: BLE001 - one bad image must not stop the others
            failed += 1
            console.error(f"{path}: {one_line(exc)}")
            if console.verbose:
                traceback.print_exc()
            results[str(path)] = error_record(one_line(exc))
            continue
        results[str(path)] = record
        where = f" -> {plan[path]}" if path in plan else ""
        console.info(f"{path}: {plural(len(record['poses']), 'pose')}{where}")
    if json_target:
        write_json_object(json_target, results.items())
    elapsed = time.perf_counter() - start
    console.info(f"{len(inputs) - failed} of {len(inputs)} images done, {failed} failed ({elapsed:.1f} s)")
    return 1 if failed else 0
