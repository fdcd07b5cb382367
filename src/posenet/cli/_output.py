"""What the verbs share for output: messages on stderr, output-path checks, JSON
writers and progress bars. Results go to stdout or files; messages to stderr."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from posenet import PoseNetError
from posenet.serialize import dumps


class CliError(Exception):
    """A failure to report in one line (exit code 1)."""


class UsageError(Exception):
    """Arguments that parse but make no sense together (exit code 2)."""


class Console:
    """Messages on stderr: ``info`` unless quiet, ``debug`` when verbose, ``error`` always."""

    def __init__(self, quiet: bool = False, verbose: bool = False) -> None:
        self.quiet, self.verbose = quiet, verbose

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def debug(self, message: str) -> None:
        if self.verbose:
            print(message, file=sys.stderr, flush=True)

    def error(self, message: str) -> None:
        print(f"posenet: error: {message}", file=sys.stderr, flush=True)


def add_verbosity(parser: argparse.ArgumentParser, default: Any) -> None:
    """``-q/--quiet`` and ``-v/--verbose``, which configure the :class:`Console`."""
    parser.add_argument("-q", "--quiet", action="store_true", default=default, help="only errors on stderr")
    parser.add_argument("-v", "--verbose", action="store_true", default=default,
                        help="more detail; tracebacks on errors")


def one_line(exc: BaseException) -> str:
    """The exception as one line; the type is named unless the error is an expected one
    (this package's errors, file-system errors, :class:`CliError`)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if is_expected(exc) else f"{type(exc).__name__}: {text}"


def is_expected(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure users cause (no traceback needed to understand it)."""
    return isinstance(exc, (PoseNetError, OSError, CliError))


# ---------------------------------------------------------------------------------------
# Output paths


def resolved(paths: Iterable[Path]) -> set[Path]:
    """The absolute, symlink-free form of each path (to compare outputs with inputs)."""
    return {p.resolve() for p in paths}


def check_target(path: Path, overwrite: bool, inputs: set[Path]) -> None:
    """Refuse to write over an input (``inputs``: :func:`resolved` paths; ever), onto a
    folder, or over an existing file without ``--overwrite``."""
    if path.resolve() in inputs:
        raise CliError(f"refusing to write {path} over an input file; choose another output")
    if path.is_dir():
        raise CliError(f"{path} is a folder, expected a file name")
    if path.exists() and not overwrite:
        raise CliError(f"{path} already exists; pass --overwrite to replace it")


def check_targets(targets: Iterable[str | None], overwrite: bool, inputs: set[Path]) -> None:
    """:func:`check_target` for each named file (``None`` and ``-`` = stdout are skipped)."""
    for target in targets:
        if target is not None and target != "-":
            check_target(Path(target), overwrite, inputs)


def open_output(target: str) -> IO[str]:
    """stdout for ``-``, else the file, its folder created (checked beforehand with
    :func:`check_target`)."""
    if target == "-":
        return sys.stdout
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8")


def close_output(sink: IO[str] | None) -> None:
    """Close what :func:`open_output` opened (never stdout)."""
    if sink is not None and sink is not sys.stdout:
        sink.close()


def write_output(target: str, text: str) -> None:
    """Write ``text`` to stdout (``-``) or a file."""
    sink = open_output(target)
    try:
        sink.write(text)
    finally:
        close_output(sink)


def write_json_object(target: str, items: Iterable[tuple[str, Any]]) -> None:
    """A JSON object with one line per ``(key, JSON-ready value)`` item."""
    lines = (f"  {dumps(key)}: {dumps(value)}" for key, value in items)
    write_output(target, "{\n" + ",\n".join(lines) + "\n}\n")


def write_json(target: str, value: Any) -> None:
    """One compact JSON document and a newline."""
    write_output(target, dumps(value) + "\n")


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
