"""``posenet batch``: poses in many images and video frames, resumable, on this
machine's cores or on Ray (a thin layer over :func:`posenet.batch.run_batch`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from posenet.batch import ENGINES, FORMATS, SUMMARY_FILE, BatchSummary, RayOptions, TextProgress, run_batch
from posenet.options import DEFAULT_PRESET, ENGINE_NAMES

from ._args import Parents, add_model_options, positive, positive_int
from ._output import Console, UsageError, plural, progress_bar

EPILOG = """\
examples:
  posenet batch photos/ --out results/                     every image under photos/, all cores
  posenet batch 'shots/**/*.jpg' list.txt clip.mp4 --every 10 --multi --out results/
  posenet batch photos/ --out results/                     again: only what is not done yet
  posenet batch coco/ --preset coco --multi --out coco_run/ --coco coco_run/results.json
  posenet batch s3-mounted/ --engine ray --ray-address auto --workers 16 --out /shared/results/
  posenet batch photos/ --out results/ --format parquet --limit 1000

Sources: image files, folders (recursive), glob patterns, manifests (.txt/.lst: one
path a line) and videos (every frame, or every n-th with --every). One record per image
or frame, as `posenet image` / `posenet video` write them plus "id" and "source", in
DIR/part-*.jsonl (or .parquet); DIR/summary.json has the counts, the failures with
their reasons and the rates. A rerun with the same --out (and options) skips the items
done; an interrupted run loses at most the items in flight. A bad item is recorded as
failed and the job goes on (exit code 1 at the end). --coco FILE is rewritten at the
end of every run from all the results in DIR. --engine ray starts a local Ray, or joins
a cluster with --ray-address (see docs/batch.md); the ray extra is needed for it.
"""


def _batch_parent() -> argparse.ArgumentParser:
    """Model options with the inference engine renamed ``--inference-engine``, so that
    ``--engine`` picks the batch engine; plus the batch options."""
    parent = argparse.ArgumentParser(add_help=False, conflict_handler="resolve")
    add_model_options(parent)
    group = parent.add_argument_group("batch options")
    group.add_argument("--engine", dest="batch_engine", choices=ENGINES, default="local",
                       help="local: worker processes on this machine; ray: Ray Data (default local)")
    group.add_argument("--inference-engine", dest="engine", choices=ENGINE_NAMES, default="auto",
                       help="the model's inference engine (default auto: ONNX Runtime if installed)")
    group.add_argument("--out", required=True, metavar="DIR", help="output folder (created; reused to resume)")
    group.add_argument("--workers", type=positive_int, metavar="N",
                       help="worker processes (local) or estimating actors (ray); default: one per CPU")
    group.add_argument("--every", type=positive_int, default=1, metavar="N", help="every n-th video frame (default 1)")
    group.add_argument("--format", dest="fmt", choices=FORMATS, default="jsonl", help="part files (default jsonl)")
    group.add_argument("--coco", metavar="FILE", help="also write COCO results of the images (numeric file names)")
    group.add_argument("--batch-size", type=positive_int, default=8, metavar="N",
                       help="images per estimate_batch call and per task (default 8)")
    group.add_argument("--limit", type=positive_int, metavar="N", help="stop after N items (a rerun does the rest)")
    group.add_argument("--ray-address", metavar="ADDR", help="join this Ray cluster (e.g. auto, ray://head:10001)")
    group.add_argument("--actor-cpus", type=positive, default=0.5, metavar="F",
                       help="CPUs each estimating Ray actor requests (default 0.5)")
    group.add_argument("--read-cpus", type=positive, default=0.25, metavar="F",
                       help="CPUs each Ray read/decode task requests (default 0.25)")
    group.add_argument("--readers", type=positive_int, metavar="N",
                       help="Ray read/decode tasks at once (default: one per two actors)")
    return parent


def add_parser(subparsers: Any, parents: Parents) -> None:
    """Register the verb."""
    p = subparsers.add_parser(
        "batch", parents=[parents.common, _batch_parent(), parents.pose(DEFAULT_PRESET, drawing=False)],
        formatter_class=argparse.RawDescriptionHelpFormatter, help="poses in many images and videos, resumable",
        description="Find poses in many images and video frames: all cores or a Ray cluster, resumable.",
        epilog=EPILOG)
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="image files, folders (recursive), glob patterns, manifests (.txt), videos")
    p.set_defaults(run=run)


class BarProgress:
    """A tqdm bar (done / total, rate, ETA); failures shown under it when verbose."""

    def __init__(self, console: Console) -> None:
        self.console, self.bar, self.failed = console, None, 0

    def start(self, total: int, skipped: int) -> None:
        if skipped:
            self.console.info(f"{plural(skipped, 'item')} done before: skipped")
        self.bar = progress_bar(self.console, total=total, unit="item")

    def advance(self, done: int, failures: Sequence[tuple[str, str]]) -> None:
        self.failed += len(failures)
        if self.bar is not None:
            for item_id, error in failures if self.console.verbose else ():
                self.bar.write(f"posenet: error: {item_id}: {error}", file=sys.stderr)
            if failures:
                self.bar.set_postfix(failed=self.failed, refresh=False)
            self.bar.update(done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _progress(console: Console) -> BarProgress | TextProgress | None:
    if console.quiet:
        return None
    return BarProgress(console) if sys.stderr.isatty() else TextProgress(sys.stderr, label="posenet batch")


def _ray_options(args: argparse.Namespace) -> RayOptions | None:
    ray_flags = (args.ray_address is not None or args.actor_cpus != 0.5 or args.read_cpus != 0.25
                 or args.readers is not None)
    if args.batch_engine != "ray":
        if ray_flags:
            raise UsageError("--ray-address, --actor-cpus, --read-cpus and --readers need --engine ray")
        return None
    try:
        return RayOptions(address=args.ray_address, actor_cpus=args.actor_cpus, read_cpus=args.read_cpus,
                          readers=args.readers)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def report(summary: BatchSummary, console: Console) -> None:
    """The outcome in a few lines on stderr: counts, rate, first failures."""
    done_before = f", {summary.skipped} done before" if summary.skipped else ""
    console.info(f"{plural(summary.processed, 'item')} in {summary.wall_s:.1f} s ({summary.items_per_s:.1f} items/s"
                 f", start-up {summary.startup_s:.1f} s){done_before}; {summary.out_dir}: {summary.ok} ok, "
                 f"{summary.failed} failed")
    for failure in summary.failures[:5]:
        item, error = failure["id"], failure["error"]
        console.error(error if item in error else f"{item}: {error}")
    if summary.failed > 5:
        console.error(f"... {summary.failed - 5} more failures in {Path(summary.out_dir) / SUMMARY_FILE}")
    if summary.remaining:
        console.info(f"{plural(summary.remaining, 'item')} left: rerun the same command to continue")
    if summary.coco_file:
        console.info(f"{summary.coco_results} COCO results -> {summary.coco_file}")


def run(args: argparse.Namespace, console: Console) -> int:
    """Exit code 1 if any item in the output folder failed (the others are still done)."""
    ray_options = _ray_options(args)
    if args.coco and Path(args.coco).resolve() in {Path(s).resolve() for s in args.sources}:
        raise UsageError(f"refusing to write --coco {args.coco} over a source; choose another file")
    summary = run_batch(args.sources, args.out, args.model_config, args.pose_options, model=args.model,
                        engine=args.batch_engine, workers=args.workers, every=args.every, fmt=args.fmt,
                        coco=args.coco, batch_size=args.batch_size, max_items=args.limit, ray=ray_options,
                        progress=_progress(console))
    for note in summary.notes:
        console.error(note)
    report(summary, console)
    return 1 if summary.failed else 0
