"""What the verbs share for messages: the console on stderr, one-line errors, progress
bars (files written: :mod:`._files`). Results go to stdout or files; messages to stderr."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable
from typing import Any

from posenet import PoseNetError


class CliError(Exception):
    """A failure to report in one line (exit code 1)."""


class UsageError(Exception):
    """Arguments that parse but make no sense together (exit code 2)."""


class Console:
    """Messages on stderr: ``info`` unless quiet, ``debug`` when verbose, ``warning`` and
    ``error`` always."""

    def __init__(self, quiet: bool = False, verbose: bool = False) -> None:
        self.quiet, self.verbose = quiet, verbose

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def debug(self, message: str) -> None:
        if self.verbose:
            print(message, file=sys.stderr, flush=True)

    def warning(self, message: str) -> None:
        print(f"posenet: warning: {message}", file=sys.stderr, flush=True)

    def error(self, message: str) -> None:
        print(f"posenet: error: {message}", file=sys.stderr, flush=True)


def add_verbosity(parser: argparse.ArgumentParser, default: Any) -> None:
    """``-q/--quiet`` and ``-v/--verbose``, which configure the :class:`Console`."""
    parser.add_argument("-q", "--quiet", action="store_true", default=default, help="only errors on stderr")
    parser.add_argument("-v", "--verbose", action="store_true", default=default,
                        help="more detail; tracebacks on errors")


def one_line(exc: BaseException) -> str:
    """The exception as one line; the type is named unless the error is an expected one
    (this package's errors, file-system errors, :class:`CliError`). A file-system error
    reads ``FILE: reason`` (not ``[Errno 2] No such file or directory: 'FILE'``)."""
    if isinstance(exc, OSError) and not isinstance(exc, PoseNetError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror.lower()}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if is_expected(exc) else f"{type(exc).__name__}: {text}"


def is_expected(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure users cause (no traceback needed to understand it)."""
    return isinstance(exc, (PoseNetError, OSError, CliError))


# ---------------------------------------------------------------------------------------
# Progress


def progress_bar(console: Console, **kwargs: Any) -> Any:
    """A tqdm bar on stderr (``kwargs`` as for ``tqdm``), or None when quiet or tqdm is
    missing."""
    if console.quiet:
        return None
    try:
        tqdm = importlib.import_module("tqdm").tqdm  # an optional dependency (the extras bring it)
    except ImportError:
        return None
    return tqdm(file=sys.stderr, dynamic_ncols=True, **kwargs)


def counted(items: list[Any], console: Console, unit: str) -> Iterable[Any]:
    """``items`` one by one, with a progress bar of ``unit``."""
    bar = progress_bar(console, total=len(items), unit=unit)
    try:
        for item in items:
            yield item
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()


def plural(count: int, noun: str) -> str:
    """``1 pose``, ``2 poses``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def naming(path: object, message: str) -> str:
    """``message`` about ``path``, naming it once: prefixed with it unless it already
    names it (this package's errors do)."""
    return message if str(path) in message else f"{path}: {message}"
