"""The fast engine: the :class:`~posenet.graph.Graph` lowered to ONNX, run by ONNX Runtime.

The model is built in memory with ``onnx.helper``: one NHWC->NCHW transpose at the input,
NCHW inside (ORT's CPU kernels and its NCHWc layout are fastest there), one NCHW->NHWC
transpose per output. Batch, height and width are dynamic, so one session serves every
input size and batch.

Lowering rules (each equal to what TensorFlow computes):

* ``Conv2D`` -> ``Conv`` (HWIO -> OIHW); ``DepthwiseConv2dNative`` -> ``Conv`` with
  ``group=C`` (HWCM -> [C*M, 1, H, W], TF's channel order ``c*M + m``).
* ``BiasAdd`` right after a convolution is folded into the ``Conv`` bias; ``Relu6`` ->
  ``Clip(0, 6)``. ORT then fuses the activation into the convolution.
* ``SAME`` padding: TF pads ``total = max((ceil(in/s)-1)*s + (k-1)*d+1 - in, 0)``, with
  ``total // 2`` before. At stride 1 that is static and written as explicit pads; at a
  larger stride it depends on the input size and is written as ``auto_pad=SAME_UPPER``,
  which ONNX defines by the same formula (the odd pixel at the end).
* ``MaxPool`` ``SAME`` pads are ignored by the max (TF's -inf semantics).
* ``Pad`` (zero, spatial only) feeding a ``VALID`` convolution becomes that ``Conv``'s pads.
* The four output heads (1x1 convolutions of one tensor) run as one ``Conv`` followed by
  one transpose and a ``Split`` (2-3% faster at 257 with 2 threads: fewer small ops).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import Counter
from typing import Any

import numpy as np

from ..errors import UnsupportedOpError
from ..graph import OUTPUT_ROLES, Graph, Node
from .base import NetworkOutputs

OPSET = 17
"""ONNX opset of the lowered model (well supported by ONNX Runtime >= 1.14)."""

_CONV_OPS = frozenset({"Conv2D", "DepthwiseConv2dNative"})


# ---------------------------------------------------------------------------------------
# Lowering


def _same_pads(kernel: tuple[int, int], strides: tuple[int, int],
               dilations: tuple[int, int]) -> list[int] | None:
    """Explicit ONNX pads ``[top, left, bottom, right]`` for TF ``SAME`` when they do not
    depend on the input size, else ``None`` (use ``auto_pad=SAME_UPPER``)."""
    before: list[int] = []
    after: list[int] = []
    for k, s, d in zip(kernel, strides, dilations):
        effective = (k - 1) * d + 1
        if s == 1:
            total = effective - 1
        elif effective == 1:
            total = 0  # max((ceil(in/s)-1)*s + 1 - in, 0) == 0 for every size
        else:
            return None
        before.append(total // 2)
        after.append(total - total // 2)
    return before + after


def _same_padding_attrs(kernel: tuple[int, int], strides: tuple[int, int],
                        dilations: tuple[int, int]) -> dict[str, Any]:
    """ONNX attributes for TF ``SAME`` padding: static ``pads`` where possible, else
    ``auto_pad=SAME_UPPER``."""
    pads = _same_pads(kernel, strides, dilations)
    return {"auto_pad": "SAME_UPPER"} if pads is None else {"pads": pads}


def _spatial_pad(paddings: np.ndarray) -> list[int] | None:
    """ONNX conv pads of a TF ``Pad`` that pads only height and width with zeros."""
    p = np.asarray(paddings).astype(np.int64)
    if p.shape != (4, 2) or p[0].any() or p[3].any() or (p < 0).any():
        return None
    return [int(p[1, 0]), int(p[2, 0]), int(p[1, 1]), int(p[2, 1])]


class _Lowering:
    """Builds the ONNX graph node by node."""

    def __init__(self, graph: Graph) -> None:
        from onnx import helper, numpy_helper

        self.helper = helper
        self.numpy_helper = numpy_helper
        self.graph = graph
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.tensor: dict[str, str] = {}  # TF value name -> ONNX tensor name
        self.consumers: Counter[str] = Counter(i for n in graph.nodes for i in n.inputs)
        for name in graph.outputs.values():
            self.consumers[name] += 1
        self.by_name = {n.name: n for n in graph.nodes}
        self._unique = 0

    def const(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def fresh(self, base: str) -> str:
        self._unique += 1
        return f"{base}__{self._unique}"

    def emit(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def single_consumer(self, name: str) -> bool:
        return self.consumers[name] == 1 and name not in self.graph.outputs.values()

    def conv(self, node: Node, x: str, out: str, bias: np.ndarray | None, pads: list[int] | None,
             weights: np.ndarray | None = None) -> str:
        w = np.asarray(self.graph.weights[node.inputs[1]] if weights is None else weights, dtype=np.float32)
        kh, kw = int(w.shape[0]), int(w.shape[1])
        if node.op == "Conv2D":
            kernel = w.transpose(3, 2, 0, 1)  # HWIO -> OIHW
            group = 1
        else:
            c, m = int(w.shape[2]), int(w.shape[3])
            kernel = w.reshape(kh, kw, c * m).transpose(2, 0, 1)[:, None]  # HWCM -> [C*M,1,H,W]
            group = c
        inputs = [x, self.const(self.fresh(node.inputs[1]), kernel)]
        if bias is not None:
            inputs.append(self.const(self.fresh(node.name + "/bias"), np.asarray(bias, np.float32)))
        attrs: dict[str, Any] = dict(kernel_shape=[kh, kw], strides=list(node.strides),
                                     dilations=list(node.dilations), group=group)
        if pads is not None:
            attrs["pads"] = pads
        elif node.padding == "SAME":
            attrs.update(_same_padding_attrs((kh, kw), node.strides, node.dilations))
        else:
            attrs["pads"] = [0, 0, 0, 0]
        return self.emit("Conv", inputs, out, **attrs)

    def lower(self) -> Any:
        helper, graph = self.helper, self.graph
        from onnx import TensorProto

        x = self.emit("Transpose", ["input"], "input_nchw", perm=[0, 3, 1, 2])
        self.tensor[graph.input_name] = x
        heads = self._fusable_heads()
        head_nodes = {n.name for pair in heads for n in pair}
        # Nodes absorbed into a later one: conv (-> its BiasAdd), Pad (-> its conv).
        deferred: dict[str, Node] = {}
        zero6 = None
        for node in graph.nodes:
            op = node.op
            if node.name in head_nodes:
                continue
            if op in _CONV_OPS:
                nxt = self._sole_consumer(node.name)
                if nxt is not None and nxt.op == "BiasAdd" and nxt.inputs[0] == node.name:
                    deferred[node.name] = node
                    continue
                self.tensor[node.name] = self._conv_with_pad(node, node.name, None)
            elif op == "BiasAdd" and node.inputs[0] in deferred:
                conv = deferred.pop(node.inputs[0])
                self.tensor[node.name] = self._conv_with_pad(conv, node.name, self.graph.weights[node.inputs[1]])
            elif op == "Pad":
                nxt = self._sole_consumer(node.name)
                pads = _spatial_pad(graph.weights[node.inputs[1]])
                if (nxt is not None and nxt.op in _CONV_OPS and nxt.padding == "VALID"
                        and nxt.inputs[0] == node.name and pads is not None):
                    deferred[node.name] = node
                    continue
                p = np.asarray(graph.weights[node.inputs[1]]).astype(np.int64)[[0, 3, 1, 2]]  # NHWC -> NCHW
                pads_input = self.const(self.fresh(node.name + "/pads"), np.concatenate([p[:, 0], p[:, 1]]))
                self.tensor[node.name] = self.emit("Pad", [self.value(node.inputs[0]), pads_input], node.name,
                                                   mode="constant")
            elif op == "MaxPool":
                attrs: dict[str, Any] = dict(kernel_shape=list(node.ksize), strides=list(node.strides))
                if node.dilations != (1, 1):
                    attrs["dilations"] = list(node.dilations)
                if node.padding == "SAME":
                    attrs.update(_same_padding_attrs(node.ksize, node.strides, node.dilations))
                self.tensor[node.name] = self.emit("MaxPool", [self.value(node.inputs[0])], node.name, **attrs)
            elif op == "BiasAdd":
                b = np.asarray(graph.weights[node.inputs[1]], np.float32).reshape(1, -1, 1, 1)
                self.tensor[node.name] = self.emit(
                    "Add", [self.value(node.inputs[0]), self.const(self.fresh(node.name + "/bias"), b)], node.name)
            elif op in ("Add", "AddV2"):
                self.tensor[node.name] = self.emit("Add", [self.value(i) for i in node.inputs], node.name)
            elif op == "Relu":
                self.tensor[node.name] = self.emit("Relu", [self.value(node.inputs[0])], node.name)
            elif op == "Relu6":
                if zero6 is None:
                    zero6 = (self.const("clip_min", np.array(0, np.float32)),
                             self.const("clip_max", np.array(6, np.float32)))
                self.tensor[node.name] = self.emit("Clip", [self.value(node.inputs[0]), *zero6], node.name)
            elif op == "Identity":
                self.tensor[node.name] = self.value(node.inputs[0])
            else:
                raise UnsupportedOpError(f"the onnxruntime engine cannot run {op} (node {node.name})")

        outputs = [helper.make_tensor_value_info(role, TensorProto.FLOAT, ["N", None, None, None])
                   for role in OUTPUT_ROLES]
        if heads:
            # The four 1x1 heads as one convolution, one transpose to NHWC, split by channel.
            convs = [conv for conv, _ in heads]
            kernel = np.concatenate([np.asarray(graph.weights[c.inputs[1]], np.float32) for c in convs], axis=3)
            bias = np.concatenate([np.asarray(graph.weights[b.inputs[1]], np.float32) for _, b in heads])
            fused = self.conv(convs[0], self.value(convs[0].inputs[0]), "heads_nchw", bias, None, weights=kernel)
            nhwc = self.emit("Transpose", [fused], "heads_nhwc", perm=[0, 2, 3, 1])
            sizes = [int(graph.weights[c.inputs[1]].shape[3]) for c in convs]
            split = self.const("heads_split", np.asarray(sizes, np.int64))
            self.nodes.append(helper.make_node("Split", [nhwc, split], list(OUTPUT_ROLES), name="heads", axis=3))
        else:
            for role in OUTPUT_ROLES:
                self.emit("Transpose", [self.tensor[graph.outputs[role]]], role, perm=[0, 2, 3, 1])
        inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", "H", "W", 3])
        onnx_graph = helper.make_graph(self.nodes, "posenet", [inp], outputs, initializer=self.initializers)
        model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="posenet-py")
        model.ir_version = 8  # readable by every ONNX Runtime that supports opset 17
        return model

    def value(self, name: str) -> str:
        try:
            return self.tensor[name]
        except KeyError:
            raise UnsupportedOpError(f"the onnxruntime engine cannot read {name!r} as an activation") from None

    def _sole_consumer(self, name: str) -> Node | None:
        if not self.single_consumer(name):
            return None
        users = [n for n in self.graph.nodes if name in n.inputs]
        return users[0] if len(users) == 1 else None

    def _fusable_heads(self) -> list[tuple[Node, Node]]:
        """``[(conv, bias_add)]`` per output role when the four heads are BiasAdd(Conv2D) of
        one tensor with the same window (the PoseNet graphs), else ``[]``."""
        pairs = []
        for role in OUTPUT_ROLES:
            bias_add = self.by_name.get(self.graph.outputs[role])
            conv = self.by_name.get(bias_add.inputs[0]) if bias_add is not None and bias_add.op == "BiasAdd" else None
            if conv is None or conv.op != "Conv2D" or not self.single_consumer(conv.name):
                return []
            if self.consumers[bias_add.name] != 1:  # read by nothing but the output
                return []
            pairs.append((conv, bias_add))
        first = pairs[0][0]
        source = self.by_name.get(first.inputs[0])
        if source is not None and source.op == "Pad":
            return []  # keep the Pad folding of _conv_with_pad simple
        same = all((c.inputs[0], c.strides, c.dilations, c.padding, self.graph.kernel_shape(c))
                   == (first.inputs[0], first.strides, first.dilations, first.padding, self.graph.kernel_shape(first))
                   for c, _ in pairs)
        return pairs if same else []

    def _conv_with_pad(self, node: Node, out: str, bias: np.ndarray | None) -> str:
        src = node.inputs[0]
        pad_node = self.by_name.get(src)
        if pad_node is not None and pad_node.op == "Pad" and src not in self.tensor:
            # A zero Pad absorbed into this VALID convolution.
            pads = _spatial_pad(self.graph.weights[pad_node.inputs[1]])
            return self.conv(node, self.value(pad_node.inputs[0]), out, bias, pads)
        return self.conv(node, self.value(src), out, bias, None)


def build_onnx_model(graph: Graph) -> Any:
    """The :class:`Graph` as an ``onnx.ModelProto`` (input ``input`` NHWC ``[N, H, W, 3]``,
    outputs named after :data:`~posenet.graph.OUTPUT_ROLES`, NHWC)."""
    return _Lowering(graph).lower()


# Model bytes per graph object, freed with the graph.
_MODEL_CACHE: dict[int, tuple[weakref.ref[Graph], bytes]] = {}
_MODEL_CACHE_LOCK = threading.Lock()


def to_onnx_bytes(graph: Graph) -> bytes:
    """The serialised ONNX model of ``graph`` (cached per graph object in this process).

    Write it to a ``.onnx`` file to run the network with any ONNX runtime.
    """
    key = id(graph)
    with _MODEL_CACHE_LOCK:
        entry = _MODEL_CACHE.get(key)
        if entry is not None and entry[0]() is graph:
            return entry[1]
    data = build_onnx_model(graph).SerializeToString()

    def _drop(_ref: weakref.ref[Graph], key: int = key) -> None:
        with _MODEL_CACHE_LOCK:
            current = _MODEL_CACHE.get(key)
            if current is not None and current[0] is _ref:
                del _MODEL_CACHE[key]

    with _MODEL_CACHE_LOCK:
        _MODEL_CACHE[key] = (weakref.ref(graph, _drop), data)
    return data


# ---------------------------------------------------------------------------------------
# Engine


def _physical_cores() -> int:
    """Physical cores among the CPUs this process may run on (SMT siblings counted once)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        topology = f"/sys/devices/system/cpu/cpu{cpu}/topology/"
        try:
            with open(topology + "physical_package_id") as f1, open(topology + "core_id") as f2:
                cores.add((f1.read().strip(), f2.read().strip()))
        except OSError:
            cores.add(("cpu", str(cpu)))
    return max(1, len(cores))


MAX_DEFAULT_THREADS = 4


def default_num_threads() -> int:
    """Intra-op threads when none are asked for: the physical cores this process may use,
    at most :data:`MAX_DEFAULT_THREADS`.

    Measured on a 2-core machine (MobileNetV1 0.75, stride 16), with spin-waiting off as
    this engine sets it: 2 threads run 257x257 in 6.2 ms and 513x513 in 24 ms against
    10.6 and 41 ms for 1 thread; with another process busy on one core, 2 threads still
    take 8 and 30-39 ms against 10.7 and 41 ms. With spin-waiting on, the same contention
    makes 2 threads slower than 1 (51 ms at 513). The cap keeps a shared many-core machine
    usable: these layers are small (17x17 at 257) and gain little from more threads.
    """
    return max(1, min(_physical_cores(), MAX_DEFAULT_THREADS))


class OnnxRuntimeEngine:
    """Runs a :class:`Graph` with ONNX Runtime's CPU provider. Thread-safe."""

    name = "onnxruntime"

    def __init__(self, graph: Graph, num_threads: int | None = None) -> None:
        import onnxruntime as ort

        self.graph = graph
        self.num_threads = default_num_threads() if num_threads is None else int(num_threads)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = self.num_threads
        options.inter_op_num_threads = 1
        # Spinning threads steal the core from any other process (and from each other when
        # the machine is shared); without it ORT loses little on an idle machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(to_onnx_bytes(graph), sess_options=options,
                                             providers=["CPUExecutionProvider"])
        self._output_names = list(OUTPUT_ROLES)

    def run(self, batch: np.ndarray) -> NetworkOutputs:
        """``batch``: float32 ``[N, H, W, 3]``; returns the four heads, NHWC float32."""
        x = np.ascontiguousarray(batch, dtype=np.float32)
        if x.ndim != 4 or x.shape[3] != 3:
            raise ValueError(f"expected a float32 batch [N, H, W, 3], got shape {x.shape}")
        heatmap, offsets, fwd, bwd = self._session.run(self._output_names, {"input": x})
        return NetworkOutputs(heatmap_logits=heatmap, offsets=offsets, displacement_fwd=fwd,
                              displacement_bwd=bwd)


__all__ = ["OnnxRuntimeEngine", "to_onnx_bytes", "build_onnx_model", "default_num_threads", "OPSET",
           "MAX_DEFAULT_THREADS"]
