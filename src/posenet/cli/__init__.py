"""The ``posenet`` command: poses in photos and videos, COCO evaluation, models, server.

One module per verb (:mod:`.image`, :mod:`.video`, :mod:`.eval`, :mod:`.models`,
:mod:`.serve`), each with ``add_parser(subparsers, parents)`` and ``run(args, console)``;
:mod:`._args` generates the model and pose options from :mod:`posenet.options`,
:mod:`._output` holds messages, output checks and writers.

Exit codes: 0 success, 1 failure (a one-line reason on stderr; the traceback too with
``--verbose``), 2 usage error, 130 interrupted. Results go to stdout or files; messages
to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

import posenet

from . import eval as eval_verb
from . import image, models, serve, video
from ._args import make_parents, resolve
from ._output import Console, UsageError, add_verbosity, is_expected, one_line

__all__ = ["build_parser", "main"]

VERBS = (image, video, eval_verb, models, serve)

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
exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted
"""


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
    """Run the command; returns the exit code (0 ok, 1 failure, 2 usage error, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else 2
    console = Console(args.quiet, args.verbose)
    if not args.verbose:
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own decoder chatter
    try:
        resolve(args)
        code: int = args.run(args, console)
        return code
    except UsageError as exc:
        print(f"{parser.prog} {args.verb}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    except BrokenPipeError:  # e.g. `posenet image a.jpg | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line and exit code 1
        if args.verbose:
            traceback.print_exc()
        console.error(one_line(exc) + ("" if is_expected(exc) or args.verbose else " (--verbose for details)"))
        return 1
