"""The named model files of MoveNet and BlazePose: catalogue, lookup order, checksum-verified
downloads from a real HTTP server on loopback serving the shared files as a mirror."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from posenet import checkpoints
from posenet.checkpoints import graph_models
from posenet.cli import main
from posenet.errors import CheckpointUnavailableError, ChecksumMismatchError
from posenet.movenet import MoveNetConfig

NAMES = ["movenet-lightning", "movenet-thunder", "movenet-multipose", "blazepose-detector", "blazepose-lite",
         "blazepose-full", "blazepose-heavy"]


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No folder setting, a private cache, and a mirror nobody answers on (port 9 refuses)."""
    for env in (*graph_models.FAMILY_DIR_ENV.values(), graph_models.BASE_URL_ENV):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("POSENET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(graph_models.BASE_URL_ENV, "http://127.0.0.1:9/models/")


def _shared_family(shared_dir: Path, family: str) -> Path:
    folder = shared_dir / "models" / family
    if not (folder / f"{family}-{'lightning' if family == 'movenet' else 'lite'}.json").is_file():
        pytest.skip(f"{folder} has no {family} models")
    return folder


@pytest.fixture
def movenet_dir(shared_dir: Path) -> Path:
    return _shared_family(shared_dir, "movenet")


def _serve(root: Path) -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def mirror(movenet_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The shared MoveNet folder, served in place as the download mirror."""
    for url in _serve(movenet_dir):
        monkeypatch.setenv(graph_models.BASE_URL_ENV, url)
        yield url


@pytest.fixture
def tampered_mirror(movenet_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A mirror whose movenet-lightning.bin has one byte changed."""
    root = tmp_path / "mirror"
    root.mkdir()
    for name in ("movenet-lightning.json", "movenet-lightning.bin"):
        shutil.copyfile(movenet_dir / name, root / name)
    shard = bytearray((root / "movenet-lightning.bin").read_bytes())
    shard[len(shard) // 2] ^= 0x01
    (root / "movenet-lightning.bin").write_bytes(bytes(shard))
    for url in _serve(root):
        monkeypatch.setenv(graph_models.BASE_URL_ENV, url)
        yield root


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# -- catalogue ------------------------------------------------------------------------------------

def test_catalogue_names_every_file_with_its_sha256(shared_dir: Path) -> None:
    assert [m.name for m in checkpoints.all_graph_models()] == NAMES
    assert [m.name for m in checkpoints.all_graph_models("blazepose")] == NAMES[3:]
    for model in checkpoints.all_graph_models():
        assert [f.name for f in model.files] == [f"{model.name}.json", f"{model.name}.bin"]
        folder = shared_dir / "models" / model.family
        if not (folder / model.json_name).is_file():
            continue
        sums = checkpoints.parse_sums((folder / "SHA256SUMS").read_text())
        for f in model.files:  # the facts in the package are those of the shared copy
            assert sums[f"./{f.name}"] == f.sha256 == checkpoints.sha256(folder / f.name)
            assert (folder / f.name).stat().st_size == f.size
        manifest = json.loads((folder / model.json_name).read_text())["weightsManifest"]
        assert [p for group in manifest for p in group["paths"]] == [model.files[1].name]
    with pytest.raises(ValueError, match="movenet-lightning"):
        checkpoints.graph_model("movenet-fast")


def test_published_route_is_pinned_and_a_mirror_replaces_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(graph_models.BASE_URL_ENV)
    url = checkpoints.graph_model("blazepose-heavy").url
    assert url.startswith(graph_models.GRAPH_MODELS_BASE_URL) and url.endswith("/models/blazepose-heavy.json")
    assert len(graph_models.GRAPH_MODELS_BASE_URL.rstrip("/").split("/")[-2]) == 40  # a commit, not a branch
    monkeypatch.setenv(graph_models.BASE_URL_ENV, "http://mirror.invalid/m")
    assert checkpoints.graph_model("movenet-thunder").url == "http://mirror.invalid/m/movenet-thunder.json"


# -- download -------------------------------------------------------------------------------------

def test_download_from_a_mirror_into_the_cache_is_verified(mirror: str, tmp_path: Path) -> None:
    model = checkpoints.graph_model("movenet-lightning")
    assert checkpoints.graph_status(model).location == "not on disk"
    path = Path(MoveNetConfig(model_type="lightning").model_path())
    assert path == tmp_path / "cache" / "movenet" / "movenet-lightning.json"
    for f in model.files:
        assert hashlib.sha256((path.parent / f.name).read_bytes()).hexdigest() == f.sha256
    recorded = checkpoints.parse_sums((path.parent / checkpoints.SUMS_FILE).read_text())
    assert recorded == model.checksums
    assert checkpoints.graph_status(model).location == "cache"
    assert checkpoints.verify_graph_model(model) == []
    assert checkpoints.resolve_graph_model("movenet-lightning") == str(path)  # found in the cache now


def test_a_tampered_byte_is_refused_and_nothing_is_written(tampered_mirror: Path, tmp_path: Path) -> None:
    with pytest.raises(ChecksumMismatchError) as info:
        checkpoints.resolve_graph_model("movenet-lightning")
    text = str(info.value)
    published = checkpoints.graph_model("movenet-lightning").files[1].sha256
    assert "movenet-lightning.bin" in text and published in text
    assert graph_models.BASE_URL_ENV in text and "POSENET_MOVENET_DIR" in text and "Nothing was written" in text
    assert _files(tmp_path / "cache") == []  # no JSON, no shard, no leftover .part file


def test_a_download_cut_short_leaves_nothing(movenet_dir: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "mirror"
    root.mkdir()
    shutil.copyfile(movenet_dir / "movenet-thunder.json", root / "movenet-thunder.json")  # the shard is missing
    for url in _serve(root):
        monkeypatch.setenv(graph_models.BASE_URL_ENV, url)
        with pytest.raises(CheckpointUnavailableError, match=r"movenet-thunder\.bin"):
            checkpoints.resolve_graph_model("movenet-thunder")
    assert _files(tmp_path / "cache") == []


def test_a_copy_changed_in_the_cache_is_caught(mirror: str, tmp_path: Path) -> None:
    path = Path(checkpoints.resolve_graph_model("movenet-lightning"))
    shard = path.parent / "movenet-lightning.bin"
    shard.write_bytes(shard.read_bytes()[:-4] + b"oops")
    with pytest.raises(ChecksumMismatchError, match=r"movenet-lightning\.bin .*posenet models fetch --force"):
        checkpoints.resolve_graph_model("movenet-lightning")
    # fetch --force repairs it
    checkpoints.fetch_graph_model(checkpoints.graph_model("movenet-lightning"), force=True)
    assert checkpoints.resolve_graph_model("movenet-lightning") == str(path)


def test_offline_error_says_what_to_set_or_run(tmp_path: Path) -> None:
    with pytest.raises(CheckpointUnavailableError) as info:
        MoveNetConfig(model_type="thunder").model_path()
    assert isinstance(info.value, ValueError)  # as model_path raised before it could download
    text = str(info.value)
    for needle in ("movenet-thunder.json", "POSENET_MOVENET_DIR", "posenet models fetch movenet-thunder",
                   graph_models.BASE_URL_ENV, "http://127.0.0.1:9/models/movenet-thunder.json", "model_url"):
        assert needle in text
    assert _files(tmp_path / "cache") == []


# -- lookup order ---------------------------------------------------------------------------------

def test_the_folder_setting_wins_over_the_cache(mirror: str, movenet_dir: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    cached = checkpoints.resolve_graph_model("movenet-lightning")
    monkeypatch.setenv("POSENET_MOVENET_DIR", str(movenet_dir))
    assert MoveNetConfig().model_path() == str(movenet_dir / "movenet-lightning.json") != cached
    assert checkpoints.graph_status(checkpoints.graph_model("movenet-lightning")).location == "model dir"


def test_a_folder_setting_without_the_file_falls_back_to_the_cache(mirror: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "movenet-thunder.json").write_text("{}")  # half a copy: the shard is missing
    monkeypatch.setenv("POSENET_MOVENET_DIR", str(tmp_path / "mine"))
    model = checkpoints.graph_model("movenet-thunder")
    assert checkpoints.graph_status(model).location == "incomplete"
    assert checkpoints.resolve_graph_model("movenet-thunder") == str(tmp_path / "cache/movenet/movenet-thunder.json")


def test_a_changed_file_in_the_folder_setting_is_refused(movenet_dir: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copyfile(movenet_dir / "movenet-lightning.json", mine / "movenet-lightning.json")
    (mine / "movenet-lightning.bin").write_bytes(b"\0" * 16)
    monkeypatch.setenv("POSENET_MOVENET_DIR", str(mine))
    with pytest.raises(ChecksumMismatchError, match=r"movenet-lightning\.bin has the wrong sha256.*model_url"):
        MoveNetConfig().model_path()


def test_an_explicit_path_or_url_comes_first(movenet_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSENET_MOVENET_DIR", "/nonexistent")
    assert MoveNetConfig(model_url="http://example.invalid/m.json").model_path() == "http://example.invalid/m.json"
    assert MoveNetConfig(model_type="thunder", model_url=str(movenet_dir)).model_path() == str(
        movenet_dir / "movenet-thunder.json")


def test_blazepose_files_come_from_their_folder_setting(shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _shared_family(shared_dir, "blazepose")
    monkeypatch.setenv("POSENET_BLAZEPOSE_DIR", str(folder))
    for name in ("blazepose-detector", "blazepose-lite"):
        assert checkpoints.resolve_graph_model(name) == str(folder / f"{name}.json")
    assert checkpoints.graph_status(checkpoints.graph_model("movenet-lightning")).location == "not on disk"


# -- command line ---------------------------------------------------------------------------------

def test_cli_lists_downloads_and_verifies(mirror: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["models", "list", "--family", "movenet", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == NAMES[:3] and {r["location"] for r in rows} == {"not on disk"}
    assert rows[0]["url"] == mirror + "movenet-lightning.json" and rows[0]["folder_setting"] == "POSENET_MOVENET_DIR"
    assert main(["models", "download", "movenet-lightning", "-q"]) == 0
    assert main(["models", "fetch", "blazepose-lite", "-q"]) == 1  # not on this mirror: reported, exit 1
    assert "blazepose-lite" in capsys.readouterr().err
    assert _files(tmp_path / "cache") == ["SHA256SUMS", "movenet-lightning.bin", "movenet-lightning.json"]
    assert main(["models", "list", "--family", "all"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 + 27 + len(NAMES)
    row = next(line for line in out if line.startswith("movenet-lightning "))
    assert "  cache  " in row and row.endswith("--model movenet-lightning")
    assert main(["models", "verify", "movenet-lightning"]) == 0
    assert capsys.readouterr().out.startswith("ok      movenet-lightning")


def test_a_family_is_on_disk_only_with_all_its_files(shared_dir: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """BlazePose needs the detector beside its landmark model: the landmark files alone are not
    enough for `posenet serve` to offer it; PoseNet (fetched on first use) always counts."""
    from posenet.families import FAMILIES

    folder = tmp_path / "blazepose"
    folder.mkdir()
    for name in ("blazepose-lite.json", "blazepose-lite.bin"):
        (folder / name).symlink_to(shared_dir / "models" / "blazepose" / name)
    monkeypatch.setenv("POSENET_BLAZEPOSE_DIR", str(folder))
    monkeypatch.setenv("POSENET_CACHE_DIR", str(tmp_path / "cache"))
    assert FAMILIES["blazepose-lite"].model_files == ("blazepose-detector", "blazepose-lite")
    assert not FAMILIES["blazepose-lite"].files_on_disk()
    for name in ("blazepose-detector.json", "blazepose-detector.bin"):
        (folder / name).symlink_to(shared_dir / "models" / "blazepose" / name)
    assert FAMILIES["blazepose-lite"].files_on_disk()
    assert FAMILIES["posenet"].files_on_disk()
