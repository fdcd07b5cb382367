"""Progress of a batch job: the interface engines report to, and a plain-text reporter
(for logs and pipes; the command line uses a tqdm bar on a terminal)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import IO, Protocol


class Progress(Protocol):
    """What a job reports: ``start`` once, ``advance`` as items finish, ``close`` at the end."""

    def start(self, total: int, skipped: int) -> None:
        """``total`` items to do in this run, ``skipped`` done by an earlier run."""
        ...

    def advance(self, done: int, failures: Sequence[tuple[str, str]]) -> None:
        """``done`` more items finished; ``failures``: ``(id, error)`` of those that failed."""
        ...

    def close(self) -> None:
        ...


def eta_text(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class TextProgress:
    """A line every ``interval_s`` seconds (and at the end): done / total, failed, rate, ETA."""

    def __init__(self, stream: IO[str] | None = None, interval_s: float = 5.0, label: str = "batch") -> None:
        self.stream, self.interval_s, self.label = stream or sys.stderr, interval_s, label
        self.total = self.done = self.failed = 0
        self._start = self._last = time.perf_counter()

    def start(self, total: int, skipped: int) -> None:
        self.total = total
        self._start = self._last = time.perf_counter()
        done_before = f", {skipped} done before" if skipped else ""
        self._print(f"{self.label}: {total} items to do{done_before}")

    def advance(self, done: int, failures: Sequence[tuple[str, str]]) -> None:
        self.done += done
        self.failed += len(failures)
        now = time.perf_counter()
        if now - self._last >= self.interval_s:
            self._last = now
            self._print(self.line(now))

    def line(self, now: float | None = None) -> str:
        """The current state as one line."""
        elapsed = (time.perf_counter() if now is None else now) - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = f", ETA {eta_text((self.total - self.done) / rate)}" if rate > 0 and self.total > self.done else ""
        return (f"{self.label}: {self.done}/{self.total} items ({self.failed} failed), "
                f"{rate:.1f} items/s{eta}")

    def close(self) -> None:
        self._print(self.line())

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
