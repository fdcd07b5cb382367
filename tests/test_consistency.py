"""One preset means the same poses everywhere: the library, ``posenet image`` (JSON) and
``POST /v1/poses`` give identical answers for the same photo, preset and mode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import posenet
from posenet.options import PRESETS
from posenet.serialize import poses_to_json

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from posenet.cli import main  # noqa: E402
from posenet.server import create_app  # noqa: E402

PHOTOS = ("ultralytics__bus.jpg", "tfpose__p1.jpg", "skimage__astronaut.png")


@pytest.fixture(scope="module")
def net() -> posenet.PoseNet:
    return posenet.load()


@pytest.fixture(scope="module")
def client(net: posenet.PoseNet) -> Any:
    with TestClient(create_app(net), base_url="http://127.0.0.1") as c:
        yield c


def _cli_poses(path: Path, preset: str, mode: str, capsys: pytest.CaptureFixture[str]) -> list[Any]:
    args = ["image", str(path), "--preset", preset, "--json", "-", "--quiet"] + (["--multi"] if mode == "multi" else [])
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)[str(path)]["poses"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("mode", ["single", "multi"])
def test_library_cli_and_server_agree(net: posenet.PoseNet, client: Any, photos_dir: Path, preset: str, mode: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    for name in PHOTOS:
        path = photos_dir / name
        library = poses_to_json(net.estimate(posenet.decode_image(path), preset, mode=mode))
        cli = _cli_poses(path, preset, mode, capsys)
        reply = client.post("/v1/poses", params={"preset": preset, "mode": mode}, content=path.read_bytes(),
                            headers={"Content-Type": "image/png" if name.endswith(".png") else "image/jpeg"})
        assert reply.status_code == 200, reply.text
        assert cli == library, (name, preset, mode)
        assert reply.json()["poses"] == library, (name, preset, mode)


def test_the_default_preset_is_the_same_in_the_cli_and_the_server(net: posenet.PoseNet, client: Any,
                                                                    photos_dir: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = photos_dir / PHOTOS[0]
    default = posenet.options.DEFAULT_PRESET
    library = poses_to_json(net.estimate(posenet.decode_image(path), default, mode="multi"))
    assert main(["image", str(path), "--multi", "--json", "-", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)[str(path)]["poses"] == library
    reply = client.post("/v1/poses", content=path.read_bytes(), headers={"Content-Type": "image/jpeg"})
    assert reply.json()["poses"] == library
    assert client.get("/v1/models").json()["default_preset"] == default


@pytest.mark.parametrize("model", ["movenet-lightning", "movenet-multipose"])
def test_a_second_family_through_the_same_cli(model: str, photos_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The family seam: `--model` picks MoveNet and the CLI answers in pose-detection's JSON
    shape, equal to the library's, with no MoveNet code in the CLI."""
    path = photos_dir / "ultralytics__bus.jpg"
    detector = posenet.create_detector(model)
    library = poses_to_json(detector.estimate(posenet.decode_image(path)))
    assert main(["image", str(path), "--model", model, "--json", "-", "--quiet"]) == 0
    cli = json.loads(capsys.readouterr().out)[str(path)]["poses"]
    assert cli == library and cli and set(cli[0]["keypoints"][0]) == {"x", "y", "score", "name"}
    assert main(["image", str(path), "--model", model, "--architecture", "ResNet50", "--quiet"]) == 2
