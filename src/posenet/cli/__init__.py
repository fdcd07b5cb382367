"""The ``posenet`` command: poses in photos and videos, COCO evaluation, models, server.

One module per verb (:mod:`.image`, :mod:`.video`, :mod:`.eval`, :mod:`.models`,
:mod:`.serve`), each with ``add_parser(subparsers, parents)`` and ``run(args, console)``;
:mod:`._args` generates the model and pose options from :mod:`posenet.options`,
:mod:`._output` holds messages, output checks and writers.

Exit codes: 0 success, 1 failure (a one-line reason on stderr; the traceback too with
``--verbose``), 2 usage error, 130 interrupted (Ctrl+C), 143 terminated (SIGTERM, handled
as Ctrl+C: outputs are closed properly). Results go to stdout or files; messages to
stderr.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

import posenet

from . import batch, classify, export, image, models, serve, video
from . import eval as eval_verb
from ._args import make_parents, resolve
from ._output import Console, UsageError, add_verbosity, is_expected, one_line

__all__ = ["build_parser", "main"]

VERBS = (image, video, batch, eval_verb, models, serve, classify, export)

EPILOG = """\
examples:
  posenet image photo.jpg                       poses as JSON on stdout
  posenet image photos/ --multi --out annotated/ --json poses.json
  posenet image photo.jpg --preset reference --multi     the library's defaults
  posenet video clip.mp4 --multi --track --smooth --out clip_pose.mp4 --json clip.jsonl
  posenet eval --gt person_keypoints.json --images coco/ --out results.json
  posenet models list
  posenet serve --port 8000

Run `posenet VERB --help` for each verb's options and examples.
exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted, 143 terminated (SIGTERM)
"""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl+C would be so that the same clean-up runs."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: a second one must not cut the clean-up short
    raise Terminated


def _handle_sigterm() -> Callable[[], None]:
    """Turn SIGTERM into :class:`Terminated` (main thread only); returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous: Any = signal.signal(signal.SIGTERM, _on_sigterm)

    def undo() -> None:
        signal.signal(signal.SIGTERM, previous)

    return undo


def build_parser() -> argparse.ArgumentParser:
    """The ``posenet`` argument parser (verbs: image, video, eval, models, serve)."""
    parser = argparse.ArgumentParser(
        prog="posenet",
        description="Human pose estimation with TensorFlow.js PoseNet 2.x, in Python.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"posenet-py {posenet.__version__}")
    add_verbosity(parser, False)
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    parents = make_parents()
    for verb in VERBS:
        verb.add_parser(subparsers, parents)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code (0 ok, 1 failure, 2 usage error, 130
    interrupted, 143 terminated)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else 2
    console = Console(args.quiet, args.verbose)
    if not args.verbose:
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own decoder chatter
    undo = _handle_sigterm()
    try:
        resolve(args)
        code: int = args.run(args, console)
        return code
    except UsageError as exc:
        print(f"{parser.prog} {args.verb}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        console.error("terminated (SIGTERM)" if terminated else "interrupted")
        return 143 if terminated else 130
    except BrokenPipeError:  # e.g. `posenet image a.jpg | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line and exit code 1
        if args.verbose:
            traceback.print_exc()
        console.error(one_line(exc) + ("" if is_expected(exc) or args.verbose else " (--verbose for details)"))
        return 1
    finally:
        undo()
