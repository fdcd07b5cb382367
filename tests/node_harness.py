"""What the Node.js reference harnesses share: installing a tool folder and talking to its worker.

Each reference is its own npm package under ``tools/`` (``reference``, ``reference-tfjs4``,
``reference-posedetection``) with a long-lived worker script that speaks newline-delimited JSON
over stdin/stdout. :func:`ensure_installed` runs ``npm ci`` in such a folder when needed, and
:class:`NodeWorker` runs one script and sends it requests; the clients in ``tests/reference*.py``
add the commands of their own worker.

Deliberately free of posenet-py imports: it must work before (and independently of) the library.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "ReferenceUnavailable",
    "ReferenceSetupError",
    "ReferenceCallError",
    "ReferenceWorkerError",
    "ensure_installed",
    "require",
    "NodeWorker",
]

_STAMP_NAME = ".posenet-py-install-stamp"
_W = TypeVar("_W", bound="NodeWorker")


class ReferenceUnavailable(RuntimeError):
    """Node.js/npm or the reference packages cannot be had here (tests should skip)."""


class ReferenceSetupError(RuntimeError):
    """Like ReferenceUnavailable, but raised in CI (``CI=true``), where skipping is not allowed."""


class ReferenceCallError(RuntimeError):
    """The reference rejected a request; ``str(exc)`` is its own error text. The worker lives on."""


class ReferenceWorkerError(RuntimeError):
    """The worker died, hung past the timeout or broke the protocol; it has been stopped."""


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(message: str) -> RuntimeError:
    if _in_ci():
        return ReferenceSetupError(f"{message} (CI=true: the reference is required, not skipped)")
    return ReferenceUnavailable(message)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive inter-process lock (pytest-xdist workers, parallel benchmark runs)."""
    with open(path, "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # Windows
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _install_stamp(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()


def _is_installed(folder: Path, stamp: str) -> bool:
    stamp_file = folder / "node_modules" / _STAMP_NAME
    return stamp_file.is_file() and stamp_file.read_text().strip() == stamp


_install_locks: dict[Path, threading.Lock] = {}  # one per folder: threads of this process


def ensure_installed(folder: Path, name: str, timeout: float = 600.0) -> Path:
    """Make ``folder/node_modules`` match ``folder/package-lock.json``; return ``folder``.

    Runs ``npm ci`` when node_modules is missing or was installed from another lock file (a
    stamp holding the hash of package.json + package-lock.json is kept inside node_modules),
    under a thread lock and an inter-process file lock. ``name`` names the reference in messages
    ("the {name} reference"). Raises ReferenceUnavailable when node/npm are missing or the install
    fails, or ReferenceSetupError instead when the environment variable ``CI`` is true.
    """
    if shutil.which("node") is None:
        raise _unavailable(f"Node.js (`node`) is not on PATH: the {name} reference cannot run")
    stamp = _install_stamp(folder)
    if _is_installed(folder, stamp):
        return folder
    npm = shutil.which("npm")
    if npm is None:
        raise _unavailable(f"`npm` is not on PATH: cannot install the {name} reference")
    tag = folder.name.removeprefix("reference-")  # reference, tfjs4, posedetection
    lock_path = Path(tempfile.gettempdir()) / (
        f"posenet-py-{tag}-" + hashlib.sha256(str(folder).encode()).hexdigest()[:16] + ".lock"
    )
    with _install_locks.setdefault(folder, threading.Lock()), _file_lock(lock_path):
        if _is_installed(folder, stamp):  # another process installed it while we waited
            return folder
        try:
            proc = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise _unavailable(f"`npm ci` in {folder} took longer than {timeout:.0f} s") from None
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr)[-3000:]
            raise _unavailable(f"`npm ci` in {folder} failed (exit {proc.returncode}):\n{tail}")
        (folder / "node_modules" / _STAMP_NAME).write_text(stamp + "\n")
    return folder


def require(folder: Path, name: str) -> Path:
    """ensure_installed(folder, name), turning ReferenceUnavailable into ``pytest.skip``
    (ReferenceSetupError, in CI, is left to fail)."""
    try:
        return ensure_installed(folder, name)
    except ReferenceUnavailable as exc:
        import pytest

        pytest.skip(str(exc))


class NodeWorker:
    """A running ``node <script> <args...>`` (cwd ``folder``) speaking JSON lines; a context manager.

    Not thread-safe. Every request waits at most ``timeout`` seconds (or its own) for the reply; on
    timeout, crash or a broken reply the worker is killed and ReferenceWorkerError is raised, so a
    hung reference fails a test instead of hanging it. ``_tmpdir`` is a temporary folder for the
    files a client exchanges with the worker (removed by :meth:`close`). Subclasses install their
    folder first (``ensure_installed``) and set ``label``, the worker's name in error messages.
    """

    label = "worker"

    def __init__(
        self,
        folder: Path,
        script: str,
        args: Sequence[str] = (),
        timeout: float = 120.0,
        tmp_prefix: str = "posenet-node-",
        node: str | None = None,
    ) -> None:
        self.timeout = timeout
        self._tmp = tempfile.TemporaryDirectory(prefix=tmp_prefix)
        self._tmpdir = Path(self._tmp.name)
        self._stderr = open(self._tmpdir / "worker.log", "w+b")  # noqa: SIM115 - closed in close()
        self._next_id = 0
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._proc = subprocess.Popen(
            [node or shutil.which("node") or "node", str(folder / script), *args],
            cwd=folder,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        threading.Thread(target=self._pump, args=(self._proc.stdout,), daemon=True).start()

    # -- lifecycle -----------------------------------------------------------------------------

    def _pump(self, stream: Any) -> None:
        for line in iter(stream.readline, b""):
            self._lines.put(line)
        self._lines.put(None)  # EOF

    def __enter__(self: _W) -> _W:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker (politely: close stdin; kill after 10 s) and remove its temp files."""
        proc = self._proc
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.stdin.close()  # type: ignore[union-attr]
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._stderr.close()
        self._tmp.cleanup()

    def log_tail(self, limit: int = 4000) -> str:
        """The end of the worker's stderr (for error messages)."""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.flush()
            data = (self._tmpdir / "worker.log").read_bytes()
            return data[-limit:].decode("utf-8", "replace")
        return ""

    def _fail(self, message: str) -> ReferenceWorkerError:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        return ReferenceWorkerError(f"{message}\n--- {self.label} stderr ---\n{self.log_tail()}")

    # -- protocol ------------------------------------------------------------------------------

    def request(self, cmd: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """Send one request and return the reply; raises ReferenceCallError on ``ok: false``."""
        if self._proc.poll() is not None:
            raise self._fail(f"{self.label} is not running (exit code {self._proc.returncode})")
        self._next_id += 1
        request_id = self._next_id
        message = json.dumps({"cmd": cmd, "id": request_id, **fields}) + "\n"
        try:
            self._proc.stdin.write(message.encode())  # type: ignore[union-attr]
            self._proc.stdin.flush()  # type: ignore[union-attr]
        except OSError as exc:
            raise self._fail(f"cannot write to the {self.label}: {exc}") from None
        wait = self.timeout if timeout is None else timeout
        try:
            line = self._lines.get(timeout=wait)
        except queue.Empty:
            raise self._fail(f"no reply to {cmd!r} within {wait:.0f} s") from None
        if line is None:
            self._proc.wait()
            raise self._fail(f"{self.label} exited (code {self._proc.returncode}) during {cmd!r}")
        try:
            reply: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError:
            raise self._fail(f"{self.label} wrote a non-JSON line: {line[:300]!r}") from None
        if reply.get("id") != request_id:
            raise self._fail(f"reply id {reply.get('id')!r} does not match request id {request_id}")
        if not reply.get("ok"):
            raise ReferenceCallError(reply.get("error", "unknown error"))
        return reply

    def version(self) -> dict[str, Any]:
        """The worker's ``version`` reply without ``id`` and ``ok`` (versions, backend, live tensors)."""
        return {k: v for k, v in self.request("version").items() if k not in ("id", "ok")}
