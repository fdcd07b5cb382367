"""The int8 recipe piece by piece: the QDQ model's structure and weight bounds, GPTQ
rounding, the calibration images and moments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from onnx import ModelProto, numpy_helper

from posenet import graph as tfjs_graph
from posenet.engines import calibration, gptq, int8
from posenet.engines.onnx_lowering import build_onnx_model


@pytest.fixture(scope="module")
def fp32_model(models_dir: Path) -> ModelProto:
    return build_onnx_model(tfjs_graph.read_graph_model(models_dir / "mobilenet/float/050/model-stride16.json"))


@pytest.fixture(scope="module")
def int8_model(fp32_model: ModelProto) -> ModelProto:
    names = [c.name for c in int8.int8_convs(fp32_model)]
    moments = calibration.input_moments(fp32_model, names, calibration.synthetic_images(3, 129))
    return int8.quantize_model(fp32_model, moments=moments)


def test_qdq_structure(fp32_model: ModelProto, int8_model: ModelProto) -> None:
    """27 backbone convs: the first FP32_LAYERS and the fused heads stay float; the others
    read DequantizeLinear'd int8 weights, int32 biases and uint8 [0, 6] activations."""
    import onnx

    onnx.checker.check_model(int8_model, full_check=True)
    inits = {t.name: numpy_helper.to_array(t) for t in int8_model.graph.initializer}
    producer = {out: n for n in int8_model.graph.node for out in n.output}
    convs = [n for n in int8_model.graph.node if n.op_type == "Conv"]
    assert len(convs) == 28 and convs[-1].name == "heads_nchw"
    quantised = [c for c in convs if producer.get(c.input[1]) is not None]
    assert [c.name for c in quantised] == [c.name for c in convs[int8.FP32_LAYERS:-1]]
    for conv in quantised:
        x, w, b = (producer[name] for name in conv.input)
        assert x.op_type == w.op_type == b.op_type == "DequantizeLinear"
        assert inits[w.input[0]].dtype == np.int8 and inits[b.input[0]].dtype == np.int32
        q = producer[x.input[0]]  # the activation's DQ reads a QuantizeLinear output
        assert q.op_type == "QuantizeLinear" and inits[q.input[2]].dtype == np.uint8
        assert float(inits[q.input[1]]) == pytest.approx(6 / 255) and int(inits[q.input[2]]) == 0
    for conv in convs[: int8.FP32_LAYERS] + convs[-1:]:
        assert inits[conv.input[1]].dtype == np.float32
    counts = {op: sum(n.op_type == op for n in int8_model.graph.node) for op in ("QuantizeLinear", "Clip")}
    assert counts == {"QuantizeLinear": 27 - int8.FP32_LAYERS + 1, "Clip": 27}


def test_int8_weight_bounds(int8_model: ModelProto) -> None:
    """Pointwise rows keep |q[2j]| + |q[2j+1]| <= 128 (no int16 saturation on x86 without
    VNNI); depthwise rows use the whole [-127, 127]."""
    inits = {t.name: numpy_helper.to_array(t) for t in int8_model.graph.initializer}
    for name, q in inits.items():
        if q.dtype != np.int8 or q.ndim != 4:  # weights, not their zero points
            continue
        rows = q.reshape(q.shape[0], -1).astype(np.int32)
        assert np.abs(rows).max() <= 127
        if q.shape[1] == 1:  # depthwise
            assert np.abs(rows).max(axis=1).min() >= 100, name
        else:
            assert (np.abs(rows[:, 0::2]) + np.abs(rows[:, 1::2])).max() <= 128, name


def test_weight_scales_fit_the_bias() -> None:
    w = np.array([[1e-13, -2e-13], [0.5, 0.25]])
    b = np.array([3.0, 0.1])
    scales = int8.weight_scales(w, b, pair_limited=True)
    assert scales[1] == pytest.approx(0.75 / 128)
    q, _, bias = int8.quantize_weights(w.reshape(2, 2, 1, 1).astype(np.float32), b.astype(np.float32), False, None)
    assert np.abs(bias.astype(np.float64)).max() < 2 ** 31 - 1 and q[0].tolist() == [[[0]], [[0]]]


# ---------------------------------------------------------------------------------------
# GPTQ


def _random_problem(rows: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((k, k)) * 0.3 + np.eye(k)
    x = np.maximum(rng.standard_normal((4000, k)) @ mix + 0.5, 0)  # correlated, ReLU-like inputs
    w = rng.standard_normal((rows, k))
    scales = int8.weight_scales(w, np.zeros(rows), pair_limited=True).astype(np.float64)
    return w, scales, x.T @ x / len(x)


def test_gptq_lowers_the_output_error() -> None:
    w, scales, h = _random_problem(32, 48)
    nearest = gptq.nearest_round(w, scales, pair_limited=True)
    rounded = gptq.gptq_round(w, scales, h, pair_limited=True)

    def error(q: np.ndarray) -> float:
        d = q * scales[:, None] - w
        return float(np.einsum("ri,ij,rj->", d, h, d))

    assert error(rounded) < 0.7 * error(nearest)
    assert (np.abs(rounded[:, 0::2]) + np.abs(rounded[:, 1::2])).max() <= 128
    assert np.array_equal(rounded, np.round(rounded)) and np.abs(rounded).max() <= 127


def test_gptq_with_uncorrelated_inputs_rounds_to_nearest() -> None:
    w, scales, _ = _random_problem(8, 10)
    h = np.diag(np.linspace(1, 2, 10))
    np.testing.assert_array_equal(gptq.gptq_round(w, scales, h), gptq.nearest_round(w, scales))
    per_row = np.broadcast_to(h, (8, 10, 10))
    np.testing.assert_array_equal(gptq.gptq_round(w, scales, per_row), gptq.nearest_round(w, scales))


def test_inverse_cholesky() -> None:
    _, _, h = _random_problem(1, 12)
    h[3, :] = h[:, 3] = 0  # an input that is always zero
    u = gptq.inverse_cholesky(h, damping=0.01)
    damped = h.copy()
    damped[3, 3] = 1
    damped += 0.01 * np.mean(np.diag(h)) * np.eye(12)
    np.testing.assert_allclose(u.T @ u, np.linalg.inv(damped), rtol=1e-8, atol=1e-10)
    assert np.allclose(u, np.triu(u))


# ---------------------------------------------------------------------------------------
# Calibration


def test_synthetic_images_are_deterministic() -> None:
    a, b = calibration.synthetic_images(2, 65), calibration.synthetic_images(2, 65)
    assert a.shape == (2, 65, 65, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert a.min() >= -1 and a.max() <= 1 and a.std() > 0.2
    assert not np.array_equal(a, calibration.synthetic_images(2, 65, seed=1))


@pytest.mark.parametrize("attrs", [
    {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER", "group": 4},
    {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [2, 1, 2, 1], "dilations": [2, 1], "group": 4},
])
def test_conv_patches_match_onnx_runtime(attrs: dict[str, object]) -> None:
    """Depthwise windows, dotted with the kernel, give ONNX Runtime's convolution."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 11, 8)).astype(np.float32)
    w = rng.standard_normal((4, 1, 3, 3)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w"], ["y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=[numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"x": x})[0]
    patches = calibration.conv_patches(x, attrs)
    np.testing.assert_allclose(np.einsum("nchwk,ck->nchw", patches, w.reshape(4, 9)), expected, atol=1e-5)


def test_input_moments(fp32_model: ModelProto) -> None:
    convs = int8.int8_convs(fp32_model)
    depthwise_conv = next(c for c in convs if any(a.name == "group" and a.i > 1 for a in c.attribute))
    pointwise_conv = next(c for c in convs if c is not depthwise_conv)
    names = [depthwise_conv.name, pointwise_conv.name]
    images = calibration.synthetic_images(2, 97)
    moments = calibration.input_moments(fp32_model, names, images)
    depthwise, pointwise = moments[names[0]], moments[names[1]]
    assert depthwise.second.ndim == 3 and depthwise.second.shape[1:] == (9, 9) and depthwise.mean.shape[1] == 9
    assert pointwise.second.shape == (pointwise.mean.size, pointwise.mean.size)
    for m in (depthwise, pointwise):  # ReLU6 inputs: means in [0, 6], E[x²] >= E[x]²
        assert m.mean.min() >= 0 and m.mean.max() <= 6
        second_diag = np.diagonal(m.second, axis1=-2, axis2=-1)
        assert np.all(second_diag >= m.mean ** 2 * (1 - 1e-4) - 1e-6)
