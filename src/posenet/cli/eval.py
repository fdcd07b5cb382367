"""``posenet eval``: COCO keypoint AP/AR of a model (:func:`posenet.evaluate.evaluate_coco`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from posenet.extras import require
from posenet.options import EVAL_PRESET

from ._args import Parents, load_model, positive_int
from ._files import Targets, write_json
from ._output import CliError, Console, counted, naming

EPILOG = """\
examples:
  posenet eval --gt person_keypoints_val2017.json --images val2017/
  posenet eval --gt keypoints.json --images imgs/ --out results.json --limit 100
  posenet eval --gt keypoints.json --images imgs/ --input-resolution 513 --output-stride 8
  posenet eval --gt keypoints.json --images imgs/ --preset camera     the camera demo's decoding

Prints COCO keypoint AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl (pycocotools)
and the median milliseconds of pose estimation per image. Every annotated image must be
in --images (--allow-missing evaluates those that are; --limit then counts those).
--out writes COCO results format: [{"image_id", "category_id": 1, "keypoints":
[x1, y1, s1, ...], "score"}], keypoint score as the visibility value.
Always multi-pose; decoding defaults come from --preset (coco: the reference's COCO demo,
15 poses, score threshold 0.1, NMS radius 20, none dropped).
"""


def add_parser(subparsers: Any, parents: Parents) -> None:
    """Register the verb."""
    pose = parents.pose(EVAL_PRESET, mode_flag=False, drawing=False)
    p = subparsers.add_parser("eval", parents=[parents.common, parents.model, pose],
                              formatter_class=argparse.RawDescriptionHelpFormatter, help="COCO keypoint AP/AR",
                              description="Run multi-pose on COCO images and score it with pycocotools.",
                              epilog=EPILOG)
    p.add_argument("--gt", required=True, metavar="COCO_KEYPOINTS.json", help="COCO person-keypoints annotations")
    p.add_argument("--images", required=True, metavar="DIR", help="folder holding the annotated images")
    p.add_argument("--out", metavar="results.json", help="write detections in COCO results format")
    p.add_argument("--limit", type=positive_int, metavar="N", help="only the first N images (by id)")
    p.add_argument("--allow-missing", action="store_true",
                   help="evaluate the annotated images that are in --images (default: refuse if any is missing)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(run=run)


def _check_images(coco: Any, args: argparse.Namespace, console: Console) -> None:
    """Refuse (one line) if annotated images are missing from the folder, unless
    --allow-missing; with it, say how many are left out."""
    from posenet.evaluate import missing_images

    records = sorted(coco.dataset.get("images", []), key=lambda im: im["id"])
    if not records:
        raise CliError(f"{args.gt} annotates no images")
    wanted = records if args.allow_missing else records[:args.limit]
    names = {im["file_name"] for im in wanted}
    missing = [name for name in missing_images(coco, args.images) if name in names]
    if len(missing) == len(wanted):
        raise CliError(f"none of the {len(wanted)} images {args.gt} annotates is in {args.images}")
    if missing and not args.allow_missing:
        raise CliError(f"{args.images} lacks {len(missing)} of the {len(wanted)} images {args.gt} annotates "
                       f"(e.g. {missing[0]}); pass --allow-missing to evaluate the {len(wanted) - len(missing)} there")
    if missing:
        console.warning(f"{len(missing)} of the {len(wanted)} annotated images are not in {args.images}: left out")


def run(args: argparse.Namespace, console: Console) -> int:
    """Prints the numbers on stdout; exit code 1 if any image could not be read."""
    require("eval", "posenet eval")
    from posenet.evaluate import STAT_NAMES, evaluate_coco, load_coco

    gt, images = Path(args.gt), Path(args.images)
    if not images.is_dir():
        raise CliError(f"--images {images}: " + ("not a folder" if images.exists() else "no such folder"))
    Targets([gt], args.overwrite).add(args.out, "--out")
    coco = load_coco(gt)
    _check_images(coco, args, console)
    model = load_model(args, console)
    report = evaluate_coco(model, coco, images, args.pose_options, limit=args.limit, skip_missing=args.allow_missing,
                           progress=lambda records: counted(records, console, "image"))
    for name, reason in report.failures:
        console.error(naming(images / name, reason))
    n = len(report.image_ids)
    if report.median_ms is None:
        raise CliError(f"no image could be evaluated ({len(report.failures)} could not be read)")
    if args.out:
        write_json(args.out, report.results)
    rate = n / report.seconds if report.seconds > 0 else 0.0
    print(f"images     {n} evaluated, {len(report.failures)} failed, {len(report.results)} poses ({rate:.1f} images/s)")
    print(f"ms/image   {report.median_ms:.1f} (median, pose estimation only)")
    for name in STAT_NAMES:
        print(f"{name:<10} {report.stats[name]:.3f}")
    if args.out:
        console.info(f"results -> {args.out}")
    return 1 if report.failures else 0
