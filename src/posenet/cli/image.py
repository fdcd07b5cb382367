"""``posenet image``: poses in photos or folders of photos; JSON and annotated copies."""

from __future__ import annotations

import argparse
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posenet import Pose, PoseModel, PoseOptions
from posenet.draw import draw_poses
from posenet.images import decode_image
from posenet.options import DEFAULT_PRESET
from posenet.serialize import error_record, image_record

from ._args import Parents, load_model
from ._files import STDOUT, JsonObjectWriter, Targets, replacing
from ._output import CliError, Console, UsageError, naming, one_line, plural

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
  posenet image me.jpg --model blazepose-full --enable-segmentation --mask me-mask.png

JSON: {"<file>": {"width": W, "height": H, "poses": [{"score", "keypoints": [{"score",
"part", "position": {"x", "y"}}]}]}}; a file that failed: {"<file>": {"error": "..."}}.
Poses scoring under --min-pose-confidence are neither written nor drawn; keypoints
under --min-part-confidence are not drawn (all 17 are always in the JSON). Defaults
come from --preset (camera: the reference camera demo's thresholds).
The JSON is written as images are done, and closed properly on Ctrl+C or SIGTERM.
Existing files are never replaced without --overwrite, inputs never.
--mask writes the person segmentation mask (a model that gives one: BlazePose with
--enable-segmentation) as an 8-bit grayscale PNG the size of the image: 0 background,
255 person (probability x 255); for several images PATH is a folder of <name>-mask.png.
Other families give keypoints only (their JSON shape is pose-detection's: x, y, score, name).
"""


def add_parser(subparsers: Any, parents: Parents) -> None:
    """Register the verb."""
    p = subparsers.add_parser("image", parents=[parents.common, parents.model, parents.pose(DEFAULT_PRESET)],
                              formatter_class=argparse.RawDescriptionHelpFormatter, help="poses in photos",
                              description="Find poses in photos or folders of photos.", epilog=EPILOG)
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (not recursive)")
    p.add_argument("--out", metavar="DIR", help="write annotated images here (same file names)")
    p.add_argument("--json", metavar="FILE|-", help="write JSON here (- = stdout; the default without --out)")
    p.add_argument("--mask", metavar="PATH.png",
                   help="write the segmentation mask as a grayscale PNG (a folder for several images); needs "
                        "a model that gives one, e.g. --model blazepose-full --enable-segmentation")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(run=run)


@dataclass
class Inputs:
    """The images to process, and the paths given that are none (``path -> reason``)."""

    images: list[Path] = field(default_factory=list)
    problems: dict[Path, str] = field(default_factory=dict)


def collect_images(paths: Sequence[str], console: Console) -> Inputs:
    """Files as given, plus the image files directly inside each folder (sorted), each
    once; a path that does not exist is a problem (a name without an image extension
    may have been meant as a folder)."""
    found = Inputs()
    for text in paths:
        path = Path(text)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            images = [p for p in inside if p.suffix.lower() in IMAGE_SUFFIXES]
            console.debug(f"{path}: {len(images)} images, {len(inside) - len(images)} other files skipped")
            if not images:
                console.warning(f"{text}: no image files in this folder ({' '.join(sorted(IMAGE_SUFFIXES))})")
            found.images += images
        elif not path.exists() and (text.endswith(("/", "\\")) or path.suffix.lower() not in IMAGE_SUFFIXES):
            found.problems[path] = f"{text}: no such file or folder"
        else:
            found.images.append(path)
    found.images = list(dict.fromkeys(found.images))
    return found


def plan_outputs(inputs: list[Path], out_dir: Path, targets: Targets) -> dict[Path, Path]:
    """Where each annotated image goes: ``out_dir / <input file name>``; checked up front."""
    if out_dir.exists() and not out_dir.is_dir():
        raise CliError(f"--out {out_dir} is a file; it must be a folder")
    plan: dict[Path, Path] = {}
    seen: dict[Path, Path] = {}
    for source in inputs:
        target = out_dir / source.name
        if target in seen:
            raise CliError(f"{seen[target]} and {source} would both be written to {target}; annotate them separately")
        seen[target] = source
        targets.add(target, f"the annotated copy of {source}")
        plan[source] = target
    return plan


def plan_masks(inputs: list[Path], mask: str, targets: Targets) -> dict[Path, Path]:
    """Where each mask goes: the file ``mask`` (a ``.png``) for one image, else
    ``mask/<stem>-mask.png`` (also for one image when ``mask`` is a folder or ends with ``/``)."""
    folder = Path(mask)
    if len(inputs) == 1 and not folder.is_dir() and not mask.endswith(("/", "\\")):
        if folder.suffix.lower() != ".png":
            raise UsageError(f"--mask {mask}: the mask is a PNG; give a file name ending in .png")
        targets.add(folder, "--mask")
        return {inputs[0]: folder}
    if folder.exists() and not folder.is_dir():
        raise CliError(f"--mask {mask} is a file; with several images it must be a folder")
    plan: dict[Path, Path] = {}
    for source in inputs:
        target = folder / f"{source.stem}-mask.png"
        if target in plan.values():
            raise CliError(f"two images would both write the mask {target}; process them separately")
        targets.add(target, f"the mask of {source}")
        plan[source] = target
    return plan


def check_mask_model(model: PoseModel, name: str) -> None:
    """A usage error unless the loaded model (``--model name``) computes segmentation masks
    (its info says so)."""
    details = model.info().details
    if details.get("enable_segmentation"):
        return
    if "enable_segmentation" in details:
        raise UsageError(f"--mask: --model {name} computes the mask only with --enable-segmentation")
    raise UsageError(f"--mask: --model {name} gives no segmentation mask; use e.g. --model blazepose-full "
                     "--enable-segmentation")


def person_mask(poses: list[Pose], height: int, width: int) -> np.ndarray:
    """The poses' ``segmentation`` masks (float32 ``[H, W]`` in [0, 1], image pixels) merged
    (the highest probability per pixel) as uint8 ``[H, W]`` 0..255; all 0 without a pose."""
    masks = [m for m in (getattr(p, "segmentation", None) for p in poses) if m is not None]
    if poses and not masks:
        raise ValueError("the model gave no segmentation mask with its poses")
    merged = np.zeros((height, width), np.float32)
    for m in masks:
        if m.shape != merged.shape:
            raise ValueError(f"a segmentation mask of {m.shape[1]}x{m.shape[0]} for a {width}x{height} image")
        np.maximum(merged, m, out=merged)
    return np.round(np.clip(merged, 0.0, 1.0) * 255.0).astype(np.uint8)


def save_image(array: np.ndarray, path: Path) -> None:
    """Write uint8 RGB ``array`` (JPEG at quality 95) through a new file renamed over
    ``path`` when complete."""
    from PIL import Image

    image = Image.fromarray(array)
    with replacing(path) as temp:
        if path.suffix.lower() in (".jpg", ".jpeg"):
            image.save(temp, quality=95)
        else:
            image.save(temp)


def _one_image(model: PoseModel, path: Path, options: PoseOptions, target: Path | None,
               boxes: bool, mask: Path | None = None) -> dict[str, Any]:
    """Estimate (and draw, and write the mask of) one image; returns its JSON record."""
    rgb = decode_image(path)  # EXIF orientation applied
    model.reset()  # photos are unrelated: no state from the previous one (video models)
    poses = model.estimate(rgb, options)
    if mask is not None:
        save_image(person_mask(poses, rgb.shape[0], rgb.shape[1]), mask)
    if target is not None:
        save_image(draw_poses(rgb, poses, options.min_part_score, options.min_pose_score, draw_boxes=boxes,
                              skeleton=model.info().skeleton), target)
    return image_record(rgb.shape[1], rgb.shape[0], poses)


def _fail(path: Path, message: str, console: Console, sink: JsonObjectWriter | None) -> None:
    console.error(naming(path, message))
    if sink is not None:
        sink.add(str(path), error_record(naming(path, message)))


def _process(model: PoseModel | None, args: argparse.Namespace, found: Inputs, plan: dict[Path, Path],
             sink: JsonObjectWriter | None, console: Console, masks: dict[Path, Path]) -> int:
    """Every image in turn, each result written as it comes; returns how many failed."""
    for path, problem in found.problems.items():
        _fail(path, problem, console, sink)
    failed = len(found.problems)
    if model is None:
        return failed
    for path in found.images:
        try:
            record = _one_image(model, path, args.pose_options, plan.get(path), args.boxes, masks.get(path))
        except Exception as exc:  # noqa: BLE001 - one bad image must not stop the others
            failed += 1
            _fail(path, one_line(exc), console, sink)
            if console.verbose:
                traceback.print_exc()
            continue
        if sink is not None:
            sink.add(str(path), record)
        where = "".join(f" -> {p[path]}" for p in (plan, masks) if path in p)
        console.info(f"{path}: {plural(len(record['poses']), 'pose')}{where}")
    return failed


def run(args: argparse.Namespace, console: Console) -> int:
    """Exit code 1 if any image failed (the others are still done)."""
    found = collect_images(args.paths, console)
    if not found.images and not found.problems:
        raise CliError("no images to process")
    targets = Targets(found.images, args.overwrite)
    out_dir = Path(args.out) if args.out else None
    plan = plan_outputs(found.images, out_dir, targets) if out_dir else {}
    masks = plan_masks(found.images, args.mask, targets) if args.mask and found.images else {}
    json_target = args.json if args.json or out_dir or masks else STDOUT
    targets.add(json_target, "--json")
    model = load_model(args, console) if found.images else None
    if model is not None and masks:
        check_mask_model(model, args.model)
    for folder in {p.parent for p in masks.values()} | ({out_dir} if out_dir else set()):
        folder.mkdir(parents=True, exist_ok=True)
    total = len(found.images) + len(found.problems)
    start = time.perf_counter()
    sink = JsonObjectWriter(json_target) if json_target else None
    try:
        failed = _process(model, args, found, plan, sink, console, masks)
    except KeyboardInterrupt:
        done = sink.count if sink is not None else 0
        where = f"; {sink.target} holds those" if sink is not None and sink.target != STDOUT else ""
        console.info(f"stopped after {done} of {total} images{where}")
        raise
    finally:
        if sink is not None:
            sink.close()
    elapsed = time.perf_counter() - start
    where = f" -> {json_target}" if json_target and json_target != STDOUT else ""
    console.info(f"{total - failed} of {total} images done, {failed} failed ({elapsed:.1f} s){where}")
    return 1 if failed else 0
