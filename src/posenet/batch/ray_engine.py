"""The Ray engine (Ray Data) and the library entry for Ray Datasets.

A job is a dataset of tasks: read and decode in CPU tasks (``read_cpus`` each), estimate
in an actor pool (``workers`` actors, ``actor_cpus`` each) that loads the model once per
actor and calls ``estimate_batch``; each actor appends its records to its own part file,
so only ids and errors reach the driver. The default requests are fractional (0.25 and
0.5 CPU): with whole CPUs, 2 actors on a 2-CPU machine leave no CPU for reading and the
pipeline stalls ("backpressured").

Ray is imported only here, only when used (the ``ray`` extra).
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import pickle
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..extras import MissingExtraError
from ..families import DEFAULT_MODEL, get_family
from ..options import PoseOptions, pose_options
from .job import JobSpec, Statuses, available_cpus, with_threads
from .records import PartWriter, parquet_schema, records_table
from .sources import ImageTask, Item, Plan, Task
from .work import Decoded, Estimator, decode_images, error_text, iter_video

BLOCK_BYTES_PER_ITEM = 1 << 20
"""Target block size per item of a block (so that one video's frames spread over the actors)."""
RECORD_COLUMNS = ("width", "height", "poses", "error")
"""The columns :func:`estimate_dataset` adds."""


@dataclass(frozen=True)
class RayOptions:
    """How the Ray engine runs: ``address`` of an existing cluster (``None``: a local
    Ray started for the job, unless one is already initialised in this process), CPUs
    requested per estimating actor and per read task, and more ``ray.init`` arguments."""

    address: str | None = None
    actor_cpus: float = 0.5
    read_cpus: float = 0.25
    init_args: dict[str, Any] = field(default_factory=dict)
    block_items: int = 32
    """Images per read task and per block an actor takes (it estimates them ``batch_size``
    at a time): fewer, larger tasks cost Ray less scheduling."""
    readers: int | None = None
    """Read tasks at once (default: one per two actors). Decoding costs about a quarter of
    estimating; more readers only start more worker processes, which Ray stops when idle
    and starts again (on 2 CPUs that churn cost as much CPU as the estimation)."""

    def __post_init__(self) -> None:
        for name in ("actor_cpus", "read_cpus"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1024:
                raise ValueError(f"Invalid {name} {value!r}. Should be a number in (0, 1024]")
        for name in ("block_items", "readers"):
            value = getattr(self, name)
            if (value is not None or name == "block_items") and (
                    isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"Invalid {name} {value!r}. Should be an integer >= 1")


def import_ray() -> Any:
    """The ``ray`` module with Ray Data, or :class:`~posenet.extras.MissingExtraError`."""
    try:  # through importlib: type checking needs no Ray
        ray = importlib.import_module("ray")
        importlib.import_module("ray.data")
    except ImportError:
        raise MissingExtraError("the Ray engine needs the ray extra: pip install 'posenet-py[ray]'") from None
    return ray


def _start_ray(ray: Any, options: RayOptions) -> bool:
    """Connect to or start Ray unless it is running here; whether this call started it."""
    if ray.is_initialized():
        return False
    env = {k: v for k, v in os.environ.items() if k.startswith("POSENET_")}  # model folder, limits
    args: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False,
                            "runtime_env": {"env_vars": env}}
    if options.address is None:
        args |= {"num_cpus": available_cpus(), "include_dashboard": False}
    ray.init(address=options.address, **(args | options.init_args))
    return True


def _quiet(ds: Any, block_bytes: int) -> None:
    """No Ray progress bars or banners for this dataset; blocks of about ``block_bytes``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Ray's own, on copying its context
        context = ds.context
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        context.target_max_block_size = block_bytes
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "Progress bars disabled"


def _actor_threads(config: Any, cpus: float) -> Any:
    return with_threads(config, max(1, math.floor(cpus)))


# ---------------------------------------------------------------------------- the job


def _regroup(tasks: list[Task], size: int) -> Iterator[Task]:
    """The tasks with consecutive image tasks merged into tasks of up to ``size`` images."""
    images: list[Item] = []
    for task in tasks:
        if isinstance(task, ImageTask):
            images += task.items
            while len(images) >= size:
                yield ImageTask(tuple(images[:size]))
                images = images[size:]
        else:
            yield task
    if images:
        yield ImageTask(tuple(images))


def _decode_row(row: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A task's items, decoded (a CPU task): one row per item."""
    task = pickle.loads(row["task"])
    decoded = decode_images(task) if isinstance(task, ImageTask) else iter_video(task)
    for d in decoded:
        image = d.image if d.image is not None else np.zeros((0, 0, 3), np.uint8)
        yield {"id": d.item.id, "source": d.item.source, "frame": -1 if d.item.frame is None else d.item.frame,
               "time_s": math.nan if d.time_s is None else d.time_s, "image": image, "error": d.error or ""}


def _images(batch: Any, column: str) -> list[np.ndarray]:
    """The arrays of an image column of a pyarrow batch (fixed or variable shape)."""
    return [a for chunk in batch.column(column).chunks for a in chunk.to_numpy()]


def _decoded(batch: Any) -> list[Decoded]:
    images = _images(batch, "image")
    rows = zip(*(batch.column(c).to_pylist() for c in ("id", "source", "frame", "time_s", "error")), images,
               strict=True)
    return [Decoded(Item(i, s, None if f < 0 else f), a if a.size else None, e or None,
                    None if math.isnan(t) else t) for i, s, f, t, e, a in rows]


class _JobActor:
    """Estimates batches and writes their records to this actor's own part file."""

    def __init__(self, spec: JobSpec, cpus: float) -> None:
        self.estimator = Estimator(spec.model, _actor_threads(spec.config, cpus), spec.options)
        self.writer = PartWriter(spec.out_dir, spec.fmt, spec.run_id, f"r{uuid.uuid4().hex[:8]}")

    def __call__(self, batch: Any) -> dict[str, np.ndarray]:
        records = self.estimator.records(_decoded(batch))
        self.writer.write(records)
        return {"id": np.array([r["id"] for r in records], dtype=object),
                "error": np.array([r.get("error") or "" for r in records], dtype=object)}


def run_ray(plan: Plan, spec: JobSpec, on_done: Callable[[Statuses], None], options: RayOptions | None) -> None:
    """Run the plan on Ray Data; Ray is shut down afterwards if this call started it."""
    ray = import_ray()
    settings = options or RayOptions()
    started = _start_ray(ray, settings)
    try:
        workers = spec.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        rows = [{"task": pickle.dumps(task)} for task in _regroup(plan.tasks, settings.block_items)]
        ds = ray.data.from_items(rows, override_num_blocks=min(len(rows), 1024))
        _quiet(ds, max(settings.block_items, spec.batch_size) * BLOCK_BYTES_PER_ITEM)
        readers = settings.readers or max(1, workers // 2)
        ds = ds.flat_map(_decode_row, num_cpus=settings.read_cpus, compute=ray.data.TaskPoolStrategy(size=readers))
        ds = ds.map_batches(_JobActor, batch_size=spec.batch_size, batch_format="pyarrow",
                            compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=settings.actor_cpus,
                            fn_constructor_kwargs={"spec": spec, "cpus": settings.actor_cpus}, max_restarts=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "only received N inputs" for small jobs
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                on_done([(str(i), str(e) or None) for i, e in zip(batch["id"], batch["error"], strict=True)])
    finally:
        if started:
            ray.shutdown()


# ---------------------------------------------------------------------------- library entry


def _decode_column(batch: Any, column: str) -> Any:
    """Paths or encoded bytes in ``column`` decoded (a CPU task): adds the image and error columns."""
    from ..images import decode_image

    tensors = importlib.import_module("ray.data.extensions").ArrowTensorArray
    pa = importlib.import_module("pyarrow")
    images: list[np.ndarray] = []
    errors: list[str | None] = []
    for value in batch.column(column).to_pylist():
        try:
            images.append(decode_image(value))
            errors.append(None)
        except Exception as exc:  # noqa: BLE001 - recorded in the row's error
            images.append(np.zeros((0, 0, 3), np.uint8))
            errors.append(error_text(exc))
    array = np.empty(len(images), dtype=object)
    array[:] = images
    out = batch.append_column("__posenet_image", tensors.from_numpy(array))
    return out.append_column("__posenet_error", pa.array(errors, pa.string()))


class _DatasetActor:
    """Adds the record columns to batches of images; drops the pixels."""

    def __init__(self, model: str, config: Any, options: PoseOptions, column: str, decoded: bool) -> None:
        self.estimator = Estimator(model, config, options)
        self.column, self.decoded = column, decoded
        self.schema = parquet_schema(RECORD_COLUMNS)

    def __call__(self, batch: Any) -> Any:
        image_column = "__posenet_image" if self.decoded else self.column
        errors = batch.column("__posenet_error").to_pylist() if self.decoded else [None] * batch.num_rows
        items = [Decoded(Item(str(n), ""), a if a.size else None, e)
                 for n, (a, e) in enumerate(zip(_images(batch, image_column), errors, strict=True))]
        table = records_table(self.estimator.records(items), self.schema)
        drop = ["__posenet_image", "__posenet_error"] if self.decoded else [self.column]
        out = batch.drop_columns(drop)
        for name in RECORD_COLUMNS:
            out = out.append_column(table.schema.field(name), table.column(name))
        return out


def estimate_dataset(ds: Any, model_config: Any = None, options: PoseOptions | str | None = None, *,
                     model: str = DEFAULT_MODEL, column: str | None = None, decode: bool = False, batch_size: int = 8,
                     concurrency: int = 1, actor_cpus: float = 0.5, read_cpus: float = 0.25,
                     **ray_remote_args: Any) -> Any:
    """Map a Ray Dataset of images to one of pose records (lazily, like any transform).

    ``column`` (default ``"image"``) holds uint8 ``[H, W, 3]`` RGB arrays (as
    ``ray.data.read_images`` gives them), or, with ``decode=True``, file paths or encoded
    image bytes (default ``"path"``), decoded in CPU tasks of ``read_cpus`` (one at a time
    per two actors). Estimation
    runs in ``concurrency`` actors of ``actor_cpus`` each, the model loaded once per
    actor. The result keeps the other columns (with ``decode=True`` also ``column``) and
    adds ``width``, ``height``, ``poses`` (the model's JSON shape, nested) and ``error``
    (null when the image was estimated). ``ray_remote_args`` go to the actors
    (``max_restarts``, ``memory``, ...).
    """
    ray = import_ray()

    family = get_family(model)
    config = family.config_type() if model_config is None else model_config
    opts = pose_options(options)
    RayOptions(actor_cpus=actor_cpus, read_cpus=read_cpus)  # validates both
    column = column or ("path" if decode else "image")
    if decode:
        ds = ds.map_batches(_decode_column, batch_format="pyarrow", batch_size=batch_size, num_cpus=read_cpus,
                            fn_kwargs={"column": column},
                            compute=ray.data.TaskPoolStrategy(size=max(1, concurrency // 2)))
    return ds.map_batches(_DatasetActor, batch_size=batch_size, batch_format="pyarrow",
                          compute=ray.data.ActorPoolStrategy(size=concurrency), num_cpus=actor_cpus,
                          fn_constructor_kwargs={"model": model, "config": _actor_threads(config, actor_cpus),
                                                 "options": opts, "column": column, "decoded": decode},
                          **ray_remote_args)
