"""The local engine: a pool of worker processes on this machine, no Ray.

Each worker (started with ``spawn``) loads the model once, with ``cores // workers``
ONNX Runtime threads unless the configuration sets them, decodes its images, estimates
and appends the records to its own part file. Video frames are read in order by this
process and sent to the workers in chunks. At most two tasks per worker are in flight,
so memory stays bounded; Ctrl-C lets the running tasks finish (their items are
recorded) and drops the rest.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from .job import BatchError, JobSpec, Statuses, available_cpus, with_threads
from .records import PartWriter
from .sources import ImageTask, Plan, VideoTask
from .work import Decoded, Estimator, decode_images, iter_video

Unit = ImageTask | list[Decoded]
"""What one pool task gets: images to decode, or decoded video frames."""

_STATE: dict[str, Any] = {}
"""The worker's estimator and part writer (or the error that stopped its start)."""


def _start_worker(spec: JobSpec, threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides how to stop
    _STATE["writer"] = PartWriter(spec.out_dir, spec.fmt, spec.run_id, f"w{multiprocessing.current_process().pid}")
    try:
        _STATE["estimator"] = Estimator(spec.model, with_threads(spec.config, threads), spec.options)
    except Exception as exc:  # noqa: BLE001 - raised by every task, so the job stops with it
        _STATE["error"] = exc


def _work(unit: Unit) -> list[tuple[str, str | None]]:
    """Run one task in a worker: records written, ``(id, error)`` returned."""
    if "error" in _STATE:
        raise _STATE["error"]
    decoded = decode_images(unit) if isinstance(unit, ImageTask) else unit
    records = _STATE["estimator"].records(decoded)
    _STATE["writer"].write(records)
    return [(r["id"], r.get("error")) for r in records]


def _units(plan: Plan, chunk: int) -> Iterator[Unit]:
    """The plan's tasks as pool tasks (videos read here, ``chunk`` frames at a time)."""
    for task in plan.tasks:
        if isinstance(task, VideoTask):
            frames: list[Decoded] = []
            for decoded in iter_video(task):
                frames.append(decoded)
                if len(frames) >= chunk:
                    yield frames
                    frames = []
            if frames:
                yield frames
        else:
            yield task


def _collect(pending: set[Future[Any]], on_done: Callable[[Statuses], None]) -> set[Future[Any]]:
    """Wait for at least one task; report the finished ones; the rest stay pending."""
    finished, still = wait(pending, return_when=FIRST_COMPLETED)
    for future in finished:
        on_done(future.result())
    return still


def run_local(plan: Plan, spec: JobSpec, on_done: Callable[[Statuses], None], options: Any = None) -> None:
    """Run the plan's tasks on ``spec.workers`` processes (default: one per CPU)."""
    cpus = available_cpus()
    workers = spec.workers or cpus
    threads = max(1, cpus // workers)
    context = multiprocessing.get_context("spawn")
    pending: set[Future[Any]] = set()
    started = [False]

    def report(statuses: Statuses) -> None:
        started[0] = True
        on_done(statuses)

    try:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                 initargs=(spec, threads)) as pool:
            try:
                for unit in _units(plan, spec.batch_size):
                    while len(pending) >= 2 * workers:
                        pending = _collect(pending, report)
                    pending.add(pool.submit(_work, unit))
                while pending:
                    pending = _collect(pending, report)
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
    except BrokenProcessPool:
        hint = ("; called from a script? Worker processes import the main module: call run_batch under "
                "`if __name__ == \"__main__\":`") if not started[0] else ""
        raise BatchError("a worker process died (out of memory?); the items recorded so far are kept: "
                         f"rerun the same command to do the rest{hint}") from None
