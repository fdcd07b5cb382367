"""Getting checkpoints: the official URL (or a mirror), the cache, ``model_url``.

A download is all or nothing: every file is fetched and checked (against the sha256 of
the published file where this package knows it) before any is written, then the shards
are renamed into place and the model JSON last, so an interrupted download never leaves
a copy that looks complete.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import CheckpointUnavailableError, ChecksumMismatchError, ModelFormatError
from ..graph import parse_model_json
from .catalog import Checkpoint
from .store import (
    atomic_write,
    cache_dir,
    find_copy,
    known_checksums,
    missing_files,
    model_dir,
    read_sums,
    verify_files,
    write_sums,
)

Progress = Callable[[int, "int | None"], None]
"""``progress(done_bytes, total_bytes_or_None)``, called while downloading."""

MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024
"""Largest file accepted from a URL (a model JSON or one shard); the official shards are 4 MB."""


def _download(url: str, progress: Progress | None, timeout: float = 60.0, max_bytes: int | None = None) -> bytes:
    import urllib.error
    import urllib.request

    max_bytes = MAX_DOWNLOAD_BYTES if max_bytes is None else max_bytes
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = response.headers.get("Content-Length")
            total_bytes = int(total) if total and total.isdigit() else None
            if total_bytes is not None and total_bytes > max_bytes:
                raise CheckpointUnavailableError(f"{url} is {total_bytes} bytes, over the limit of {max_bytes}")
            chunks, done = [], 0
            while chunk := response.read(1 << 16):
                chunks.append(chunk)
                done += len(chunk)
                if done > max_bytes:
                    raise CheckpointUnavailableError(f"{url} sends more than the limit of {max_bytes} bytes")
                if progress:
                    progress(done, total_bytes)
            data = b"".join(chunks)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise CheckpointUnavailableError(f"cannot download {url}: {reason}") from None
    if total_bytes is not None and len(data) != total_bytes:
        raise CheckpointUnavailableError(f"download of {url} stopped after {len(data)} of {total_bytes} bytes")
    return data


def download_model(url: str, folder: Path, relative_folder: str | None = None,
                   progress: Progress | None = None, expected: Mapping[str, str] | None = None) -> Path:
    """Download a model JSON and its shards from ``url`` into ``folder``; record their
    sha256 and check them against the published sums this package knows (``expected``:
    by file name; else the PoseNet sums of ``relative_folder``)."""
    known = dict(expected) if expected is not None else {
        name.removeprefix(f"{relative_folder}/"): digest for name, digest in known_checksums().items()
        if relative_folder and name.startswith(f"{relative_folder}/")}
    json_name = url.rsplit("/", 1)[-1].split("?")[0] or "model.json"
    base = url.rsplit("/", 1)[0] + "/"
    files: dict[str, bytes] = {}

    def fetch_one(name: str, file_url: str) -> None:
        data = _download(file_url, progress)
        published = known.get(name)
        if published and hashlib.sha256(data).hexdigest() != published:
            raise ChecksumMismatchError(
                f"{file_url} has sha256 {hashlib.sha256(data).hexdigest()}, but the published file has {published}; "
                "the download is corrupt or was tampered with"
            )
        files[name] = data

    fetch_one(json_name, url)
    manifest = parse_model_json(files[json_name], url)["weightsManifest"]
    try:
        shards = [str(p) for group in manifest for p in group["paths"]]
    except (KeyError, TypeError) as exc:
        raise ModelFormatError(f"{url}: weightsManifest has no list of 'paths' ({exc})") from None
    for shard in shards:
        if "/" in shard or "\\" in shard or shard.startswith("."):
            raise ModelFormatError(f"refusing shard path {shard!r} from {url}: it leaves the model folder")
        fetch_one(shard, base + shard)
    sums = read_sums(folder)
    for name in [*shards, json_name]:  # the JSON last: its presence marks a complete copy
        atomic_write(folder / name, files[name])
        sums[name] = hashlib.sha256(files[name]).hexdigest()
    write_sums(folder, sums)
    return folder / json_name


def _offline_advice(checkpoint: Checkpoint, reason: str) -> str:
    where = [str(p / checkpoint.relative_path) for p in (model_dir(), cache_dir()) if p is not None]
    return (
        f"checkpoint {checkpoint.name} is not on disk (looked in {', '.join(where)}) and {reason}. "
        f"To get it without internet here: on a machine with internet run `posenet models fetch {checkpoint.name}` "
        f"and copy its cache folder ({checkpoint.folder} under the cache) to the same place under "
        f"{cache_dir()} (or point POSENET_CACHE_DIR at the copied cache); or download {checkpoint.url} and its "
        "group1-shard*.bin files into a folder laid out like the URL tree and set POSENET_MODEL_DIR to its root."
    )


def fetch(checkpoint: Checkpoint, progress: Progress | None = None, force: bool = False) -> Path:
    """Make sure a complete checkpoint is on disk (download into the cache if needed, and
    over an incomplete copy); returns its model JSON."""
    complete, partial = find_copy(checkpoint)
    if complete is not None and not force:
        return complete
    try:
        return download_model(checkpoint.url, cache_dir() / checkpoint.folder, checkpoint.folder, progress)
    except CheckpointUnavailableError as exc:
        reason = str(exc)
        if partial is not None:
            reason = f"{partial.parent} is incomplete (missing {', '.join(missing_files(partial))}), and {reason}"
        raise CheckpointUnavailableError(_offline_advice(checkpoint, reason)) from None


def _checked(path: Path, relative_folder: str | None) -> Path:
    problems = verify_files(path, relative_folder)
    if problems:
        raise ChecksumMismatchError(
            "; ".join(problems) + ". The files are corrupt or were changed: fetch them again with "
            "`posenet models fetch --force NAME`, or restore them from their source"
        )
    return path


def resolve_model_json(checkpoint: Checkpoint, model_url: str | os.PathLike[str] | None = None,
                       progress: Progress | None = None) -> Path:
    """The local model JSON to load: ``model_url`` (a file, a folder or an http(s) URL)
    if given, else the checkpoint from the model dir, the cache or its official URL.
    Official files are checked against the published sha256 and cached files against the
    sums recorded at download (once per process while they are unchanged)."""
    if model_url is None:
        return _checked(fetch(checkpoint, progress), checkpoint.folder)
    text = os.fspath(model_url)
    if text.startswith(("http://", "https://")):
        folder = cache_dir() / "urls" / hashlib.sha256(text.encode()).hexdigest()[:16]
        path = folder / (text.rsplit("/", 1)[-1].split("?")[0] or "model.json")
        if missing_files(path):
            return download_model(text, folder, progress=progress)
        return _checked(path, None)
    path = Path(text).expanduser()
    if path.is_dir():
        candidate = path / f"model-stride{checkpoint.output_stride}.json"
        if not candidate.is_file():
            found = sorted(path.glob("*.json"))
            if len(found) != 1:
                raise CheckpointUnavailableError(
                    f"model folder {path} has no model-stride{checkpoint.output_stride}.json "
                    f"(JSON files there: {[p.name for p in found] or 'none'}); pass the model JSON itself"
                )
            candidate = found[0]
        return candidate
    if not path.is_file():
        raise CheckpointUnavailableError(f"model_url {text!r} is neither a file, a folder nor an http(s) URL")
    return path
