"""Result records and the output folder of a batch job.

One record per item, built with :mod:`posenet.serialize` (the JSON shape of ``posenet
image`` and ``posenet video``) plus the item's ``id`` and ``source``::

    image:  {"id", "source", "width", "height", "poses"}      failed: {"id", "source", "error"}
    frame:  {"id", "source", "frame", "time_s", "width", "height", "poses"}
            failed: {"id", "source", "frame", "time_s", "poses": [], "error"}

Layout of the output folder ``DIR``:

- ``part-<run>-<worker>.jsonl``: each worker appends to its own file, one line per
  record, flushed per record; a run killed mid-line leaves a last line that readers skip;
- ``part-<run>-<worker>-<n>.parquet`` (``format="parquet"``): one file per batch, written
  to a hidden temporary name and renamed, so a part is complete or absent;
- ``_job.json``: the model and pose options of the job (a rerun must match them);
- ``summary.json``: counts, failures, rates of the last run (written at its end).

The items done are those with a record in a part: a rerun skips them.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from ..pose import Pose
from ..serialize import coco_results, dumps, error_record, frame_record, image_record, jsonable
from .sources import Item

FORMATS: tuple[str, ...] = ("jsonl", "parquet")
JOB_FILE = "_job.json"
SUMMARY_FILE = "summary.json"
_OPTIONAL = ("frame", "time_s", "width", "height", "poses", "error")
"""Record fields that are absent (rather than null) when they do not apply."""


def make_record(item: Item, time_s: float | None, size: tuple[int, int] | None, poses: Sequence[Pose],
                error: str | None) -> dict[str, Any]:
    """The record of one item: ``size`` (width, height) of the decoded image, or ``None``."""
    head: dict[str, Any] = {"id": item.id, "source": item.source}
    if item.frame is not None:
        body = frame_record(item.frame, time_s or 0.0, poses, error=error)
        if size is not None and error is None:
            body = {"frame": body["frame"], "time_s": body["time_s"], "width": int(size[0]),
                    "height": int(size[1]), "poses": body["poses"]}
        return head | body
    if error is not None or size is None:
        return head | error_record(error or "no image")
    return head | image_record(size[0], size[1], poses)


# ---------------------------------------------------------------------------- parquet


def parquet_schema(names: Sequence[str] | None = None) -> Any:
    """The Arrow schema of records (poses nested as in the JSON), or of its fields
    ``names``; needs pyarrow."""
    pa = importlib.import_module("pyarrow")
    keypoint = pa.struct([("score", pa.float64()), ("part", pa.string()),
                          ("position", pa.struct([("x", pa.float64()), ("y", pa.float64())]))])
    pose = pa.struct([("score", pa.float64()), ("keypoints", pa.list_(keypoint))])
    fields = [("id", pa.string()), ("source", pa.string()), ("frame", pa.int64()), ("time_s", pa.float64()),
              ("width", pa.int64()), ("height", pa.int64()), ("poses", pa.list_(pose)), ("error", pa.string())]
    return pa.schema([f for f in fields if names is None or f[0] in names])


def records_table(records: Sequence[dict[str, Any]], schema: Any = None) -> Any:
    """A pyarrow Table of records (missing fields null)."""
    pa = importlib.import_module("pyarrow")
    schema = parquet_schema() if schema is None else schema
    return pa.Table.from_pylist([{name: r.get(name) for name in schema.names} for r in records], schema=schema)


def normalise(row: dict[str, Any]) -> dict[str, Any]:
    """A record read back from Arrow/parquet, as it was written (null optional fields dropped)."""
    return {k: v for k, v in row.items() if v is not None or k not in _OPTIONAL}


# ---------------------------------------------------------------------------- writing


def new_run_id() -> str:
    """A name for one run's parts (sortable by time, unique)."""
    import time

    return f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"


class PartWriter:
    """Records of one worker into its own part files under ``out_dir``."""

    def __init__(self, out_dir: str | os.PathLike[str], fmt: str, run_id: str, worker: str | None = None) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"Invalid format {fmt!r}. Should be one of {', '.join(FORMATS)}")
        self.out_dir, self.fmt = Path(out_dir), fmt
        self.stem = f"part-{run_id}-{worker or uuid.uuid4().hex[:8]}"
        self._sink: IO[str] | None = None
        self._count = 0

    def write(self, records: Sequence[dict[str, Any]]) -> None:
        """Append ``records`` (jsonl: flushed per record; parquet: one new file)."""
        if not records:
            return
        if self.fmt == "parquet":
            pq = importlib.import_module("pyarrow.parquet")
            target = self.out_dir / f"{self.stem}-{self._count:06d}.parquet"
            temporary = self.out_dir / f".tmp-{target.name}"
            pq.write_table(records_table(records), temporary)
            os.replace(temporary, target)
            self._count += 1
            return
        if self._sink is None:
            self._sink = (self.out_dir / f"{self.stem}.jsonl").open("a", encoding="utf-8")
        for record in records:
            self._sink.write(dumps(record) + "\n")
            self._sink.flush()

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None


def write_json_atomic(path: str | os.PathLike[str], value: Any) -> None:
    """Write ``value`` as indented JSON to a temporary file, then rename it into place."""
    target = Path(path)
    temporary = target.with_name(f".tmp-{uuid.uuid4().hex[:6]}-{target.name}")
    temporary.write_text(json.dumps(jsonable(value), indent=1, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(temporary, target)


def remove_temporaries(out_dir: str | os.PathLike[str]) -> None:
    """Delete temporary files an interrupted run left behind."""
    for path in Path(out_dir).glob(".tmp-*"):
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------- reading


def _jsonl_records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:  # the last line of a part whose writer was killed
                continue
            if isinstance(record, dict) and isinstance(record.get("id"), str):
                yield record


def iter_parts(out_dir: str | os.PathLike[str]) -> Iterator[tuple[str, Iterator[dict[str, Any]]]]:
    """``(file name, its records)`` for each part under ``out_dir``, in name order."""
    folder = Path(out_dir)
    for path in sorted(folder.glob("part-*.jsonl")):
        yield path.name, _jsonl_records(path)
    parquet = sorted(folder.glob("part-*.parquet"))
    if parquet:
        pq = importlib.import_module("pyarrow.parquet")
        for path in parquet:
            yield path.name, (normalise(row) for row in pq.read_table(path).to_pylist())


def iter_records(out_dir: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every record in the parts under ``out_dir`` (file by file, in name order)."""
    for _, records in iter_parts(out_dir):
        yield from records


def done_index(out_dir: str | os.PathLike[str]) -> dict[str, str | None]:
    """Item id -> its error (``None`` when it succeeded), for every item with a record."""
    index: dict[str, str | None] = {}
    if Path(out_dir).is_dir():
        for record in iter_records(out_dir):
            index.setdefault(record["id"], record.get("error"))
    return index


# ---------------------------------------------------------------------------- COCO


def coco_image_id(source: str) -> int | None:
    """COCO's image id from a file name such as ``000000000785.jpg`` (``None`` if not numeric)."""
    stem = Path(source).stem
    return int(stem) if stem.isdigit() else None


def _pose(data: dict[str, Any]) -> Pose:
    def number(value: Any) -> float:
        return math.nan if value is None else float(value)

    return Pose.from_dict({"score": number(data["score"]), "keypoints": [
        {"score": number(k["score"]), "part": k["part"],
         "position": {"x": number(k["position"]["x"]), "y": number(k["position"]["y"])}}
        for k in data["keypoints"]]})


def coco_entries(out_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """COCO results-format entries of every image record with a numeric file name, by image id."""
    entries: list[tuple[int, int, dict[str, Any]]] = []
    seen: set[str] = set()
    for record in iter_records(out_dir):
        image_id = coco_image_id(record["source"])
        if record.get("frame") is not None or "poses" not in record or image_id is None or record["id"] in seen:
            continue
        seen.add(record["id"])
        poses = [_pose(p) for p in record["poses"]]
        entries += [(image_id, i, jsonable(e)) for i, e in enumerate(coco_results(image_id, poses))]
    return [entry for _, _, entry in sorted(entries, key=lambda t: (t[0], t[1]))]
