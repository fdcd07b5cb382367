"""Batch throughput: the plain library loop against ``run_batch`` with the local engine
and with the Ray engine, on the same images, in one run.

The images are the shared COCO folder (80 images), linked into temporary folders
(symbolic links: nothing is copied): once (``small``) and ``--copies`` times
(``large``). Each contender runs both, in turns with the others, ``--rounds`` times, so
that drift and other load on the machine fall on all of them. From each pair:

- images/s once started: ``(N_large - N_small) / (T_large - T_small)``, the marginal
  rate, whatever the start-up (and Ray's read-ahead) costs;
- start-up s: the fixed cost, ``T_small - N_small / rate`` (workers started, models
  loaded; for Ray, the actor pool on an already running Ray);
- overall images/s: ``N_large / T_large``, start-up included;
- CPU ms per image (marginal): CPU time of every process involved (this one, its
  children, and for Ray every Ray process), robust to other load on the machine.

On a shared machine the wall-clock rates measure each contender's share of the CPUs as
much as its cost; the CPU time per image does not. Ray's marginal rate is also
flattered: its read tasks decode ahead while its actors start, more so in the large run.

Ray's own start (``ray.init`` of a local Ray, one CPU per core) is timed once, apart.

    .venv/bin/python benchmarks/bench_batch.py [--copies 5] [--rounds 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSENET_SHARED_DIR", REPO.parent / "shared")).resolve()
os.environ.setdefault("POSENET_MODEL_DIR", str(SHARED / "models" / "posenet"))
COCO = SHARED / "data" / "coco_train2017"

from posenet import create_detector, pose_options  # noqa: E402
from posenet.batch import run_batch  # noqa: E402
from posenet.images import decode_image  # noqa: E402
from posenet.serialize import dumps, image_record  # noqa: E402

OPTIONS = pose_options("camera", mode="multi")
Run = tuple[float, float]
"""(wall seconds, CPU seconds) of one run."""
TICK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def link_images(copies: int, folder: Path) -> int:
    """``copies`` links to each COCO image in ``folder``; how many."""
    folder.mkdir()
    images = sorted(COCO.glob("*.jpg"))
    for n in range(copies):
        for image in images:
            (folder / f"c{n}_{image.name}").symlink_to(image)
    return copies * len(images)


_IS_RAY: dict[int, bool] = {}


def _is_ray(pid: int) -> bool:
    if pid not in _IS_RAY:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        # a new Ray worker shows the plain interpreter until it renames itself: look again later
        if command.startswith(b"ray::") or b"/site-packages/ray/" in command or b"default_worker.py" in command:
            _IS_RAY[pid] = True
        elif not command.startswith((b"/work/main/.venv/bin/python", b".venv/bin/python")):
            _IS_RAY[pid] = False
        else:
            return False
    return _IS_RAY[pid]


def _ray_cpu() -> dict[int, float]:
    """CPU seconds so far of each Ray process (``ray::`` workers, raylet, GCS, agents)."""
    found = {}
    for name in os.listdir("/proc"):
        try:
            if not name.isdigit() or not _is_ray(int(name)):
                continue
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        found[int(name)] = (int(fields[11]) + int(fields[12])) / TICK
    return found


class CpuMeter:
    """CPU time of this process, its children and (``ray=True``) every Ray process, sampled
    every 0.1 s so that processes ending during the run still count."""

    def __init__(self, ray: bool) -> None:
        self.ray, self.stop, self.seen = ray, threading.Event(), {}
        self.own = 0.0  # the sampler's own CPU time, not the job's

    def _sample(self) -> None:
        while not self.stop.wait(0.1):
            for pid, seconds in _ray_cpu().items():
                self.seen[pid] = max(self.seen.get(pid, 0.0), seconds)
            self.own = time.thread_time()

    def __enter__(self) -> CpuMeter:
        self.start = time.process_time() + _children_cpu()
        self.before = _ray_cpu() if self.ray else {}
        self.thread = threading.Thread(target=self._sample, daemon=True)
        if self.ray:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.ray:
            self.thread.join()
            for pid, seconds in _ray_cpu().items():
                self.seen[pid] = max(self.seen.get(pid, 0.0), seconds)
        ray_seconds = sum(s - self.before.get(pid, 0.0) for pid, s in self.seen.items() if pid != os.getpid())
        self.seconds = time.process_time() + _children_cpu() - self.start + ray_seconds - self.own


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def plain_loop(folder: Path, out: Path) -> None:
    """The single-process loop a user would write: decode, estimate, one JSON line each."""
    model = create_detector()
    with out.open("w") as sink:
        for path in sorted(folder.iterdir()):
            rgb = decode_image(path)
            record = image_record(rgb.shape[1], rgb.shape[0], model.estimate(rgb, OPTIONS))
            sink.write(dumps({"source": str(path), **record}) + "\n")


def batch_run(engine: str, workers: int) -> Callable[[Path, Path], None]:
    def run(folder: Path, out: Path) -> None:
        summary = run_batch([folder], out, None, OPTIONS, engine=engine, workers=workers)
        assert summary.processed == summary.items and summary.failed == 0, summary

    return run


def timed(name: str, job: Callable[[Path, Path], None], folder: Path, out: Path) -> Run:
    with CpuMeter(name == "ray") as meter:
        start = time.perf_counter()
        job(folder, out)
        wall = time.perf_counter() - start
    if out.is_dir():
        shutil.rmtree(out)
    else:
        out.unlink(missing_ok=True)
    return wall, meter.seconds


def start_ray(folder: Path, scratch: Path, workers: int) -> tuple[float, float]:
    """Start a local Ray, then run one small job on it (a fresh Ray's first job also starts
    Ray Data's helper actors); the seconds each took."""
    import ray

    start = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k.startswith("POSENET_")}
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
             runtime_env={"env_vars": env})
    started = time.perf_counter()
    timed("ray", batch_run("ray", workers), folder, scratch / "ray-first")
    return started - start, time.perf_counter() - started


def figures(small: Run, large: Run, n_small: int, n_large: int) -> dict[str, float]:
    """One round's figures from the small and the large run."""
    rate = (n_large - n_small) / (large[0] - small[0])
    return {"rate": rate, "startup": max(small[0] - n_small / rate, 0.0), "overall": n_large / large[0],
            "cpu_ms": 1000 * (large[1] - small[1]) / (n_large - n_small)}


def measure(rounds: int, contenders: dict[str, Callable[[Path, Path], None]], folders: dict[str, tuple[Path, int]],
            scratch: Path) -> dict[str, list[dict[str, float]]]:
    names = list(contenders)
    results: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    (small, n_small), (large, n_large) = folders["small"], folders["large"]
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            runs = [timed(name, contenders[name], folder, scratch / f"{name}-{r}") for folder in (small, large)]
            results[name].append(figures(*runs, n_small, n_large))
            row = results[name][-1]
            log(f"  round {r + 1} {name}: {row['rate']:.1f} img/s once started, start-up {row['startup']:.2f} s, "
                f"{row['overall']:.1f} img/s overall, {row['cpu_ms']:.1f} CPU ms/img")
    return results


def report(results: dict[str, list[dict[str, float]]], n_large: int, ray_start: tuple[float, float]) -> dict[str, Any]:
    """Print and return the medians over the rounds and the ratios the goals name."""
    table = {name: {k: statistics.median(row[k] for row in rows) for k in rows[0]} for name, rows in results.items()}
    out: dict[str, Any] = {"images": n_large, "cpus": os.cpu_count(), "rounds": len(results["plain"]),
                           "load_average": os.getloadavg(), "median": table}
    print(f"{n_large} images (and 80 for the start-up), {os.cpu_count()} CPUs, medians of {out['rounds']} rounds, "
          f"load average now {out['load_average'][0]:.1f}")
    print(f"{'':6} {'img/s once started':>19} {'start-up s':>11} {'overall img/s':>14} {'CPU ms/img':>11}")
    for name, row in table.items():
        print(f"{name:6} {row['rate']:19.1f} {row['startup']:11.2f} {row['overall']:14.1f} {row['cpu_ms']:11.1f}")
    plain, local = table["plain"], table["local"]
    out["local_over_plain"] = local["rate"] / plain["rate"]
    out["local_over_plain_overall"] = local["overall"] / plain["overall"]
    line = (f"local / plain: {out['local_over_plain']:.2f}x once started, "
            f"{out['local_over_plain_overall']:.2f}x overall")
    if "ray" in table:
        ray_ = table["ray"]
        init, first = ray_start
        out |= {"ray_over_local": ray_["rate"] / local["rate"], "ray_init_s": init, "ray_first_job_s": first,
                "ray_startup_s": init + ray_["startup"], "ray_cpu_over_local": ray_["cpu_ms"] / local["cpu_ms"]}
        line += (f"\nray / local once started: {out['ray_over_local']:.2f} (CPU per image "
                 f"{out['ray_cpu_over_local']:.2f}x); Ray start-up: ray.init {init:.1f} s + {ray_['startup']:.1f} s "
                 f"per job = {out['ray_startup_s']:.1f} s (the first job on a fresh Ray, 80 images: {first:.1f} s)")
    print(line)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=5, help="links per COCO image in the large run (default 5)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray engine")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    try:
        folders = {name: (scratch / name, link_images(copies, scratch / name))
                   for name, copies in (("small", 1), ("large", args.copies))}
        contenders: dict[str, Callable[[Path, Path], None]] = {
            "plain": plain_loop, "local": batch_run("local", args.workers)}
        ray_start = (0.0, 0.0)
        if not args.no_ray:
            ray_start = start_ray(folders["small"][0], scratch, args.workers)
            contenders["ray"] = batch_run("ray", args.workers)
        result = report(measure(args.rounds, contenders, folders, scratch), folders["large"][1], ray_start)
    finally:
        if not args.no_ray:
            import ray

            ray.shutdown()
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
