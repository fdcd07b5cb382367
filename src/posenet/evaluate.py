"""COCO person-keypoint evaluation of a PoseNet model (the ``eval`` extra: pycocotools).

Results use the COCO results format: one entry per detected pose, ``keypoints`` a flat
``[x1, y1, v1, ..., x17, y17, v17]`` in image pixels with the keypoint score as ``v``, and
the pose score as ``score``. PoseNet's 17 parts are COCO's 17 keypoints in COCO order.
"""

from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TypeVar

import numpy as np
from PIL import Image

from .errors import PoseNetError
from .pose import Pose

PERSON_CATEGORY_ID = 1
STAT_NAMES: tuple[str, ...] = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
"""Names of COCOeval's ten keypoint summary numbers, in its order."""

T = TypeVar("T")


def coco_results(image_id: int, poses: Sequence[Pose]) -> list[dict[str, Any]]:
    """COCO results-format entries for the poses found in one image."""
    return [
        {
            "image_id": int(image_id),
            "category_id": PERSON_CATEGORY_ID,
            "keypoints": [
                float(v) for k in pose.keypoints for v in (k.position.x, k.position.y, k.score)
            ],
            "score": float(pose.score),
        }
        for pose in poses
    ]


def _pycocotools() -> tuple[Any, Any]:
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as exc:
        raise PoseNetError(
            "COCO evaluation needs pycocotools: pip install 'posenet-py[eval]'"
        ) from exc
    return COCO, COCOeval


def load_coco(annotations: str | Path) -> Any:
    """A ``pycocotools.coco.COCO`` index of a ground-truth keypoints file (quietly)."""
    COCO, _ = _pycocotools()
    path = Path(annotations)
    if not path.is_file():
        raise PoseNetError(f"{path}: no such annotations file")
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            return COCO(str(path))
        except (AssertionError, ValueError, KeyError, TypeError) as exc:
            raise PoseNetError(f"{path}: not a COCO annotations file ({exc})") from exc


def keypoint_stats(coco_gt: Any, results: Sequence[dict[str, Any]], image_ids: Iterable[int]) -> dict[str, float]:
    """COCOeval's keypoint summary (:data:`STAT_NAMES` -> value) over ``image_ids``.

    With no results at all every number is 0.0 (COCO's loader rejects an empty list).
    """
    _, COCOeval = _pycocotools()
    if not results:
        return {name: 0.0 for name in STAT_NAMES}
    with contextlib.redirect_stdout(io.StringIO()):
        coco_dt = coco_gt.loadRes([dict(r, keypoints=list(r["keypoints"])) for r in results])
        evaluator = COCOeval(coco_gt, coco_dt, "keypoints")
        evaluator.params.imgIds = sorted(set(image_ids))
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(v) for name, v in zip(STAT_NAMES, evaluator.stats)}


@dataclass
class EvalReport:
    """What :func:`evaluate_coco` measured."""

    stats: dict[str, float]
    """COCO keypoint AP/AR numbers, see :data:`STAT_NAMES` (fractions in [0, 1])."""
    results: list[dict[str, Any]]
    """Detections in COCO results format."""
    image_ids: list[int]
    """Images that were evaluated."""
    failures: list[tuple[str, str]]
    """``(file name, reason)`` of images that could not be read; not evaluated."""
    seconds: float
    """Wall time spent reading images and estimating poses."""


def _read_rgb(path: Path) -> np.ndarray:
    """Stored pixels as RGB, EXIF orientation ignored (COCO annotates the stored pixels)."""
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def evaluate_coco(
    net: Any,
    annotations: str | Path,
    images_dir: str | Path,
    *,
    max_detections: int = 15,
    score_threshold: float = 0.1,
    nms_radius: float = 20,
    limit: int | None = None,
    progress: Callable[[list[dict[str, Any]]], Iterable[dict[str, Any]]] | None = None,
) -> EvalReport:
    """Run multi-pose estimation on the images of a COCO keypoints file and score it.

    ``net`` is a :class:`posenet.PoseNet`; decoding defaults follow the reference's COCO
    demo (15 detections, score threshold 0.1, NMS radius 20 model-input pixels). Images
    are taken in id order, the first ``limit`` of them if given; ``progress`` may wrap
    the list of image records (e.g. ``tqdm``). Images that cannot be read are listed in
    ``failures`` and left out of the evaluation.
    """
    coco_gt = load_coco(annotations)
    images = sorted(coco_gt.dataset.get("images", []), key=lambda im: im["id"])[:limit]
    folder = Path(images_dir)
    results: list[dict[str, Any]] = []
    done: list[int] = []
    failures: list[tuple[str, str]] = []
    start = time.perf_counter()
    for record in progress(images) if progress else images:
        name = record["file_name"]
        try:
            rgb = _read_rgb(folder / name)
        except OSError as exc:
            failures.append((name, str(exc)))
            continue
        poses = net.estimate_multiple_poses(
            rgb, max_detections=max_detections, score_threshold=score_threshold, nms_radius=nms_radius
        )
        results += coco_results(record["id"], poses)
        done.append(record["id"])
    seconds = time.perf_counter() - start
    stats = keypoint_stats(coco_gt, results, done) if done else {name: 0.0 for name in STAT_NAMES}
    return EvalReport(stats, results, done, failures, seconds)
