"""``posenet models list|fetch|verify``: the official checkpoints (:mod:`posenet.checkpoints`)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any

from posenet import checkpoints
from posenet.checkpoints import Checkpoint
from posenet.options import DEFAULT_MULTIPLIERS, ModelConfig

from ._args import Parents
from ._output import Console, UsageError, one_line, progress_bar

EPILOG = """\
examples:
  posenet models list                         the 27 official checkpoints: size, where, options to use them
  posenet models list --json
  posenet models fetch                        download the default checkpoint
  posenet models fetch resnet50-float-stride16 mobilenet-quant2-050-stride8
  posenet models fetch --all
  posenet models verify                       check every local checkpoint's sha256

Checkpoints are looked up in $POSENET_MODEL_DIR (a folder laid out like the official URL
tree), then in the cache ($POSENET_CACHE_DIR, default ~/.cache/posenet-py). LOCATION says
which one holds a complete copy ("model dir", "cache"), or "incomplete" (shards missing:
fetch repairs it) or "not on disk". OPTIONS are the model options that load it, e.g.
`posenet image a.jpg --multiplier 0.5 --quant-bytes 2`.
"""


def add_parser(subparsers: Any, parents: Parents) -> None:
    """Register the verb and its actions."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = subparsers.add_parser("models", parents=[parents.common], formatter_class=fmt,
                              help="list, fetch, verify checkpoints",
                              description="The official PoseNet checkpoints: list, download, check.", epilog=EPILOG)
    p.set_defaults(run=run)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = actions.add_parser("list", parents=[parents.common], help="the catalogue", epilog=EPILOG, formatter_class=fmt)
    a.add_argument("--json", action="store_true", help="machine-readable output")
    a.set_defaults(action_run=run_list)
    a = actions.add_parser("fetch", parents=[parents.common], help="download into the cache", epilog=EPILOG,
                           formatter_class=fmt)
    a.add_argument("names", nargs="*", metavar="NAME",
                   help="checkpoint names from `posenet models list` (default: the default model)")
    a.add_argument("--all", action="store_true", help="all 27 checkpoints")
    a.add_argument("--force", action="store_true", help="download again even if on disk")
    a.set_defaults(action_run=run_fetch)
    a = actions.add_parser("verify", parents=[parents.common], help="check sha256 of local copies", epilog=EPILOG,
                           formatter_class=fmt)
    a.add_argument("names", nargs="*", metavar="NAME", help="checkpoint names (default: every one on disk)")
    a.set_defaults(action_run=run_verify)


def run(args: argparse.Namespace, console: Console) -> int:
    """Run the action chosen (``list``, ``fetch`` or ``verify``)."""
    handler: Callable[[argparse.Namespace, Console], int] = args.action_run
    return handler(args, console)


def _mb(size: float) -> str:
    return f"{size / 1e6:.1f} MB"


def select(names: Sequence[str], all_: bool, default: Callable[[], list[Checkpoint]]) -> list[Checkpoint]:
    """The checkpoints named (UsageError for an unknown name), all of them, or ``default()``."""
    catalogue = checkpoints.all_checkpoints()
    if all_:
        return catalogue
    if not names:
        return default()
    by_name = {c.name: c for c in catalogue}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise UsageError(f"unknown checkpoint {', '.join(unknown)}; `posenet models list` shows the names")
    return [by_name[n] for n in names]


def model_flags(c: Checkpoint) -> str:
    """The model options that load the checkpoint (only those not at their default)."""
    default = ModelConfig()
    flags = [f"--architecture {c.architecture}"] * (c.architecture != default.architecture)
    if c.architecture == "MobileNetV1" and c.multiplier != DEFAULT_MULTIPLIERS[c.architecture]:
        flags.append(f"--multiplier {c.multiplier}")
    flags += [f"--quant-bytes {c.quant_bytes}"] * (c.quant_bytes != default.quant_bytes)
    flags += [f"--output-stride {c.output_stride}"] * (c.output_stride != default.output_stride)
    return " ".join(flags) or "(the default)"


def run_list(args: argparse.Namespace, console: Console) -> int:
    """A table (or JSON) of every official checkpoint: size, where it is, the options that
    load it (the name says architecture, weights, multiplier and stride)."""
    rows = checkpoints.all_status()
    if args.json:
        print(json.dumps([s.to_dict() for s in rows], indent=2))
        return 0
    print(f"{'NAME':<30} {'SIZE':>9}  {'LOCATION':<11}  OPTIONS")
    for s in rows:
        size = ("" if s.size_exact else "~") + _mb(s.size_bytes)
        print(f"{s.checkpoint.name:<30} {size:>9}  {s.location:<11}  {model_flags(s.checkpoint)}")
    console.info("~ = expected download size; fetch with: posenet models fetch NAME; "
                 "OPTIONS: what `posenet image`, `video`, `eval` and `serve` need to use it")
    return 0


def _fetch_one(c: Checkpoint, force: bool, console: Console) -> bool:
    """Download one checkpoint with a progress bar; False (and a message) on failure."""
    bar = progress_bar(console, total=c.expected_size, unit="B", unit_scale=True, desc=c.name)
    done = {"base": 0, "last": 0}

    def progress(file_done: int, _total: int | None) -> None:
        if file_done < done["last"]:  # a new file started
            done["base"] += done["last"]
        done["last"] = file_done
        if bar is not None:
            bar.n = done["base"] + file_done
            bar.refresh()

    try:
        path = checkpoints.fetch(c, progress=progress, force=force)
    except Exception as exc:  # noqa: BLE001 - reported; the other checkpoints are still fetched
        if bar is not None:
            bar.leave = False
            bar.close()
        console.error(f"{c.name}: {one_line(exc)}")
        return False
    if bar is not None:
        bar.total = bar.n
        bar.close()
    console.info(f"{c.name}: {_mb(checkpoints.status(c).size_bytes)} -> {path}")
    return True


def run_fetch(args: argparse.Namespace, console: Console) -> int:
    """Download the checkpoints chosen into the cache; exit code 1 if any failed."""
    chosen = select(args.names, args.all, lambda: [checkpoints.find_checkpoint()])
    failed = 0
    for c in chosen:
        existing = checkpoints.locate(c)
        if existing and not args.force:
            console.info(f"{c.name}: already on disk ({existing})")
            continue
        failed += not _fetch_one(c, args.force, console)
    return 1 if failed else 0


def run_verify(args: argparse.Namespace, console: Console) -> int:
    """Check the sha256 of local checkpoints; exit code 1 if any file is missing or differs."""
    chosen = select(args.names, False, lambda: [s.checkpoint for s in checkpoints.all_status() if s.on_disk])
    if not chosen:
        console.info("no checkpoints on disk; fetch one with: posenet models fetch NAME")
        return 0
    bad = 0
    for c in chosen:
        problems = checkpoints.verify(c)
        if problems:
            bad += 1
            for problem in problems:
                console.error(f"{c.name}: {problem}")
        else:
            print(f"ok      {c.name}  ({checkpoints.locate(c)})")
    console.info(f"{len(chosen) - bad} of {len(chosen)} checkpoints verified")
    return 1 if bad else 0
