"""Batch jobs: poses in many images and video frames, on this machine or on Ray.

>>> from posenet.batch import run_batch
>>> summary = run_batch(["photos/", "clip.mp4"], "out/", options="camera")   # doctest: +SKIP
>>> summary.ok, summary.failed, summary.items_per_s                          # doctest: +SKIP

- :func:`run_batch`: sources (images, folders, globs, manifests, videos) -> one record
  per item in part files under the output folder, resumable, plus ``summary.json``
  (``engine="local"``: worker processes; ``engine="ray"``: Ray Data);
- :func:`estimate_dataset`: a Ray Dataset of images (or paths) -> a Dataset of pose
  records, for use inside one's own Ray pipelines;
- :func:`iter_records`: read the records of an output folder back.

Ray is imported only by the Ray engine and :func:`estimate_dataset` (the ``ray`` extra).
"""

from __future__ import annotations

from .job import ENGINES, BatchError, BatchSummary, run_batch
from .progress import Progress, TextProgress
from .ray_engine import RayOptions, estimate_dataset
from .records import FORMATS, SUMMARY_FILE, iter_records
from .sources import IMAGE_SUFFIXES, VIDEO_SUFFIXES, expand_sources

__all__ = [
    "ENGINES",
    "FORMATS",
    "IMAGE_SUFFIXES",
    "SUMMARY_FILE",
    "VIDEO_SUFFIXES",
    "BatchError",
    "BatchSummary",
    "Progress",
    "RayOptions",
    "TextProgress",
    "estimate_dataset",
    "expand_sources",
    "iter_records",
    "run_batch",
]
