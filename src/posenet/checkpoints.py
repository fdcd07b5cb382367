"""The official PoseNet 2.x checkpoints: what exists, where it is, how to get it.

Lookup order for a checkpoint (``posenet.load`` without ``model_url``):

1. ``$POSENET_MODEL_DIR/<relative path>``: a folder laid out like the official URL tree
   (``mobilenet/float/075/model-stride16.json`` + shards), e.g. a shared or offline copy;
2. the user cache (``$POSENET_CACHE_DIR``, else ``$XDG_CACHE_HOME/posenet-py``, else
   ``~/.cache/posenet-py``), checked against recorded sha256 sums;
3. the official URL, downloaded once into the cache (atomic writes, sha256 recorded and,
   where this package knows the published file's checksum, verified).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable

from .errors import CheckpointUnavailableError, ChecksumMismatchError, ModelFormatError
from .graph import load_model_json
from .options import ModelConfig

BASE_URL = "https://storage.googleapis.com/tfjs-models/savedmodel/posenet/"
SUMS_FILE = "SHA256SUMS"

Progress = Callable[[int, "int | None"], None]
"""``progress(done_bytes, total_bytes_or_None)``, called while downloading."""


def validate_model_config(architecture: str, output_stride: int, multiplier: float, quant_bytes: int) -> None:
    """The reference's checks, in its order and with its messages (as ``ValueError``)."""
    ModelConfig(architecture=architecture, output_stride=output_stride, multiplier=multiplier, quant_bytes=quant_bytes)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One official checkpoint (a model JSON; its shards sit next to it)."""

    architecture: str
    multiplier: float
    quant_bytes: int
    output_stride: int

    @property
    def folder(self) -> str:
        """Folder relative to the official URL root, e.g. ``mobilenet/float/075``."""
        quant = "float" if self.quant_bytes == 4 else f"quant{self.quant_bytes}"
        if self.architecture == "ResNet50":
            return f"resnet50/{quant}"
        return f"mobilenet/{quant}/{round(self.multiplier * 100):03d}"

    @property
    def relative_path(self) -> str:
        return f"{self.folder}/model-stride{self.output_stride}.json"

    @property
    def url(self) -> str:
        return BASE_URL + self.relative_path

    @property
    def precision(self) -> str:
        return {4: "float32", 2: "uint16", 1: "uint8"}[self.quant_bytes]

    @property
    def name(self) -> str:
        """A short id, e.g. ``mobilenet-float-075-stride16``."""
        return self.relative_path.removesuffix(".json").replace("/model-", "-").replace("/", "-")


def all_checkpoints() -> list[Checkpoint]:
    """The 27 checkpoints the reference's ``load()`` can reach."""
    result = []
    for quant in (4, 2, 1):
        for multiplier in (0.5, 0.75, 1.0):
            strides = (8, 16, 32) if multiplier == 1.0 else (8, 16)
            result += [Checkpoint("MobileNetV1", multiplier, quant, s) for s in strides]
        result += [Checkpoint("ResNet50", 1.0, quant, s) for s in (16, 32)]
    return result


def find_checkpoint(architecture: str = "MobileNetV1", output_stride: int = 16, multiplier: float = 0.75,
                    quant_bytes: int = 4) -> Checkpoint:
    """The checkpoint for a configuration, after the reference's validation."""
    validate_model_config(architecture, output_stride, multiplier, quant_bytes)
    return Checkpoint(architecture, float(multiplier), int(quant_bytes), int(output_stride))


# ---------------------------------------------------------------------------------------
# Locations


def model_dir() -> Path | None:
    """``$POSENET_MODEL_DIR`` if set."""
    value = os.environ.get("POSENET_MODEL_DIR")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Where downloaded checkpoints are kept."""
    if os.environ.get("POSENET_CACHE_DIR"):
        return Path(os.environ["POSENET_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "posenet-py"


def parse_sums(text: str) -> dict[str, str]:
    """``{name: sha256}`` from ``sha256sum`` output (``digest  name`` per line)."""
    return {name: digest for digest, name in (line.split(maxsplit=1) for line in text.splitlines() if line.strip())}


def _known_checksums() -> dict[str, str]:
    return parse_sums(resources.files("posenet").joinpath("known_checksums.sha256").read_text())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_sums(folder: Path) -> dict[str, str]:
    sums_path = folder / SUMS_FILE
    if not sums_path.is_file():
        return {}
    return parse_sums(sums_path.read_text())


def _write_sums(folder: Path, sums: dict[str, str]) -> None:
    _atomic_write(folder / SUMS_FILE, "".join(f"{d}  {n}\n" for n, d in sorted(sums.items())).encode())


def _atomic_write(path: Path, data: bytes) -> None:
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


def locate(checkpoint: Checkpoint) -> Path | None:
    """The local model JSON of a checkpoint (model dir first, then cache), or None."""
    for root in (model_dir(), cache_dir()):
        if root is not None:
            path = root / checkpoint.relative_path
            if path.is_file():
                return path
    return None


WEIGHT_COUNTS: dict[tuple[str, float], int] = {
    ("MobileNetV1", 0.5): 577_459,
    ("MobileNetV1", 0.75): 1_258_195,
    ("MobileNetV1", 1.0): 3_313_907,
    ("ResNet50", 1.0): 23_717_123,
}
"""Number of weights per network (from the official manifests): download size is
about count x quant bytes."""


def expected_size(checkpoint: Checkpoint) -> int:
    """Approximate download size of a checkpoint's shards, bytes."""
    return WEIGHT_COUNTS[(checkpoint.architecture, checkpoint.multiplier)] * checkpoint.quant_bytes


@dataclass(frozen=True, slots=True)
class CheckpointStatus:
    """Where a checkpoint is: ``location`` is ``"model dir"`` (``$POSENET_MODEL_DIR``),
    ``"cache"``, ``"elsewhere"`` or ``"not on disk"``; ``size_bytes`` is the files' size on
    disk when present (``size_exact``), else the expected download size."""

    checkpoint: Checkpoint
    location: str
    path: Path | None
    size_bytes: int
    size_exact: bool

    @property
    def on_disk(self) -> bool:
        return self.path is not None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields; ``path`` is relative to its root folder (never absolute)."""
        c = self.checkpoint
        return {
            "name": c.name, "architecture": c.architecture, "multiplier": c.multiplier,
            "precision": c.precision, "quant_bytes": c.quant_bytes, "output_stride": c.output_stride,
            "size_bytes": self.size_bytes, "size_exact": self.size_exact, "location": self.location,
            "on_disk": self.on_disk, "url": c.url,
        }


def _disk_size(model_json: Path) -> int:
    try:
        names = [model_json.name] + shard_names(model_json)
    except ModelFormatError:
        names = [model_json.name]
    return sum((model_json.parent / n).stat().st_size for n in names if (model_json.parent / n).is_file())


def _location(path: Path) -> str:
    resolved = path.resolve()
    root = model_dir()
    if root is not None and root.resolve() in resolved.parents:
        return "model dir"
    return "cache" if cache_dir().resolve() in resolved.parents else "elsewhere"


def status(checkpoint: Checkpoint) -> CheckpointStatus:
    """Whether and where a checkpoint is on this machine, and its size (no network)."""
    path = locate(checkpoint)
    if path is None:
        return CheckpointStatus(checkpoint, "not on disk", None, expected_size(checkpoint), False)
    return CheckpointStatus(checkpoint, _location(path), path, _disk_size(path), True)


def all_status() -> list[CheckpointStatus]:
    """:func:`status` of every official checkpoint."""
    return [status(c) for c in all_checkpoints()]


def verify(checkpoint: Checkpoint) -> list[str]:
    """Problems with the local copy of a checkpoint; an empty list means it is sound."""
    path = locate(checkpoint)
    if path is None:
        return [f"{checkpoint.relative_path} is not on disk (posenet models fetch)"]
    return verify_files(path, checkpoint.folder)


def verify_files(model_json: Path, relative_folder: str | None = None) -> list[str]:
    """Check a model JSON and its shards against recorded and known sha256 sums."""
    try:
        names = [model_json.name] + shard_names(model_json)
    except ModelFormatError as exc:
        return [str(exc)]
    recorded = _read_sums(model_json.parent)
    known = _known_checksums()
    problems = []
    for name in names:
        file = model_json.parent / name
        if not file.is_file():
            problems.append(f"{file} is missing")
            continue
        expected = recorded.get(name) or (known.get(f"{relative_folder}/{name}") if relative_folder else None)
        if expected and _sha256(file) != expected:
            problems.append(f"{file} has the wrong sha256 (expected {expected}); fetch it again with --force")
    return problems


# ---------------------------------------------------------------------------------------
# Downloading


def _download(url: str, progress: Progress | None, timeout: float = 60.0) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = response.headers.get("Content-Length")
            total_bytes = int(total) if total and total.isdigit() else None
            chunks, done = [], 0
            while True:
                chunk = response.read(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
                done += len(chunk)
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
                   progress: Progress | None = None) -> Path:
    """Download a model JSON and its shards from ``url`` into ``folder``; record their
    sha256 and check them against the published sums this package knows."""
    known = _known_checksums()
    sums = _read_sums(folder)
    json_name = url.rsplit("/", 1)[-1].split("?")[0] or "model.json"
    base = url.rsplit("/", 1)[0] + "/"

    def fetch_one(name: str, file_url: str) -> None:
        data = _download(file_url, progress)
        digest = hashlib.sha256(data).hexdigest()
        expected = known.get(f"{relative_folder}/{name}") if relative_folder else None
        if expected and digest != expected:
            raise ChecksumMismatchError(
                f"{file_url} has sha256 {digest}, but the published file has {expected}; "
                "the download is corrupt or was tampered with"
            )
        _atomic_write(folder / name, data)
        sums[name] = digest

    fetch_one(json_name, url)
    for shard in shard_names(folder / json_name):
        if "/" in shard or shard.startswith("."):
            raise ModelFormatError(f"refusing shard path {shard!r} from {url}: it leaves the model folder")
        fetch_one(shard, base + shard)
    _write_sums(folder, sums)
    return folder / json_name


def fetch(checkpoint: Checkpoint, progress: Progress | None = None, force: bool = False) -> Path:
    """Make sure a checkpoint is on disk (download into the cache if needed); returns its JSON."""
    if not force:
        path = locate(checkpoint)
        if path is not None:
            return path
    folder = cache_dir() / checkpoint.folder
    try:
        return download_model(checkpoint.url, folder, checkpoint.folder, progress)
    except CheckpointUnavailableError as exc:
        where = [str(p / checkpoint.relative_path) for p in (model_dir(), cache_dir()) if p is not None]
        raise CheckpointUnavailableError(
            f"checkpoint {checkpoint.name} is not on disk (looked in {', '.join(where)}) and {exc}. "
            f"On a machine with internet run `posenet models fetch {checkpoint.name}`, or download "
            f"{checkpoint.url} and its group1-shard*.bin files into a folder laid out like the URL "
            f"tree and set POSENET_MODEL_DIR to it."
        ) from None


def resolve_model_json(checkpoint: Checkpoint, model_url: str | os.PathLike[str] | None = None,
                       progress: Progress | None = None) -> Path:
    """The local model JSON to load: ``model_url`` (a file, a folder or an http(s) URL)
    if given, else the checkpoint from the model dir, the cache or its official URL.
    Cached files are re-checked against their recorded sha256."""
    if model_url is None:
        path = fetch(checkpoint, progress)
        if cache_dir() in path.parents:
            problems = verify_files(path, checkpoint.folder)
            if problems:
                raise ChecksumMismatchError("; ".join(problems))
        return path
    text = os.fspath(model_url)
    if text.startswith(("http://", "https://")):
        folder = cache_dir() / "urls" / hashlib.sha256(text.encode()).hexdigest()[:16]
        path = folder / (text.rsplit("/", 1)[-1].split("?")[0] or "model.json")
        if not path.is_file():
            return download_model(text, folder, progress=progress)
        problems = verify_files(path)
        if problems:
            raise ChecksumMismatchError("; ".join(problems))
        return path
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
