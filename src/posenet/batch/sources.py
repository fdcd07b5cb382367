"""What a batch job works on: sources expanded into items, items grouped into tasks.

A source is an image file, a folder (searched recursively for images and videos), a
glob pattern, a text manifest of paths (``.txt`` or ``.lst``, one path a line, ``#``
comments, relative paths from the manifest's folder) or a video file. An *item* is one
image or one video frame; its id (the absolute path, ``#N`` appended for frame ``N``) is
stable across runs, which is what makes jobs resumable.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
"""Files a folder contributes as images (by extension, case-insensitive)."""
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".wmv", ".flv"})
"""Files read as videos, given directly or found in a folder."""
MANIFEST_SUFFIXES = frozenset({".txt", ".lst"})
"""Files read as manifests (one path a line) when given as a source."""
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Item:
    """One image (``frame is None``) or one frame of a video; ``source`` is an absolute path."""

    id: str
    source: str
    frame: int | None = None


def image_item(path: str) -> Item:
    """The item of an image file (also of a video that could not be opened)."""
    return Item(path, path)


def frame_item(video: str, index: int) -> Item:
    """The item of frame ``index`` of ``video``."""
    return Item(f"{video}#{index}", video, index)


@dataclass(frozen=True, slots=True)
class ImageTask:
    """Images decoded and estimated together (one estimate_batch call)."""

    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class VideoTask:
    """Frames of one video, read in order: those in ``frames`` (every ``every``-th frame
    not yet done), or, when the frame count is unknown, every ``every``-th frame whose
    index is not in ``skip``."""

    source: str
    every: int = 1
    frames: frozenset[int] | None = None
    skip: frozenset[int] = frozenset()

    def wants(self, index: int) -> bool:
        """Whether frame ``index`` is to be done."""
        if self.frames is not None:
            return index in self.frames
        return index % self.every == 0 and index not in self.skip

    def last(self) -> int | None:
        """The last frame wanted, if known (reading stops there)."""
        return max(self.frames) if self.frames else None

    @property
    def size(self) -> int | None:
        """How many frames are wanted, if known."""
        return None if self.frames is None else len(self.frames)


Task = ImageTask | VideoTask


@dataclass
class Plan:
    """The work of one run: ``tasks`` over ``pending`` items (frames of videos of unknown
    length are not counted), ``items`` in the sources, ``skipped`` already done,
    ``held_back`` left for a later run by the item limit."""

    tasks: list[Task] = field(default_factory=list)
    items: int = 0
    skipped: int = 0
    pending: int = 0
    held_back: int = 0
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- expansion


def _walk(folder: Path) -> Iterator[Path]:
    """Image and video files under ``folder``, sorted, hidden names skipped."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            suffix = os.path.splitext(name)[1].lower()
            if not name.startswith(".") and (suffix in IMAGE_SUFFIXES or suffix in VIDEO_SUFFIXES):
                yield Path(root) / name


def _manifest(path: Path) -> list[str]:
    """The paths a manifest lists (relative ones from its folder)."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            entries.append(text if os.path.isabs(text) else str(path.parent / text))
    return entries


def expand_sources(sources: Iterable[str | os.PathLike[str]], notes: list[str] | None = None) -> list[str]:
    """Absolute paths of the image and video files the sources name, in order, each once.

    A path that does not exist and is no pattern is kept (its item will fail, saying
    so); a pattern that matches nothing adds a line to ``notes``.
    """
    found: dict[str, None] = {}
    seen_manifests: set[str] = set()

    def add(text: str) -> None:
        path = Path(text)
        if path.is_dir():
            found.update((os.path.abspath(p), None) for p in _walk(path))
        elif path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
            key = os.path.abspath(path)
            if key not in seen_manifests:
                seen_manifests.add(key)
                for entry in _manifest(path):
                    add(entry)
        elif not path.exists() and _GLOB_CHARS & set(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches and notes is not None:
                notes.append(f"{text}: no files match")
            for match in matches:
                add(match)
        else:
            found[os.path.abspath(path)] = None

    for source in sources:
        add(os.fspath(source))
    return list(found)


def is_video(path: str) -> bool:
    """Whether ``path`` is read as a video (by its extension)."""
    return os.path.splitext(path)[1].lower() in VIDEO_SUFFIXES


# ---------------------------------------------------------------------------- planning

FrameCounter = Callable[[str], int | None]
"""The number of frames of a video (``None`` if unknown); raises if it cannot be opened."""


def plan_tasks(paths: list[str], done: Collection[str], *, every: int = 1, batch_size: int = 8,
               max_items: int | None = None, count_frames: FrameCounter) -> Plan:
    """The tasks over the items of ``paths`` not in ``done`` (ids), at most ``max_items``.

    Images are grouped ``batch_size`` to a task in order; each video is one task of its
    every ``every``-th frame not done. A video whose frames cannot be counted is one
    task of unknown size (one failed item if it cannot be opened at all).
    """
    plan = Plan()
    room = -1 if max_items is None else max_items
    images: list[Item] = []

    def flush() -> None:
        plan.tasks.extend(ImageTask(tuple(images[i:i + batch_size])) for i in range(0, len(images), batch_size))
        images.clear()

    for path in paths:
        if is_video(path):
            items = _video_items(path, every, count_frames)
            if items is None:  # unknown length, or unreadable: the task finds out
                plan.items += 1
                if path in done:
                    plan.skipped += 1
                elif room == 0:
                    plan.held_back += 1
                else:
                    flush()
                    plan.tasks.append(VideoTask(path, every, None, frozenset(_done_frames(path, done))))
                continue
        else:
            items = [image_item(path)]
        todo = [item for item in items if item.id not in done]
        plan.items += len(items)
        plan.skipped += len(items) - len(todo)
        if room >= 0:
            plan.held_back += max(len(todo) - room, 0)
            todo, room = todo[:room], max(room - len(todo), 0)
        plan.pending += len(todo)
        if todo and todo[0].frame is not None:
            flush()
            plan.tasks.append(VideoTask(path, every, frozenset(i.frame for i in todo if i.frame is not None)))
        else:
            images += todo
    flush()
    return plan


def _video_items(path: str, every: int, count_frames: FrameCounter) -> list[Item] | None:
    """The frame items of a video, or ``None`` when its frames cannot be counted."""
    try:
        count = count_frames(path)
    except Exception:  # noqa: BLE001 - unreadable: its task opens it again and records why
        return None
    return None if count is None else [frame_item(path, i) for i in range(0, count, every)]


def _done_frames(video: str, done: Collection[str]) -> Iterator[int]:
    prefix = video + "#"
    for item_id in done:
        if item_id.startswith(prefix) and item_id[len(prefix):].isdigit():
            yield int(item_id[len(prefix):])
