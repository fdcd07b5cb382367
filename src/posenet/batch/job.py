"""A batch job from sources to an output folder: :func:`run_batch`.

Engine-independent: expands the sources, checks the folder's settings, plans the items
not done yet, hands the tasks to an engine (:mod:`.local` or :mod:`.ray_engine`), then
writes ``summary.json`` and, when asked, COCO results.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PoseNetError
from ..extras import require
from ..families import DEFAULT_MODEL, get_family
from ..options import PoseOptions, pose_options
from ..serialize import dumps, jsonable
from .progress import Progress
from .records import (
    FORMATS,
    JOB_FILE,
    SUMMARY_FILE,
    coco_entries,
    done_index,
    iter_parts,
    new_run_id,
    remove_temporaries,
    write_json_atomic,
)
from .sources import Plan, expand_sources, is_video, plan_tasks

ENGINES: tuple[str, ...] = ("local", "ray")
MAX_FAILURES_LISTED = 10_000
"""``summary.json`` lists at most this many failures (all are counted)."""

Statuses = Sequence[tuple[str, str | None]]
"""``(item id, error or None)`` of items an engine finished."""


class BatchError(PoseNetError, ValueError):
    """A batch job cannot start (bad output folder, other settings, nothing to do)."""


@dataclass(frozen=True)
class JobSpec:
    """What every worker needs: the model, the options and where to write."""

    out_dir: str
    model: str
    config: Any
    options: PoseOptions
    fmt: str
    run_id: str
    batch_size: int
    workers: int | None


def with_threads(config: Any, threads: int) -> Any:
    """``config`` with ``num_threads`` set unless the user set it (other fields kept)."""
    names = {f.name for f in dataclasses.fields(config)} if dataclasses.is_dataclass(config) else set()
    if "num_threads" in names and config.num_threads is None:
        return dataclasses.replace(config, num_threads=threads)
    return config


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass(frozen=True)
class BatchSummary:
    """What a run did. ``ok``/``failed``/``failures`` cover every record in the folder
    (all runs); ``processed`` and the rates this run. ``startup_s``: from the start of the
    run to the first item done (engine start, model loads); ``steady_items_per_s``: the
    rate after that."""

    out_dir: str
    engine: str
    format: str
    items: int
    skipped: int
    processed: int
    remaining: int
    ok: int
    failed: int
    failures: tuple[dict[str, Any], ...]
    wall_s: float
    items_per_s: float
    startup_s: float
    steady_items_per_s: float
    coco_file: str | None = None
    coco_results: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether every item of the sources has a record."""
        return self.remaining == 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        out = dataclasses.asdict(self)
        out["failures"] = list(self.failures)
        out["notes"] = list(self.notes)
        out["complete"] = self.complete
        return out


@dataclass
class _Tracker:
    """Counts what the engine reports and forwards it to the progress reporter."""

    progress: Progress | None
    start: float = field(default_factory=time.perf_counter)
    processed: int = 0
    first: tuple[float, int] | None = None
    last: float = 0.0

    def __call__(self, statuses: Statuses) -> None:
        now = time.perf_counter()
        self.processed += len(statuses)
        self.first = self.first or (now, len(statuses))
        self.last = now
        if self.progress is not None:
            self.progress.advance(len(statuses), [(i, e) for i, e in statuses if e is not None])

    def rates(self) -> tuple[float, float]:
        """(start-up seconds, items per second after the first report)."""
        if self.first is None:
            return 0.0, 0.0
        t0, n0 = self.first
        steady = (self.processed - n0) / (self.last - t0) if self.last > t0 else 0.0
        return t0 - self.start, steady


def job_settings(model: str, config: Any, options: PoseOptions, fmt: str) -> dict[str, Any]:
    """What must match between runs into one folder (threads excluded)."""
    is_instance = dataclasses.is_dataclass(config) and not isinstance(config, type)
    fields = dataclasses.asdict(config) if is_instance else {"repr": repr(config)}
    fields.pop("num_threads", None)
    result: dict[str, Any] = jsonable({"model": model, "config": fields, "options": options.to_dict(), "format": fmt})
    return result


def prepare_out_dir(out_dir: Path, settings: dict[str, Any]) -> None:
    """Create the folder, or check that it holds a job with the same settings."""
    job = out_dir / JOB_FILE
    if out_dir.exists() and not out_dir.is_dir():
        raise BatchError(f"{out_dir} is a file; the output must be a folder")
    if job.is_file():
        before = json.loads(job.read_text(encoding="utf-8"))
        if before != settings:
            changed = "; ".join(_differences(before, settings))
            raise BatchError(f"{out_dir} holds results made with other settings ({changed}): rerun with the same "
                             "options, or choose another output folder")
        return
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise BatchError(f"{out_dir} is not empty and holds no batch job ({JOB_FILE}); choose a new or empty folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(job, settings)


def _differences(before: dict[str, Any], now: dict[str, Any], prefix: str = "") -> list[str]:
    """``name: X before, Y now`` for each setting that differs (nested names dotted)."""
    out = []
    for key in sorted({*before, *now}):
        old, new = before.get(key), now.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            out += _differences(old, new, f"{prefix}{key}.")
        elif old != new:
            out.append(f"{prefix}{key}: {json.dumps(old)} before, {json.dumps(new)} now")
    return out


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock file for one run (two runs into one folder would do items twice)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with (folder / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BatchError(f"another run is writing to {folder}; wait for it or choose another folder") from None
        yield


def _count_frames(path: str) -> int | None:
    from ..video import VideoReader

    with VideoReader(path) as reader:
        return reader.frames_in_range()


def make_plan(sources: Iterable[str | os.PathLike[str]], out_dir: Path, *, every: int, batch_size: int,
              max_items: int | None) -> Plan:
    """The items of the sources not done in ``out_dir`` yet, as tasks."""
    notes: list[str] = []
    paths = expand_sources(sources, notes)
    if any(is_video(p) for p in paths):
        require("video", "posenet batch on videos")
    plan = plan_tasks(paths, done_index(out_dir), every=every, batch_size=batch_size, max_items=max_items,
                      count_frames=_count_frames)
    plan.notes += notes
    if plan.items == 0:
        raise BatchError("no images or videos in the sources" + (f" ({'; '.join(notes)})" if notes else ""))
    return plan


def summarise(spec: JobSpec, engine: str, plan: Plan, tracker: _Tracker, coco: str | None) -> BatchSummary:
    """Count the records in the folder, write ``summary.json`` (and the COCO file)."""
    seen: dict[str, str | None] = {}
    failures: list[dict[str, Any]] = []
    processed = 0  # records in this run's parts: also those a stop let finish unreported
    for name, records in iter_parts(spec.out_dir):
        for record in records:
            processed += name.startswith(f"part-{spec.run_id}-")
            if record["id"] in seen:
                continue
            seen[record["id"]] = record.get("error")
            if record.get("error") is not None and len(failures) < MAX_FAILURES_LISTED:
                failures.append({k: record[k] for k in ("id", "source", "frame", "error") if k in record})
    coco_count = None
    if coco is not None:
        entries = coco_entries(spec.out_dir)
        Path(coco).parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(coco).with_name(f".tmp-{Path(coco).name}")
        temporary.write_text("[\n" + ",\n".join(dumps(e) for e in entries) + "\n]\n", encoding="utf-8")
        os.replace(temporary, coco)
        coco_count = len(entries)
    wall = time.perf_counter() - tracker.start
    startup, steady = tracker.rates()
    failed = sum(1 for e in seen.values() if e is not None)
    summary = BatchSummary(
        out_dir=spec.out_dir, engine=engine, format=spec.fmt, items=plan.items, skipped=plan.skipped,
        processed=processed, remaining=plan.held_back + max(plan.pending - processed, 0),
        ok=len(seen) - failed, failed=failed, failures=tuple(failures), wall_s=round(wall, 3),
        items_per_s=round(processed / wall, 2) if wall > 0 else 0.0, startup_s=round(startup, 3),
        steady_items_per_s=round(steady, 2), coco_file=coco, coco_results=coco_count, notes=tuple(plan.notes))
    write_json_atomic(Path(spec.out_dir) / SUMMARY_FILE, summary.to_dict())
    return summary


def check_arguments(engine: str, fmt: str, every: int, batch_size: int, workers: int | None) -> None:
    """``ValueError`` naming the first invalid argument."""
    if engine not in ENGINES:
        raise ValueError(f"Invalid engine {engine!r}. Should be one of {', '.join(ENGINES)}")
    if fmt not in FORMATS:
        raise ValueError(f"Invalid format {fmt!r}. Should be one of {', '.join(FORMATS)}")
    for name, value in (("every", every), ("batch_size", batch_size), ("workers", workers)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"Invalid {name} {value!r}. Should be an integer >= 1")


def run_batch(sources: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str], model_config: Any = None,
              options: PoseOptions | str | None = None, *, model: str = DEFAULT_MODEL, engine: str = "local",
              workers: int | None = None, every: int = 1, fmt: str = "jsonl",
              coco: str | os.PathLike[str] | None = None, batch_size: int = 8, max_items: int | None = None,
              ray: Any = None, progress: Progress | None = None) -> BatchSummary:
    """Estimate poses in every image and video frame of ``sources``; records under ``out_dir``.

    ``model_config``: the family's configuration (default: its defaults); ``options``:
    pose options or a preset name (default ``reference``). ``engine``: ``"local"`` (a
    pool of ``workers`` processes, default one per CPU) or ``"ray"`` (Ray Data; ``ray``:
    a :class:`~posenet.batch.RayOptions`). ``every``: every n-th video frame;
    ``max_items``: stop after that many items (a rerun does the rest); ``coco``: also
    write COCO results there. A rerun into the same folder skips the items done.
    """
    check_arguments(engine, fmt, every, batch_size, workers)
    family = get_family(model)
    config = family.config_type() if model_config is None else model_config
    opts = pose_options(options)
    folder = Path(out_dir)
    prepare_out_dir(folder, job_settings(model, config, opts, fmt))
    with locked(folder):
        remove_temporaries(folder)
        tracker = _Tracker(progress)
        plan = make_plan(sources, folder, every=every, batch_size=batch_size, max_items=max_items)
        spec = JobSpec(str(folder.resolve()), model, config, opts, fmt, new_run_id(), batch_size, workers)
        return _run(engine, plan, spec, tracker, ray, None if coco is None else os.fspath(coco))


def _run(engine: str, plan: Plan, spec: JobSpec, tracker: _Tracker, ray: Any, coco: str | None) -> BatchSummary:
    progress = tracker.progress
    if progress is not None:
        progress.start(plan.pending, plan.skipped)
    try:
        if plan.tasks:
            _engine(engine)(plan, spec, tracker, ray)
    except KeyboardInterrupt:  # what was recorded stays; say so in the summary
        summarise(spec, engine, plan, tracker, None)
        raise
    finally:
        if progress is not None:
            progress.close()
    return summarise(spec, engine, plan, tracker, coco)


def _engine(name: str) -> Callable[[Plan, JobSpec, Callable[[Statuses], None], Any], None]:
    if name == "ray":
        from .ray_engine import run_ray

        return run_ray
    from .local import run_local

    return run_local
