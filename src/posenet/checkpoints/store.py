"""Where checkpoints live on this machine: the model folder, the cache, their checksums.

A checkpoint is on disk only when its model JSON and every shard its manifest names are
there: a half-finished copy counts as absent (and ``posenet models fetch`` repairs it).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import ModelFormatError
from ..graph import load_model_json
from .catalog import Checkpoint, all_checkpoints

SUMS_FILE = "SHA256SUMS"


def model_dir() -> Path | None:
    """``$POSENET_MODEL_DIR`` if set."""
    value = os.environ.get("POSENET_MODEL_DIR")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Where downloaded checkpoints are kept (``$POSENET_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/posenet-py``, else ``~/.cache/posenet-py``)."""
    if os.environ.get("POSENET_CACHE_DIR"):
        return Path(os.environ["POSENET_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "posenet-py"


def parse_sums(text: str) -> dict[str, str]:
    """``{name: sha256}`` from ``sha256sum`` output (``digest  name`` per line)."""
    return {name.strip(): digest for digest, name in (line.split(maxsplit=1) for line in text.splitlines()
                                                      if line.strip())}


def known_checksums() -> dict[str, str]:
    """The published files' sha256, by path relative to the official URL root."""
    return parse_sums(resources.files("posenet").joinpath("known_checksums.sha256").read_text())


_HASHES: dict[tuple[str, int, int], str] = {}
_HASHES_LOCK = threading.Lock()


def sha256(path: Path) -> str:
    """The file's sha256 (remembered in this process while its size and mtime stay)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _HASHES_LOCK:
        if key in _HASHES:
            return _HASHES[key]
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    with _HASHES_LOCK:
        _HASHES[key] = digest.hexdigest()
    return digest.hexdigest()


def read_sums(folder: Path) -> dict[str, str]:
    """The sums recorded in ``folder/SHA256SUMS`` (empty if none)."""
    sums_path = folder / SUMS_FILE
    return parse_sums(sums_path.read_text()) if sums_path.is_file() else {}


def write_sums(folder: Path, sums: dict[str, str]) -> None:
    atomic_write(folder / SUMS_FILE, "".join(f"{d}  {n}\n" for n, d in sorted(sums.items())).encode())


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def shard_names(model_json: Path) -> list[str]:
    """The shard file names a model JSON's weightsManifest lists."""
    manifest = load_model_json(model_json)["weightsManifest"]
    try:
        return [str(p) for group in manifest for p in group["paths"]]
    except (KeyError, TypeError) as exc:
        raise ModelFormatError(f"{model_json}: weightsManifest has no list of 'paths' ({exc})") from None


def missing_files(model_json: Path) -> list[str]:
    """Names of the files of a checkpoint copy that are not there (its JSON, its shards)."""
    if not model_json.is_file():
        return [model_json.name]
    try:
        names = shard_names(model_json)
    except ModelFormatError:
        return [model_json.name]
    return [n for n in names if not (model_json.parent / n).is_file()]


def find_copy(checkpoint: Checkpoint) -> tuple[Path | None, Path | None]:
    """``(complete, partial)``: the first complete local copy (model dir, then cache) and
    the first incomplete one found before it, each a model JSON path or ``None``."""
    partial = None
    for root in (model_dir(), cache_dir()):
        if root is None:
            continue
        path = root / checkpoint.relative_path
        if path.is_file() or path.parent.is_dir():
            if not missing_files(path):
                return path, partial
            if path.is_file() and partial is None:
                partial = path
    return None, partial


def locate(checkpoint: Checkpoint) -> Path | None:
    """The local model JSON of a complete copy of a checkpoint (model dir first, then
    cache), or ``None``."""
    return find_copy(checkpoint)[0]


def verify_files(model_json: Path, relative_folder: str | None = None) -> list[str]:
    """Check a model JSON and its shards against recorded and known sha256 sums."""
    try:
        names = [model_json.name, *shard_names(model_json)]
    except ModelFormatError as exc:
        return [str(exc)]
    recorded = read_sums(model_json.parent)
    known = known_checksums()
    problems = []
    for name in names:
        file = model_json.parent / name
        if not file.is_file():
            problems.append(f"{file} is missing")
            continue
        expected = recorded.get(name) or (known.get(f"{relative_folder}/{name}") if relative_folder else None)
        if expected and sha256(file) != expected:
            problems.append(f"{file} has the wrong sha256 (expected {expected})")
    return problems


def verify(checkpoint: Checkpoint) -> list[str]:
    """Problems with the local copy of a checkpoint; an empty list means it is sound."""
    path, partial = find_copy(checkpoint)
    if path is None:
        if partial is not None:
            return [f"{partial.parent} holds an incomplete copy (missing {', '.join(missing_files(partial))}); "
                    f"repair it with: posenet models fetch --force {checkpoint.name}"]
        return [f"{checkpoint.relative_path} is not on disk (posenet models fetch {checkpoint.name})"]
    return verify_files(path, checkpoint.folder)


@dataclass(frozen=True, slots=True)
class CheckpointStatus:
    """Where a checkpoint is: ``location`` is ``"model dir"`` (``$POSENET_MODEL_DIR``),
    ``"cache"``, ``"incomplete"`` or ``"not on disk"``; ``size_bytes`` is the files' size on
    disk when complete (``size_exact``), else the expected download size."""

    checkpoint: Checkpoint
    location: str
    path: Path | None
    size_bytes: int
    size_exact: bool

    @property
    def on_disk(self) -> bool:
        return self.path is not None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (no local paths)."""
        c = self.checkpoint
        return {
            "name": c.name, "architecture": c.architecture, "multiplier": c.multiplier,
            "precision": c.precision, "quant_bytes": c.quant_bytes, "output_stride": c.output_stride,
            "size_bytes": self.size_bytes, "size_exact": self.size_exact, "location": self.location,
            "on_disk": self.on_disk, "url": c.url,
        }


def _disk_size(model_json: Path) -> int:
    names = [model_json.name, *shard_names(model_json)]
    return sum((model_json.parent / n).stat().st_size for n in names)


def status(checkpoint: Checkpoint) -> CheckpointStatus:
    """Whether and where a checkpoint is on this machine, and its size (no network)."""
    path, partial = find_copy(checkpoint)
    if path is None:
        where = "incomplete" if partial is not None else "not on disk"
        return CheckpointStatus(checkpoint, where, None, checkpoint.expected_size, False)
    root = model_dir()
    in_model_dir = root is not None and root / checkpoint.relative_path == path
    return CheckpointStatus(checkpoint, "model dir" if in_model_dir else "cache", path, _disk_size(path), True)


def all_status() -> list[CheckpointStatus]:
    """:func:`status` of every official checkpoint."""
    return [status(c) for c in all_checkpoints()]
