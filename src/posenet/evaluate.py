"""COCO person-keypoint evaluation of a pose model (the ``eval`` extra: pycocotools).

Results use the COCO results format: one entry per detected pose, ``keypoints`` a flat
``[x1, y1, v1, ..., x17, y17, v17]`` in image pixels with the keypoint score as ``v``, and
the pose score as ``score``. PoseNet's 17 parts are COCO's 17 keypoints in COCO order.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InvalidImageError, PoseNetError
from .extras import require
from .families import PoseModel
from .images import decode_image
from .options import EVAL_PRESET, PoseOptions, pose_options
from .serialize import PERSON_CATEGORY_ID, coco_results

__all__ = ["PERSON_CATEGORY_ID", "STAT_NAMES", "EvalReport", "coco_results", "evaluate_coco", "keypoint_stats",
           "load_coco", "missing_images"]

STAT_NAMES: tuple[str, ...] = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
"""Names of COCOeval's ten keypoint summary numbers, in its order."""


def _pycocotools() -> tuple[Any, Any]:
    require("eval", "COCO evaluation")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    return COCO, COCOeval


def load_coco(annotations: str | Path | Any) -> Any:
    """A ``pycocotools.coco.COCO`` index of a ground-truth keypoints file (quietly); a
    ``COCO`` index given is returned as it is."""
    if hasattr(annotations, "dataset") and hasattr(annotations, "loadRes"):
        return annotations
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
        return dict.fromkeys(STAT_NAMES, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_dt = coco_gt.loadRes([dict(r, keypoints=list(r["keypoints"])) for r in results])
        evaluator = COCOeval(coco_gt, coco_dt, "keypoints")
        evaluator.params.imgIds = sorted(set(image_ids))
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(v) for name, v in zip(STAT_NAMES, evaluator.stats, strict=True)}


def _annotated(coco_gt: Any) -> list[dict[str, Any]]:
    return sorted(coco_gt.dataset.get("images", []), key=lambda im: im["id"])


def missing_images(annotations: str | Path | Any, images_dir: str | Path) -> list[str]:
    """File names of the annotated images (id order) that are not in ``images_dir``."""
    folder = Path(images_dir)
    present = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    return [im["file_name"] for im in _annotated(load_coco(annotations)) if im["file_name"] not in present]


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
    image_ms: list[float]
    """Milliseconds of pose estimation (decoding excluded) of each evaluated image."""
    missing: list[str]
    """Annotated images not in the folder, left out (``skip_missing``); else empty."""

    @property
    def median_ms(self) -> float | None:
        """Median of :attr:`image_ms` (``None`` if no image was evaluated)."""
        return statistics.median(self.image_ms) if self.image_ms else None


def evaluate_coco(
    model: PoseModel,
    annotations: str | Path | Any,
    images_dir: str | Path,
    options: PoseOptions | str = EVAL_PRESET,
    *,
    limit: int | None = None,
    progress: Callable[[list[dict[str, Any]]], Iterable[dict[str, Any]]] | None = None,
    skip_missing: bool = False,
) -> EvalReport:
    """Run multi-pose estimation on the images of a COCO keypoints file and score it.

    ``model`` is any :class:`posenet.PoseModel` (e.g. ``posenet.load()``); ``options``
    are pose options or a preset name, always run in multi mode (default: the ``coco``
    preset, the reference's COCO demo: 15 poses, score threshold 0.1, NMS radius 20
    model-input pixels, none dropped). Images are read as stored (EXIF orientation
    ignored: COCO annotates the stored pixels), in id order, the first ``limit`` of them
    if given; ``progress`` may wrap the list of image records (e.g. ``tqdm``). Images
    that cannot be read are listed in ``failures`` and left out of the evaluation; with
    ``skip_missing`` those not in the folder are left out first (``missing``), and
    ``limit`` counts the others. ``annotations``: a file or a loaded ``COCO`` index.
    """
    opts = pose_options(options, mode="multi")
    coco_gt = load_coco(annotations)
    folder = Path(images_dir)
    images = _annotated(coco_gt)
    missing = missing_images(coco_gt, folder) if skip_missing else []
    absent = set(missing)
    images = [im for im in images if im["file_name"] not in absent][:limit]
    results: list[dict[str, Any]] = []
    done: list[int] = []
    failures: list[tuple[str, str]] = []
    image_ms: list[float] = []
    start = time.perf_counter()
    for record in progress(images) if progress else images:
        name = record["file_name"]
        try:
            rgb = decode_image(folder / name, exif=False)
        except (InvalidImageError, OSError) as exc:
            failures.append((name, str(exc)))
            continue
        began = time.perf_counter()
        poses = model.estimate_batch([rgb], opts)[0]  # an unrelated still: stream models start afresh
        image_ms.append((time.perf_counter() - began) * 1000.0)
        results += coco_results(record["id"], poses)
        done.append(record["id"])
    seconds = time.perf_counter() - start
    stats = keypoint_stats(coco_gt, results, done) if done else dict.fromkeys(STAT_NAMES, 0.0)
    return EvalReport(stats, results, done, failures, seconds, image_ms, missing)
