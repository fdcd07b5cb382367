"""The ONNX Runtime engine computes what the NumPy reference engine computes.

Real MobileNetV1 weights (float, uint16- and uint8-quantised; 0.50 and 0.75; strides 8
and 16; TF.js-compatible and trained dilations) on real photos at even, odd and
non-square sizes, batch 1 and 3; and both ResNet50 graphs with generated weights of the
manifest's shapes.

Tolerance: heatmap logits (which decide every score) agree within 1e-3 absolute. Offsets
and displacements are pixel vectors up to ~300 in size; there both float32 engines carry
rounding errors of ~2e-5 of the head's largest value (against a float64 run of the same
NumPy ops the NumPy engine is off by up to 4e-3 at 513x353, ORT by up to 1.5e-3), so they
must agree within 1e-3 + 1e-4 * max|head| -- still some 1000 float32 ulps, far below what
any lowering mistake (a shifted pad, a wrong dilation) produces: errors the size of the
head itself.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from posenet import graph as tfjs_graph  # noqa: E402
from posenet.engines import NetworkOutputs, create_engine  # noqa: E402
from posenet.engines.numpy_engine import NumpyEngine, padding_amounts  # noqa: E402
from posenet.engines.onnx_engine import (  # noqa: E402
    OnnxRuntimeEngine,
    build_onnx_model,
    default_num_threads,
    to_onnx_bytes,
)
from posenet.images import to_rgb_array  # noqa: E402
from posenet.preprocess import preprocess  # noqa: E402

from .reference import write_random_resnet_checkpoint  # noqa: E402

ATOL = 1e-3
RTOL_OF_HEAD_MAX = 1e-4
HEADS = ("heatmap_logits", "offsets", "displacement_fwd", "displacement_bwd")
SIZES = ((257, 257), (513, 353), (161, 241), (199, 145))  # (height, width)
MOBILENETS = [
    (precision, multiplier, stride, compat)
    for precision in ("float", "quant2", "quant1")
    for multiplier in ("050", "075")
    for stride in (16, 8)
    for compat in (False, True)
]


def _photos(photo_paths: list[Path], size: tuple[int, int], count: int,
            architecture: str = "MobileNetV1") -> np.ndarray:
    """``count`` real photos padded, resized to ``size`` and normalised as the library does."""
    images = []
    for path in itertools.islice(itertools.cycle(photo_paths), count):
        images.append(preprocess(to_rgb_array(path), size, architecture)[0])
    return np.stack(images)


def _assert_close(graph: tfjs_graph.Graph, ort: OnnxRuntimeEngine, batch: np.ndarray,
                  check_stride: bool = True) -> NetworkOutputs:
    """Run both engines on ``batch``, assert agreement, return the NumPy outputs."""
    expected = NumpyEngine(graph).run(batch)
    actual = ort.run(batch)
    n, h, w, _ = batch.shape
    s = graph.output_stride
    for head in HEADS:
        a, e = getattr(actual, head), getattr(expected, head)
        assert a.dtype == np.float32
        assert a.shape == e.shape, (head, a.shape, e.shape)
        if check_stride:
            assert a.shape[:3] == (n, -(-h // s), -(-w // s)), (head, a.shape)
        err = float(np.max(np.abs(a - e)))
        tol = ATOL if head == "heatmap_logits" else ATOL + RTOL_OF_HEAD_MAX * float(np.max(np.abs(e)))
        assert err <= tol, f"{head}: max |ort - numpy| = {err:.2e} > {tol:.2e} at input {h}x{w}, batch {n}"
    return expected


@pytest.mark.parametrize("precision,multiplier,stride,compat", MOBILENETS,
                         ids=[f"{p}-{m}-s{s}-{'compat' if c else 'trained'}" for p, m, s, c in MOBILENETS])
def test_mobilenet_matches_numpy(models_dir: Path, photo_paths: list[Path], precision: str,
                                 multiplier: str, stride: int, compat: bool) -> None:
    path = models_dir / "mobilenet" / precision / multiplier / "model-stride16.json"
    graph = tfjs_graph.restride(tfjs_graph.read_graph_model(path, tfjs_compat=compat), stride)
    engine = OnnxRuntimeEngine(graph, num_threads=2)
    # Two sizes per case, rotating so that each (stride, compat) pair meets every size at
    # batch 1 and at batch 3 across the six checkpoints.
    k = MOBILENETS.index((precision, multiplier, stride, compat)) // 4
    for slot, j in enumerate((k % 4, (k + 2) % 4)):
        _assert_close(graph, engine, _photos(photo_paths, SIZES[j], 3 if (k + slot) % 2 else 1))


def test_official_stride8_graph_matches_numpy(models_dir: Path, photo_paths: list[Path]) -> None:
    """The published stride-8 graph (dilations as written in the JSON), not a restride."""
    for compat in (False, True):
        graph = tfjs_graph.read_graph_model(models_dir / "mobilenet/float/050/model-stride8.json",
                                            tfjs_compat=compat)
        _assert_close(graph, OnnxRuntimeEngine(graph), _photos(photo_paths, (199, 145), 1))


# ---------------------------------------------------------------------------------------
# ResNet50 with generated weights

_REAL_PADDINGS = {
    "resnet_v1_50/Pad/paddings": [[0, 0], [3, 3], [3, 3], [0, 0]],
    "resnet_v1_50/Pad_1/paddings": [[0, 0], [1, 1], [1, 1], [0, 0]],
}


@pytest.fixture(scope="module")
def resnet_jsons(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Both ResNet50 graphs with seeded He-scaled random weights of the manifest's shapes
    (the int32 Pad paddings keep their real values)."""
    folder = tmp_path_factory.mktemp("resnet50")
    src = models_dir / "resnet50-graphs" / "float"
    return {s: write_random_resnet_checkpoint(src / f"model-stride{s}.json", folder) for s in (16, 32)}


@pytest.mark.parametrize("stride,compat", [(32, False), (16, False), (16, True)])
def test_resnet50_matches_numpy(resnet_jsons: dict[int, Path], photo_paths: list[Path],
                                stride: int, compat: bool) -> None:
    graph = tfjs_graph.read_graph_model(resnet_jsons[stride], tfjs_compat=compat)
    assert graph.architecture == "ResNet50" and graph.output_stride == stride
    assert graph.weights["resnet_v1_50/Pad/paddings"].tolist() == _REAL_PADDINGS["resnet_v1_50/Pad/paddings"]
    engine = OnnxRuntimeEngine(graph)
    batch = _photos(photo_paths, (113, 87) if stride == 32 else (96, 130), 2, "ResNet50")
    heat = _assert_close(graph, engine, batch).heatmap_logits
    assert 0.05 < float(np.std(heat)) < 100  # the generated weights keep activations O(1)


def test_resnet50_restrided_matches_numpy(resnet_jsons: dict[int, Path], photo_paths: list[Path]) -> None:
    graph = tfjs_graph.restride(tfjs_graph.read_graph_model(resnet_jsons[32]), 16)
    _assert_close(graph, OnnxRuntimeEngine(graph), _photos(photo_paths, (97, 112), 1, "ResNet50"))


# ---------------------------------------------------------------------------------------
# Lowering details


def _toy_graph(op: str, kernel: tuple[int, int], stride: int, dilation: tuple[int, int],
               padding: str, channels: int = 4, split_heads: bool = False) -> tfjs_graph.Graph:
    """One spatial op feeding four 1x1 heads, enough for an engine to run. ``split_heads``:
    the heatmap head reads the op through an Identity and a Relu6, so the heads cannot be fused."""
    rng = np.random.default_rng(7)
    Node = tfjs_graph.Node
    weights: dict[str, np.ndarray] = {}
    nodes = []
    if op == "MaxPool":
        nodes.append(Node("body", "MaxPool", ("x",), strides=(stride, stride), ksize=kernel, padding=padding))
        cin = 3
    else:
        shape = (*kernel, 3, channels) if op == "Conv2D" else (*kernel, 3, 2)
        weights["w"] = rng.standard_normal(shape).astype(np.float32)
        nodes.append(Node("body", op, ("x", "w"), strides=(stride, stride), dilations=dilation, padding=padding))
        cin = channels if op == "Conv2D" else 6
    outputs = {}
    if split_heads:
        nodes.append(Node("body_id", "Identity", ("body",)))
        nodes.append(Node("body_relu6", "Relu6", ("body_id",)))
    for role, width in (("heatmap", 17), ("offset", 34), ("displacement_fwd", 32), ("displacement_bwd", 32)):
        weights[f"{role}/w"] = rng.standard_normal((1, 1, cin, width)).astype(np.float32)
        weights[f"{role}/b"] = rng.standard_normal(width).astype(np.float32)
        source = "body_relu6" if split_heads and role == "heatmap" else "body"
        nodes.append(Node(f"{role}/conv", "Conv2D", (source, f"{role}/w"), padding="SAME"))
        nodes.append(Node(f"{role}/BiasAdd", "BiasAdd", (f"{role}/conv", f"{role}/b")))
        outputs["offsets" if role == "offset" else role] = f"{role}/BiasAdd"
    return tfjs_graph.Graph(nodes=tuple(nodes), weights=weights, input_name="x", outputs=outputs,
                            architecture="MobileNetV1", output_stride=stride, tfjs_compat=False)


@pytest.mark.parametrize("op,kernel,stride,dilation,padding", [
    ("Conv2D", (3, 3), 2, (1, 1), "SAME"),
    ("Conv2D", (3, 3), 1, (2, 1), "SAME"),
    ("Conv2D", (1, 1), 2, (1, 1), "SAME"),
    ("Conv2D", (7, 7), 2, (1, 1), "VALID"),
    ("Conv2D", (4, 4), 2, (1, 1), "SAME"),
    ("Conv2D", (4, 4), 3, (1, 1), "SAME"),
    ("DepthwiseConv2dNative", (3, 3), 2, (1, 1), "SAME"),
    ("DepthwiseConv2dNative", (3, 3), 1, (4, 2), "SAME"),
    ("MaxPool", (3, 3), 2, (1, 1), "SAME"),
    ("MaxPool", (2, 2), 2, (1, 1), "SAME"),
    ("MaxPool", (1, 1), 2, (1, 1), "SAME"),
    ("MaxPool", (3, 3), 2, (1, 1), "VALID"),
])
def test_padding_equals_tensorflow_for_odd_and_even_sizes(op: str, kernel: tuple[int, int], stride: int,
                                                           dilation: tuple[int, int], padding: str) -> None:
    """SAME_UPPER at runtime equals TF's SAME for every parity of height and width; MaxPool
    SAME padding never wins the max (TF pads with -inf)."""
    graph = _toy_graph(op, kernel, stride, dilation, padding)
    engine = OnnxRuntimeEngine(graph, num_threads=1)
    rng = np.random.default_rng(3)
    for h, w in ((16, 16), (17, 17), (16, 19), (21, 14), (9, 10)):
        x = rng.standard_normal((2, h, w, 3)).astype(np.float32) - 3.0  # negative: -inf padding matters
        expected_h = padding_amounts(h, kernel[0], stride, dilation[0] if op != "MaxPool" else 1, padding)[2]
        expected_w = padding_amounts(w, kernel[1], stride, dilation[1] if op != "MaxPool" else 1, padding)[2]
        out = engine.run(x)
        assert out.heatmap_logits.shape == (2, expected_h, expected_w, 17)
        _assert_close(graph, engine, x, check_stride=False)


def test_heads_that_cannot_be_fused() -> None:
    graph = _toy_graph("DepthwiseConv2dNative", (3, 3), 2, (1, 1), "SAME", split_heads=True)
    ops = [n.op_type for n in build_onnx_model(graph).graph.node]
    assert "Split" not in ops and ops.count("Conv") == 5 and ops.count("Transpose") == 5
    x = np.random.default_rng(5).standard_normal((2, 15, 12, 3)).astype(np.float32)
    _assert_close(graph, OnnxRuntimeEngine(graph, num_threads=1), x, check_stride=False)


def test_lowering_folds_bias_and_pad(models_dir: Path, resnet_jsons: dict[int, Path]) -> None:
    graph = tfjs_graph.read_graph_model(models_dir / "mobilenet/float/075/model-stride16.json")
    ops = [n.op_type for n in build_onnx_model(graph).graph.node]
    counts = {op: ops.count(op) for op in set(ops)}
    # Every BiasAdd folded into its conv, the four 1x1 heads fused into one conv + Split.
    assert counts == {"Transpose": 2, "Conv": 28, "Clip": 27, "Split": 1}, counts
    resnet = tfjs_graph.read_graph_model(resnet_jsons[16])
    ops = [n.op_type for n in build_onnx_model(resnet).graph.node]
    assert ops.count("Pad") == 1  # Pad before the VALID max pool stays, the other four fold into convs
    assert "Add" in ops and ops.count("Conv") == 54 and ops.count("Split") == 1


def test_model_bytes_are_cached_per_graph(models_dir: Path) -> None:
    import onnx

    graph = tfjs_graph.read_graph_model(models_dir / "mobilenet/float/050/model-stride16.json")
    first = to_onnx_bytes(graph)
    onnx.checker.check_model(onnx.load_from_string(first), full_check=True)
    assert to_onnx_bytes(graph) is first
    other = tfjs_graph.restride(graph, 8)
    assert to_onnx_bytes(other) is not first and to_onnx_bytes(other) != first


def test_dynamic_shapes_one_session(models_dir: Path) -> None:
    """One engine serves every input size and batch, and honours num_threads."""
    graph = tfjs_graph.read_graph_model(models_dir / "mobilenet/float/050/model-stride16.json")
    engine = create_engine(graph, "onnxruntime", num_threads=1)
    assert engine.name == "onnxruntime" and engine.num_threads == 1
    default = create_engine(graph, "onnxruntime")
    assert default.num_threads == default_num_threads() and 1 <= default.num_threads <= 4
    options = default._session.get_session_options()
    assert options.intra_op_num_threads == default.num_threads
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    for n, h, w in ((1, 33, 33), (4, 65, 97), (2, 257, 129)):
        out = engine.run(np.zeros((n, h, w, 3), np.float32))
        assert out.offsets.shape == (n, -(-h // 16), -(-w // 16), 34)
    with pytest.raises(ValueError):
        engine.run(np.zeros((1, 33, 33), np.float32))
