"""The graph-model reader: real checkpoints, stride variants, quantisation, broken files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from posenet.graph import tfjs as tfjs_graph
from posenet.errors import ModelFormatError, UnsupportedOpError
from posenet.graph import interpret_dilations, read_graph_model, restride


def _spatial(nodes):
    return {n.name: n for n in nodes if n.op in tfjs_graph.SPATIAL_OPS}


def _topology_only_graph(path: Path, tfjs_compat: bool) -> tfjs_graph.Graph:
    """A Graph from a JSON whose shards are absent (ResNet50): zero weights of the right shapes."""
    model = tfjs_graph.load_model_json(path)
    weights = {w["name"]: np.zeros(w["shape"], np.float32) for g in model["weightsManifest"] for w in g["weights"]}
    parsed = [tfjs_graph._parse_node(n, tfjs_compat) for n in model["modelTopology"]["node"]]
    ops = [n for n in parsed if n.op not in ("Placeholder", "Const")]
    order = tfjs_graph._topological_order(ops, {"sub_2"} | set(weights))
    outputs = tfjs_graph._bind_outputs(order)
    return tfjs_graph.Graph(tuple(order), weights, "sub_2", outputs, tfjs_graph._detect_architecture(order),
                            tfjs_graph.graph_output_stride(order, "sub_2", outputs["heatmap"]), tfjs_compat)


@pytest.mark.parametrize("tfjs_compat", [False, True])
@pytest.mark.parametrize("folder", ["float/075", "quant2/050"])
def test_mobilenet_restride_reproduces_the_official_stride_variants(models_dir, folder, tfjs_compat):
    g16 = read_graph_model(models_dir / f"mobilenet/{folder}/model-stride16.json", tfjs_compat=tfjs_compat)
    g8 = read_graph_model(models_dir / f"mobilenet/{folder}/model-stride8.json", tfjs_compat=tfjs_compat)
    assert (g16.output_stride, g8.output_stride) == (16, 8)
    assert restride(g16, 8).nodes == g8.nodes
    assert restride(g8, 16).nodes == g16.nodes
    g32 = restride(g16, 32)
    assert g32.output_stride == 32
    assert _spatial(g32.nodes)["MobilenetV1/MobilenetV1/Conv2d_12_depthwise/BatchNorm/batchnorm/add_1/conv"].strides == (2, 2)


@pytest.mark.parametrize("tfjs_compat", [False, True])
def test_resnet_restride_reproduces_the_official_stride_variants(models_dir, tfjs_compat):
    g16 = _topology_only_graph(models_dir / "resnet50-graphs/float/model-stride16.json", tfjs_compat)
    g32 = _topology_only_graph(models_dir / "resnet50-graphs/float/model-stride32.json", tfjs_compat)
    assert (g16.architecture, g16.output_stride, g32.output_stride) == ("ResNet50", 16, 32)
    assert restride(g16, 32).nodes == g32.nodes
    assert restride(g32, 16).nodes == g16.nodes
    assert g16.outputs == {
        "heatmap": "float_heatmaps",
        "offsets": "float_short_offsets",
        "displacement_fwd": "resnet_v1_50/displacement_fwd_2/BiasAdd",
        "displacement_bwd": "resnet_v1_50/displacement_bwd_2/BiasAdd",
    }


def test_dilation_reading_compat_versus_correct(models_dir):
    assert interpret_dilations([2, 2, 1, 1], tfjs_compat=True) == (2, 1)
    assert interpret_dilations([2, 2, 1, 1], tfjs_compat=False) == (2, 2)
    assert interpret_dilations([1, 3, 2, 1], tfjs_compat=False) == (3, 2)
    compat = read_graph_model(models_dir / "mobilenet/float/050/model-stride8.json", tfjs_compat=True)
    correct = read_graph_model(models_dir / "mobilenet/float/050/model-stride8.json")
    assert {n.dilations for n in compat.nodes} == {(1, 1), (2, 1)}
    assert {n.dilations for n in correct.nodes} == {(1, 1), (2, 2)}


def test_quantised_weights_are_dequantised_like_tfjs(models_dir):
    folder = models_dir / "mobilenet/quant1/050"
    model = json.loads((folder / "model-stride16.json").read_text())
    raw = (folder / "group1-shard1of1.bin").read_bytes()
    graph = read_graph_model(folder / "model-stride16.json")
    # The first weight of the manifest: value = q * scale + min, in float64 then float32.
    spec = model["weightsManifest"][0]["weights"][0]
    q = np.frombuffer(raw, np.uint8, count=int(np.prod(spec["shape"])))
    expected = (q * spec["quantization"]["scale"] + spec["quantization"]["min"]).astype(np.float32)
    np.testing.assert_array_equal(graph.weights[spec["name"]].ravel(), expected)
    assert graph.weights[spec["name"]].dtype == np.float32
    float_graph = read_graph_model(models_dir / "mobilenet/float/050/model-stride16.json")
    name = "MobilenetV1/Conv2d_0/weights"
    assert np.abs(float_graph.weights[name] - graph.weights[name]).max() < 0.05


def test_second_read_reuses_parsed_weights(models_dir):
    a = read_graph_model(models_dir / "mobilenet/float/075/model-stride16.json")
    b = read_graph_model(models_dir / "mobilenet/float/075/model-stride8.json")
    assert a.weights is b.weights
    assert not next(iter(a.weights.values())).flags.writeable


@pytest.fixture
def model_copy(models_dir, tmp_path) -> Path:
    for f in (models_dir / "mobilenet/float/050").iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / "model-stride16.json"


def test_missing_shard_is_named(model_copy):
    (model_copy.parent / "group1-shard1of1.bin").unlink()
    with pytest.raises(ModelFormatError, match="group1-shard1of1.bin is missing"):
        read_graph_model(model_copy)


def test_truncated_shard_is_reported(model_copy):
    shard = model_copy.parent / "group1-shard1of1.bin"
    shard.write_bytes(shard.read_bytes()[:-100])
    with pytest.raises(ModelFormatError, match="too short"):
        read_graph_model(model_copy)


def test_json_that_is_not_a_graph_model(tmp_path):
    bad = tmp_path / "model.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(ModelFormatError, match="not a TensorFlow.js graph model"):
        read_graph_model(bad)
    bad.write_text("{not json")
    with pytest.raises(ModelFormatError, match="not valid JSON"):
        read_graph_model(bad)


def test_unsupported_op_is_named(model_copy):
    model = json.loads(model_copy.read_text())
    node = next(n for n in model["modelTopology"]["node"] if n["op"] == "Relu6")
    node["op"] = "Softplus"
    model_copy.write_text(json.dumps(model))
    with pytest.raises(UnsupportedOpError, match="'Softplus'"):
        read_graph_model(model_copy)
