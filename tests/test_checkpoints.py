"""Checkpoint catalogue, validation, and downloads from a real HTTP server on loopback."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

import posenet
from posenet import checkpoints
from posenet.errors import CheckpointUnavailableError, ChecksumMismatchError


def test_catalogue_has_the_27_official_checkpoints():
    all_ = checkpoints.all_checkpoints()
    assert len(all_) == 27 == len({c.url for c in all_})
    assert sum(c.architecture == "ResNet50" for c in all_) == 6
    default = checkpoints.find_checkpoint()
    assert default.url == (
        "https://storage.googleapis.com/tfjs-models/savedmodel/posenet/mobilenet/float/075/model-stride16.json"
    )
    assert checkpoints.find_checkpoint("ResNet50", 32, 1.0, 2).relative_path == "resnet50/quant2/model-stride32.json"
    assert (default.precision, default.name) == ("float32", "mobilenet-float-075-stride16")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"architecture": "MobileNetV3"}, "Invalid architecture MobileNetV3. Should be one of MobileNetV1,ResNet50"),
        ({"output_stride": 7}, "Invalid outputStride 7. Should be one of 8,16,32 for architecture MobileNetV1."),
        ({"architecture": "ResNet50", "output_stride": 8, "multiplier": 1.0},
         "Invalid outputStride 8. Should be one of 32,16 for architecture ResNet50."),
        ({"multiplier": 0.6}, "Invalid multiplier 0.6. Should be one of 0.5,0.75,1 for architecture MobileNetV1."),
        ({"quant_bytes": 3}, "Invalid quantBytes 3. Should be one of 1,2,4 for architecture MobileNetV1."),
        ({"output_stride": 32}, "Invalid multiplier 0.75 for output stride 32: MobileNetV1 has a stride-32 checkpoint only at multiplier 1.0"),
        ({"input_resolution": "big"}, "Invalid inputResolution 'big'"),
        ({"engine": "tensorrt"}, "Invalid engine 'tensorrt'"),
    ],
)
def test_load_validates_before_touching_files(kwargs, message, tmp_path, monkeypatch):
    monkeypatch.setenv("POSENET_MODEL_DIR", str(tmp_path / "nothing-here"))
    monkeypatch.setenv("POSENET_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(ValueError) as info:
        posenet.load(**kwargs)
    assert message in str(info.value)
    assert not (tmp_path / "cache").exists()


def test_offline_error_names_the_url_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("POSENET_MODEL_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("POSENET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("POSENET_BASE_URL", "http://127.0.0.1:9/posenet/")  # discard port: refused
    with pytest.raises(CheckpointUnavailableError) as info:
        posenet.load()
    text = str(info.value)
    assert "http://127.0.0.1:9/posenet/mobilenet/float/075/model-stride16.json" in text
    assert "POSENET_MODEL_DIR" in text and "posenet models fetch" in text


@pytest.fixture
def served_models(models_dir, tmp_path, monkeypatch):
    """The shared weights behind a real HTTP server on 127.0.0.1, as the official URL tree."""
    root = tmp_path / "served"
    shutil.copytree(models_dir / "mobilenet/float/050", root / "mobilenet/float/050")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("POSENET_BASE_URL", f"http://127.0.0.1:{server.server_port}/")
    monkeypatch.setenv("POSENET_MODEL_DIR", str(tmp_path / "no-local-copy"))
    monkeypatch.setenv("POSENET_CACHE_DIR", str(tmp_path / "cache"))
    yield root
    server.shutdown()
    server.server_close()


def test_download_into_cache_verify_and_reuse(served_models, tmp_path):
    ckpt = checkpoints.find_checkpoint(multiplier=0.5)
    seen = []
    path = checkpoints.fetch(ckpt, progress=lambda done, total: seen.append((done, total)))
    assert path == tmp_path / "cache/mobilenet/float/050/model-stride16.json"
    assert seen and seen[-1][0] == seen[-1][1]
    sums = (path.parent / "SHA256SUMS").read_text()
    assert "group1-shard1of1.bin" in sums and "model-stride16.json" in sums
    assert checkpoints.verify(ckpt) == []
    net = posenet.load(multiplier=0.5, engine="numpy")
    assert net.model_path == path

    shard = path.parent / "group1-shard1of1.bin"
    shard.write_bytes(b"\0" * shard.stat().st_size)  # corrupted in place, same size
    assert any("wrong sha256" in p for p in checkpoints.verify(ckpt))
    with pytest.raises(ChecksumMismatchError):
        posenet.load(multiplier=0.5)
    checkpoints.fetch(ckpt, force=True)
    assert checkpoints.verify(ckpt) == []


def test_download_that_differs_from_the_published_file_is_refused(served_models):
    shard = served_models / "mobilenet/float/050/group1-shard1of1.bin"
    data = bytearray(shard.read_bytes())
    data[100] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError, match="published file"):
        checkpoints.fetch(checkpoints.find_checkpoint(multiplier=0.5))


def test_model_url_file_folder_and_http(served_models, models_dir):
    folder = models_dir / "mobilenet/float/050"
    by_folder = posenet.load(multiplier=0.5, model_url=folder, engine="numpy")
    assert by_folder.model_path == folder / "model-stride16.json"
    by_file = posenet.load(multiplier=0.5, output_stride=8, model_url=folder / "model-stride16.json", engine="numpy")
    assert by_file.output_stride == 8  # restrided from the stride-16 graph
    url = checkpoints.base_url() + "mobilenet/float/050/model-stride8.json"
    by_url = posenet.load(multiplier=0.5, output_stride=8, model_url=url, engine="numpy")
    assert by_url.model_path is not None and by_url.model_path.name == "model-stride8.json"
    with pytest.raises(CheckpointUnavailableError, match="neither a file"):
        posenet.load(model_url=Path("/nonexistent/model.json"))


def test_wrong_architecture_for_the_model_file(models_dir):
    with pytest.raises(ValueError, match="holds a MobileNetV1 network but architecture='ResNet50'"):
        posenet.load("ResNet50", 16, multiplier=1.0, model_url=models_dir / "mobilenet/float/050/model-stride16.json")


def test_a_half_downloaded_cache_copy_counts_as_absent_and_fetch_repairs_it(served_models, tmp_path, models_dir):
    ckpt = checkpoints.find_checkpoint(multiplier=0.5)
    folder = tmp_path / "cache" / ckpt.folder
    folder.mkdir(parents=True)
    shutil.copy(models_dir / ckpt.relative_path, folder)  # the JSON without its shard
    assert checkpoints.locate(ckpt) is None
    assert checkpoints.status(ckpt).location == "incomplete"
    problems = checkpoints.verify(ckpt)
    assert len(problems) == 1 and "incomplete" in problems[0] and f"posenet models fetch --force {ckpt.name}" in problems[0]
    path = checkpoints.fetch(ckpt)  # downloads over the incomplete copy
    assert checkpoints.missing_files(path) == [] and checkpoints.verify(ckpt) == []


def test_a_failed_download_writes_nothing(served_models, tmp_path):
    (served_models / "mobilenet/float/050/group1-shard1of1.bin").unlink()  # the server answers 404
    ckpt = checkpoints.find_checkpoint(multiplier=0.5)
    with pytest.raises(CheckpointUnavailableError) as info:
        checkpoints.fetch(ckpt)
    assert not (tmp_path / "cache" / ckpt.relative_path).exists()
    assert "POSENET_CACHE_DIR" in str(info.value) and "POSENET_MODEL_DIR" in str(info.value)


def test_downloads_have_a_size_cap(served_models, monkeypatch):
    monkeypatch.setattr("posenet.checkpoints.download.MAX_DOWNLOAD_BYTES", 10_000)
    url = checkpoints.base_url() + "mobilenet/float/050/model-stride16.json"
    with pytest.raises(CheckpointUnavailableError, match="over the limit of 10000"):
        posenet.load(multiplier=0.5, model_url=url)


def test_official_files_in_the_model_dir_are_checked_at_load(models_dir, tmp_path, monkeypatch):
    root = tmp_path / "models"
    shutil.copytree(models_dir / "mobilenet/float/050", root / "mobilenet/float/050")
    monkeypatch.setenv("POSENET_MODEL_DIR", str(root))
    monkeypatch.setenv("POSENET_CACHE_DIR", str(tmp_path / "cache"))
    assert posenet.load(multiplier=0.5).model_path == root / "mobilenet/float/050/model-stride16.json"
    shard = root / "mobilenet/float/050/group1-shard1of1.bin"
    data = bytearray(shard.read_bytes())
    data[200] ^= 0x01  # one flipped bit: still finite weights, wrong poses
    shard.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError, match="wrong sha256"):
        posenet.load(multiplier=0.5)
