"""Files the verbs write: every output checked against the inputs and the other outputs
before any work, JSON written as results come, files replaced only when complete."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from posenet.serialize import dumps

from ._output import CliError

STDOUT = "-"


def is_stream(path: Path) -> bool:
    """A character device, pipe or socket (``/dev/stdout``, ``/dev/null``, a named pipe),
    or a name of a file descriptor (``/dev/fd/N``): written as it is, never replaced."""
    text = str(path)
    if text.startswith(("/dev/fd/", "/proc/self/fd/")) or text in ("/dev/stdout", "/dev/stderr"):
        return True
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _describe(path: Path, role: str) -> str:
    return f"{role} {path}" if role.startswith("-") else f"{path} ({role})"


def _identity(path: Path) -> tuple[Any, ...]:
    """The file itself (device and inode) if it exists, else where it would be created."""
    try:
        st = path.stat()
    except OSError:
        return ("new", str(path.resolve()))
    return ("file", st.st_dev, st.st_ino)


class Targets:
    """Every file a command will write, checked together before any work: never over an
    input (whatever the name: symbolic or hard link), never two outputs in one file,
    never onto a folder, never over an existing file without ``--overwrite``."""

    def __init__(self, inputs: Iterable[Path], overwrite: bool) -> None:
        self.overwrite = overwrite
        self._inputs = {_identity(p): p for p in inputs}
        self._outputs: dict[tuple[Any, ...], tuple[str, Path]] = {}

    def add(self, target: str | Path | None, role: str) -> None:
        """Check one output; ``role`` names it in messages (``--json``, ``the annotated
        copy of a.jpg``). ``None``, ``-`` (stdout) and streams (:func:`is_stream`) pass."""
        if target is None or str(target) == STDOUT or is_stream(Path(target)):
            return
        path = Path(target)
        key, what = _identity(path), _describe(path, role)
        source = self._inputs.get(key)
        if source is not None:
            alias = "" if path.resolve() == source.resolve() else " (the same file under another name)"
            raise CliError(f"refusing to write {what} over the input {source}{alias}; choose another output")
        if key in self._outputs:
            other = _describe(self._outputs[key][1], self._outputs[key][0])
            raise CliError(f"{what} and {other} are the same file; choose different names")
        if path.is_dir():
            raise CliError(f"{what} is a folder; give a file name")
        if path.exists() and not self.overwrite:
            raise CliError(f"{path} already exists; pass --overwrite to replace it")
        self._outputs[key] = (role, path)


def open_output(target: str) -> IO[str]:
    """stdout for ``-``; a stream (:func:`is_stream`) appended to; else the file, its
    folder created (checked beforehand with :class:`Targets`)."""
    if target == STDOUT:
        return sys.stdout
    path = Path(target)
    if is_stream(path):
        return path.open("a", encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8")


def close_output(sink: IO[str] | None) -> None:
    """Close what :func:`open_output` opened (never stdout; flushed either way)."""
    if sink is None:
        return
    if sink is sys.stdout:
        sink.flush()
    else:
        sink.close()


def write_json(target: str, value: Any) -> None:
    """One compact JSON document and a newline, to stdout (``-``) or a file."""
    sink = open_output(target)
    try:
        sink.write(dumps(value) + "\n")
    finally:
        close_output(sink)


class JsonObjectWriter:
    """A JSON object written one member (one line) at a time and flushed, so results are
    on disk as they come; :meth:`close` ends the object: valid JSON, also after Ctrl+C."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._sink: IO[str] | None = open_output(target)
        self._sink.write("{")
        self.count = 0

    def add(self, key: str, value: Any) -> None:
        assert self._sink is not None, "closed"
        self._sink.write(("," if self.count else "") + f"\n  {dumps(key)}: {dumps(value)}")
        self._sink.flush()
        self.count += 1

    def close(self) -> None:
        if self._sink is not None:
            sink, self._sink = self._sink, None
            try:
                sink.write("\n}\n" if self.count else "}\n")
            finally:
                close_output(sink)


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A new hidden file next to ``path`` (same extension) to write in; renamed over
    ``path`` when the block ends, deleted if it raises. A target is never seen half
    written, and a hard link to it is never written through."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial{path.suffix}")
        try:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        yield temp
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
