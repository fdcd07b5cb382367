"""``posenet eval``: COCO keypoint AP/AR of a model (:func:`posenet.evaluate.evaluate_coco`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from posenet.extras import require
from posenet.options import EVAL_PRESET

from ._args import Parents, load_model, positive_int
from ._output import CliError, Console, check_target, counted, resolved, write_json

EPILOG = """\
examples:
  posenet eval --gt person_keypoints_val2017.json --images val2017/
  posenet eval --gt keypoints.json --images imgs/ --out results.json --limit 100
  posenet eval --gt keypoints.json --images imgs/ --input-resolution 513 --output-stride 8
  posenet eval --gt keypoints.json --images imgs/ --preset camera     the camera demo's decoding

Prints COCO keypoint AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl (pycocotools).
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
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    """Prints the numbers on stdout; exit code 1 if any image could not be read."""
    require("eval", "posenet eval")
    from posenet.evaluate import STAT_NAMES, evaluate_coco

    gt, images = Path(args.gt), Path(args.images)
    if not images.is_dir():
        raise CliError(f"--images {images} is not a folder")
    if args.out:
        check_target(Path(args.out), args.overwrite, resolved([gt]))
    model = load_model(args, console)
    report = evaluate_coco(model, gt, images, args.pose_options, limit=args.limit,
                           progress=lambda records: counted(records, console, "image"))
    if args.out:
        write_json(args.out, report.results)
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
