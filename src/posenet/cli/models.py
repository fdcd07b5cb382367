"""``posenet models list|fetch|verify``: the official PoseNet checkpoints and the other families'
model files (:mod:`posenet.checkpoints`)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any

from posenet import checkpoints
from posenet.checkpoints import Checkpoint, GraphModel
from posenet.options import DEFAULT_MULTIPLIERS, ModelConfig

from ._args import Parents
from ._output import Console, UsageError, one_line, progress_bar

FAMILIES = ("posenet", "movenet", "blazepose", "all")

EPILOG = """\
examples:
  posenet models list                         the 27 official PoseNet checkpoints: size, where, options to use them
  posenet models list --family movenet        the MoveNet model files (--family blazepose, --family all)
  posenet models list --json
  posenet models fetch                        download the default checkpoint
  posenet models fetch resnet50-float-stride16 mobilenet-quant2-050-stride8
  posenet models fetch movenet-lightning      a MoveNet / BlazePose model file set (JSON + shard)
  posenet models fetch --family blazepose     every model of a family (`download` is the same action)
  posenet models fetch --all
  posenet models verify                       check every local model's sha256

PoseNet checkpoints are looked up in $POSENET_MODEL_DIR (a folder laid out like the official
URL tree), then in the cache ($POSENET_CACHE_DIR, default ~/.cache/posenet-py). MoveNet and
BlazePose files in $POSENET_MOVENET_DIR / $POSENET_BLAZEPOSE_DIR (flat folders of
<name>.json + <name>.bin), then in <cache>/movenet, <cache>/blazepose; downloads come from
the published route or the mirror in $POSENET_GRAPH_MODELS_BASE_URL, checked against the
sha256 recorded in this package. LOCATION says which one holds a complete copy ("model
dir": the folder setting, "cache"), or "incomplete" (files missing: fetch repairs it) or
"not on disk". OPTIONS are the model options that load it, e.g.
`posenet image a.jpg --multiplier 0.5 --quant-bytes 2` or `--model movenet-thunder`.
"""

Model = Checkpoint | GraphModel


def add_parser(subparsers: Any, parents: Parents) -> None:
    """Register the verb and its actions."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = subparsers.add_parser("models", parents=[parents.common], formatter_class=fmt,
                              help="list, fetch, verify model files",
                              description="The model files (PoseNet checkpoints, MoveNet, BlazePose): list, download, "
                                          "check.", epilog=EPILOG)
    p.set_defaults(run=run)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = actions.add_parser("list", parents=[parents.common], help="the catalogue", epilog=EPILOG, formatter_class=fmt)
    a.add_argument("--json", action="store_true", help="machine-readable output")
    a.add_argument("--family", choices=FAMILIES, default="posenet", help="which models (default posenet)")
    a.set_defaults(action_run=run_list)
    a = actions.add_parser("fetch", aliases=["download"], parents=[parents.common], help="download into the cache",
                           epilog=EPILOG, formatter_class=fmt)
    a.add_argument("names", nargs="*", metavar="NAME",
                   help="model names from `posenet models list` (default: the default PoseNet checkpoint)")
    a.add_argument("--all", action="store_true", help="all 27 PoseNet checkpoints")
    a.add_argument("--family", choices=FAMILIES, help="every model of a family")
    a.add_argument("--force", action="store_true", help="download again even if on disk")
    a.set_defaults(action_run=run_fetch)
    a = actions.add_parser("verify", parents=[parents.common], help="check sha256 of local copies", epilog=EPILOG,
                           formatter_class=fmt)
    a.add_argument("names", nargs="*", metavar="NAME", help="model names (default: every one on disk)")
    a.set_defaults(action_run=run_verify)


def run(args: argparse.Namespace, console: Console) -> int:
    """Run the action chosen (``list``, ``fetch`` or ``verify``)."""
    handler: Callable[[argparse.Namespace, Console], int] = args.action_run
    return handler(args, console)


def _mb(size: float) -> str:
    return f"{size / 1e6:.1f} MB"


def family_models(family: str) -> list[Model]:
    """Every model of ``family`` (``"all"``: of every family), PoseNet checkpoints first."""
    found: list[Model] = list(checkpoints.all_checkpoints()) if family in ("posenet", "all") else []
    return found + list(checkpoints.all_graph_models(None if family == "all" else family)) * (family != "posenet")


def select(names: Sequence[str], all_: bool, default: Callable[[], list[Model]]) -> list[Model]:
    """The models named (UsageError for an unknown name), all PoseNet checkpoints, or ``default()``."""
    if all_:
        return list(checkpoints.all_checkpoints())
    if not names:
        return default()
    by_name = {m.name: m for m in family_models("all")}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise UsageError(f"unknown model {', '.join(unknown)}; `posenet models list --family all` shows the names")
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


def graph_flags(m: GraphModel) -> str:
    """The model option that uses a MoveNet / BlazePose model file."""
    if m.name == "blazepose-detector":
        return "(every --model blazepose-*)"
    return f"--model {m.name}"


def _status_row(m: Model) -> tuple[str, int, bool, str, dict[str, object]]:
    """``(location, size, size exact, options, JSON fields)`` of a model."""
    if isinstance(m, Checkpoint):
        s = checkpoints.status(m)
        return s.location, s.size_bytes, s.size_exact, model_flags(m), s.to_dict()
    g = checkpoints.graph_status(m)
    return g.location, m.size_bytes, True, graph_flags(m), g.to_dict()


def run_list(args: argparse.Namespace, console: Console) -> int:
    """A table (or JSON) of the models of a family (default: the PoseNet checkpoints): size,
    where it is, the options that load it (a checkpoint's name says architecture, weights,
    multiplier and stride)."""
    family = getattr(args, "family", "posenet")
    models = family_models(family)
    rows = [_status_row(m) for m in models]
    if args.json:  # PoseNet rows as before; beside other families they say their family
        out = [f if family == "posenet" or "family" in f else {"family": "posenet", **f} for *_, f in rows]
        print(json.dumps(out, indent=2))
        return 0
    print(f"{'NAME':<30} {'SIZE':>9}  {'LOCATION':<11}  OPTIONS")
    for m, (where, size, exact, flags, _) in zip(models, rows, strict=True):
        print(f"{m.name:<30} {('' if exact else '~') + _mb(size):>9}  {where:<11}  {flags}")
    others = "" if family == "all" else "; other families: posenet models list --family movenet|blazepose|all"
    console.info("~ = expected download size; fetch with: posenet models fetch NAME; "
                 f"OPTIONS: what `posenet image`, `video`, `eval` and `serve` need to use it{others}")
    return 0


def _expected_size(m: Model) -> int:
    return m.expected_size if isinstance(m, Checkpoint) else m.size_bytes


def _fetch_one(m: Model, force: bool, console: Console) -> bool:
    """Download one model with a progress bar; False (and a message) on failure."""
    bar = progress_bar(console, total=_expected_size(m), unit="B", unit_scale=True, desc=m.name)
    done = {"base": 0, "last": 0}

    def progress(file_done: int, _total: int | None) -> None:
        if file_done < done["last"]:  # a new file started
            done["base"] += done["last"]
        done["last"] = file_done
        if bar is not None:
            bar.n = done["base"] + file_done
            bar.refresh()

    try:
        if isinstance(m, Checkpoint):
            path = checkpoints.fetch(m, progress=progress, force=force)
        else:
            path = checkpoints.fetch_graph_model(m, progress=progress, force=force)
    except Exception as exc:  # noqa: BLE001 - reported; the other models are still fetched
        if bar is not None:
            bar.leave = False
            bar.close()
        console.error(f"{m.name}: {one_line(exc)}")
        return False
    if bar is not None:
        bar.total = bar.n
        bar.close()
    console.info(f"{m.name}: {_mb(_status_row(m)[1])} -> {path}")
    return True


def _locate(m: Model) -> object:
    return checkpoints.locate(m) if isinstance(m, Checkpoint) else checkpoints.find_graph_copy(m)[0]


def run_fetch(args: argparse.Namespace, console: Console) -> int:
    """Download the models chosen into the cache; exit code 1 if any failed."""
    family = getattr(args, "family", None)
    if family and args.names:
        raise UsageError("give model names or --family, not both")
    chosen = family_models(family) if family else select(args.names, args.all, lambda: [checkpoints.find_checkpoint()])
    failed = 0
    for m in chosen:
        existing = _locate(m)
        if existing and not args.force:
            console.info(f"{m.name}: already on disk ({existing})")
            continue
        failed += not _fetch_one(m, args.force, console)
    return 1 if failed else 0


def _on_disk() -> list[Model]:
    return [m for m in family_models("all") if _locate(m) is not None]


def run_verify(args: argparse.Namespace, console: Console) -> int:
    """Check the sha256 of local models; exit code 1 if any file is missing or differs."""
    chosen = select(args.names, False, _on_disk)
    if not chosen:
        console.info("no models on disk; fetch one with: posenet models fetch NAME")
        return 0
    bad = 0
    for m in chosen:
        problems = checkpoints.verify(m) if isinstance(m, Checkpoint) else checkpoints.verify_graph_model(m)
        if problems:
            bad += 1
            for problem in problems:
                console.error(f"{m.name}: {problem}")
        else:
            print(f"ok      {m.name}  ({_locate(m)})")
    console.info(f"{len(chosen) - bad} of {len(chosen)} models verified")
    return 1 if bad else 0
