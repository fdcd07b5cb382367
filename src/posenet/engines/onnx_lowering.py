"""The :class:`~posenet.graph.Graph` lowered to an in-memory ONNX model.

The model is built with ``onnx.helper``: one NHWC->NCHW transpose at the input, NCHW
inside (ORT's CPU kernels and its NCHWc layout are fastest there), one NCHW->NHWC
transpose per output. Batch, height and width are dynamic, so one session serves every
input size and batch.

Lowering rules (each equal to what TensorFlow computes), one method per TF op in
:attr:`_Lowering.rules`:

* ``Conv2D`` -> ``Conv`` (HWIO -> OIHW); ``DepthwiseConv2dNative`` -> ``Conv`` with
  ``group=C`` (HWCM -> [C*M, 1, H, W], TF's channel order ``c*M + m``).
* ``BiasAdd`` right after a convolution is folded into the ``Conv`` bias; ``Relu6`` ->
  ``Clip(0, 6)``. ORT then fuses the activation into the convolution.
* ``SAME`` padding (:mod:`posenet.graph.analysis`): at stride 1 the pads do not depend on
  the input size and are written as explicit pads; at a larger stride they do and are
  written as ``auto_pad=SAME_UPPER``, which ONNX defines by TF's formula (the odd pixel at
  the end).
* ``MaxPool`` ``SAME`` pads are ignored by the max (TF's -inf semantics).
* ``Pad`` (zero, spatial only) feeding a ``VALID`` convolution becomes that ``Conv``'s pads.
* The four output heads (1x1 convolutions of one tensor) run as one ``Conv`` followed by
  one transpose and a ``Split`` (2-3% faster at 257 with 2 threads: fewer small ops).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from onnx import ModelProto, NodeProto, TensorProto, helper, numpy_helper

from ..errors import UnsupportedOpError
from ..graph import OUTPUT_ROLES, Graph, Node
from ..graph.analysis import consumer_counts, consumers, static_same_pads

OPSET = 17
"""ONNX opset of the lowered model (well supported by ONNX Runtime >= 1.14)."""

IR_VERSION = 8
"""ONNX IR version: readable by every ONNX Runtime that supports :data:`OPSET`."""

_CONV_OPS = frozenset({"Conv2D", "DepthwiseConv2dNative"})


def _same_padding_attrs(kernel: tuple[int, int], strides: tuple[int, int],
                        dilations: tuple[int, int]) -> dict[str, Any]:
    """ONNX attributes for TF ``SAME`` padding: static ``pads`` where possible, else
    ``auto_pad=SAME_UPPER``."""
    pads = static_same_pads(kernel, strides, dilations)
    return {"auto_pad": "SAME_UPPER"} if pads is None else {"pads": pads}


def _spatial_pad(paddings: np.ndarray) -> list[int] | None:
    """ONNX conv pads of a TF ``Pad`` that pads only height and width with zeros."""
    p = np.asarray(paddings).astype(np.int64)
    if p.shape != (4, 2) or p[0].any() or p[3].any() or (p < 0).any():
        return None
    return [int(p[1, 0]), int(p[2, 0]), int(p[1, 1]), int(p[2, 1])]


def _conv_kernel(op: str, w: np.ndarray) -> tuple[np.ndarray, int]:
    """The ONNX ``Conv`` weight and ``group`` of a TF convolution kernel."""
    if op == "Conv2D":
        return w.transpose(3, 2, 0, 1), 1  # HWIO -> OIHW
    kh, kw, c, m = (int(d) for d in w.shape)
    return w.reshape(kh, kw, c * m).transpose(2, 0, 1)[:, None], c  # HWCM -> [C*M, 1, H, W]


class _Lowering:
    """Builds the ONNX graph node by node, in the graph's execution order."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.nodes: list[NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.tensor: dict[str, str] = {}  # TF value name -> ONNX tensor name
        self.consumers = consumer_counts(graph)
        self.readers = consumers(graph)
        self.by_name = {n.name: n for n in graph.nodes}
        self._outputs = frozenset(graph.outputs.values())
        self._unique = 0
        self._clip_range: tuple[str, str] | None = None
        # Nodes absorbed into a later one: a conv (into its BiasAdd), a Pad (into its conv).
        self._deferred: dict[str, Node] = {}
        self.rules: dict[str, Callable[[Node], None]] = {
            "Conv2D": self._lower_conv,
            "DepthwiseConv2dNative": self._lower_conv,
            "BiasAdd": self._lower_bias_add,
            "Pad": self._lower_pad,
            "MaxPool": self._lower_max_pool,
            "Add": self._lower_add,
            "AddV2": self._lower_add,
            "Relu": self._lower_relu,
            "Relu6": self._lower_relu6,
            "Identity": self._lower_identity,
        }

    # -- building blocks ---------------------------------------------------------------

    def const(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def fresh(self, base: str) -> str:
        self._unique += 1
        return f"{base}__{self._unique}"

    def emit(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def value(self, name: str) -> str:
        try:
            return self.tensor[name]
        except KeyError:
            raise UnsupportedOpError(f"the onnxruntime engine cannot read {name!r} as an activation") from None

    def single_consumer(self, name: str) -> bool:
        return self.consumers[name] == 1 and name not in self._outputs

    def sole_consumer(self, name: str) -> Node | None:
        """The one node reading ``name`` when nothing else (no other node, no output) does."""
        if not self.single_consumer(name):
            return None
        users = self.readers.get(name, [])
        return users[0] if len(users) == 1 else None

    def conv(self, node: Node, x: str, out: str, bias: np.ndarray | None, pads: list[int] | None,
             weights: np.ndarray | None = None) -> str:
        w = np.asarray(self.graph.weights[node.inputs[1]] if weights is None else weights, dtype=np.float32)
        kh, kw = int(w.shape[0]), int(w.shape[1])
        kernel, group = _conv_kernel(node.op, w)
        inputs = [x, self.const(self.fresh(node.inputs[1]), kernel)]
        if bias is not None:
            inputs.append(self.const(self.fresh(node.name + "/bias"), np.asarray(bias, np.float32)))
        attrs: dict[str, Any] = {"kernel_shape": [kh, kw], "strides": list(node.strides),
                                 "dilations": list(node.dilations), "group": group}
        if pads is not None:
            attrs["pads"] = pads
        elif node.padding == "SAME":
            attrs.update(_same_padding_attrs((kh, kw), node.strides, node.dilations))
        else:
            attrs["pads"] = [0, 0, 0, 0]
        return self.emit("Conv", inputs, out, **attrs)

    def conv_with_pad(self, node: Node, out: str, bias: np.ndarray | None) -> str:
        """``node`` as a ``Conv``, absorbing the zero ``Pad`` before it when that was deferred."""
        src = node.inputs[0]
        pad_node = self.by_name.get(src)
        if pad_node is not None and pad_node.op == "Pad" and src not in self.tensor:
            pads = _spatial_pad(self.graph.weights[pad_node.inputs[1]])
            return self.conv(node, self.value(pad_node.inputs[0]), out, bias, pads)
        return self.conv(node, self.value(src), out, bias, None)

    # -- one rule per TF op ------------------------------------------------------------

    def _lower_conv(self, node: Node) -> None:
        nxt = self.sole_consumer(node.name)
        if nxt is not None and nxt.op == "BiasAdd" and nxt.inputs[0] == node.name:
            self._deferred[node.name] = node  # lowered with its bias by _lower_bias_add
            return
        self.tensor[node.name] = self.conv_with_pad(node, node.name, None)

    def _lower_bias_add(self, node: Node) -> None:
        x, b = node.inputs[0], self.graph.weights[node.inputs[1]]
        conv = self._deferred.pop(x, None)
        if conv is not None:
            self.tensor[node.name] = self.conv_with_pad(conv, node.name, b)
            return
        bias = self.const(self.fresh(node.name + "/bias"), np.asarray(b, np.float32).reshape(1, -1, 1, 1))
        self.tensor[node.name] = self.emit("Add", [self.value(x), bias], node.name)

    def _lower_pad(self, node: Node) -> None:
        paddings = self.graph.weights[node.inputs[1]]
        nxt = self.sole_consumer(node.name)
        if (nxt is not None and nxt.op in _CONV_OPS and nxt.padding == "VALID" and nxt.inputs[0] == node.name
                and _spatial_pad(paddings) is not None):
            self._deferred[node.name] = node  # absorbed by conv_with_pad
            return
        p = np.asarray(paddings).astype(np.int64)[[0, 3, 1, 2]]  # NHWC -> NCHW
        pads = self.const(self.fresh(node.name + "/pads"), np.concatenate([p[:, 0], p[:, 1]]))
        self.tensor[node.name] = self.emit("Pad", [self.value(node.inputs[0]), pads], node.name, mode="constant")

    def _lower_max_pool(self, node: Node) -> None:
        attrs: dict[str, Any] = {"kernel_shape": list(node.ksize), "strides": list(node.strides)}
        if node.dilations != (1, 1):
            attrs["dilations"] = list(node.dilations)
        if node.padding == "SAME":
            attrs.update(_same_padding_attrs(node.ksize, node.strides, node.dilations))
        self.tensor[node.name] = self.emit("MaxPool", [self.value(node.inputs[0])], node.name, **attrs)

    def _lower_add(self, node: Node) -> None:
        self.tensor[node.name] = self.emit("Add", [self.value(i) for i in node.inputs], node.name)

    def _lower_relu(self, node: Node) -> None:
        self.tensor[node.name] = self.emit("Relu", [self.value(node.inputs[0])], node.name)

    def _lower_relu6(self, node: Node) -> None:
        if self._clip_range is None:
            self._clip_range = (self.const("clip_min", np.array(0, np.float32)),
                                self.const("clip_max", np.array(6, np.float32)))
        self.tensor[node.name] = self.emit("Clip", [self.value(node.inputs[0]), *self._clip_range], node.name)

    def _lower_identity(self, node: Node) -> None:
        self.tensor[node.name] = self.value(node.inputs[0])

    # -- the whole graph ---------------------------------------------------------------

    def lower(self) -> ModelProto:
        self.tensor[self.graph.input_name] = self.emit("Transpose", ["input"], "input_nchw", perm=[0, 3, 1, 2])
        heads = self._fusable_heads()
        head_nodes = {n.name for pair in heads for n in pair}
        for node in self.graph.nodes:
            if node.name in head_nodes:
                continue
            rule = self.rules.get(node.op)
            if rule is None:
                raise UnsupportedOpError(f"the onnxruntime engine cannot run {node.op} (node {node.name})")
            rule(node)
        if heads:
            self._emit_fused_heads(heads)
        else:
            for role in OUTPUT_ROLES:
                self.emit("Transpose", [self.tensor[self.graph.outputs[role]]], role, perm=[0, 2, 3, 1])
        return self._model()

    def _fusable_heads(self) -> list[tuple[Node, Node]]:
        """``[(conv, bias_add)]`` per output role when the four heads are BiasAdd(Conv2D) of
        one tensor with the same window (the PoseNet graphs), else ``[]``."""
        pairs = []
        for role in OUTPUT_ROLES:
            bias_add = self.by_name.get(self.graph.outputs[role])
            if bias_add is None or bias_add.op != "BiasAdd":
                return []
            conv = self.by_name.get(bias_add.inputs[0])
            if conv is None or conv.op != "Conv2D" or not self.single_consumer(conv.name):
                return []
            if self.consumers[bias_add.name] != 1:  # read by nothing but the output
                return []
            pairs.append((conv, bias_add))
        first = pairs[0][0]
        source = self.by_name.get(first.inputs[0])
        if source is not None and source.op == "Pad":
            return []  # keep the Pad folding of conv_with_pad simple

        def window(c: Node) -> tuple[object, ...]:
            return c.inputs[0], c.strides, c.dilations, c.padding, self.graph.kernel_shape(c)

        return pairs if all(window(c) == window(first) for c, _ in pairs) else []

    def _emit_fused_heads(self, heads: list[tuple[Node, Node]]) -> None:
        """The four 1x1 heads as one convolution, one transpose to NHWC, split by channel."""
        weights = self.graph.weights
        convs = [conv for conv, _ in heads]
        kernel = np.concatenate([np.asarray(weights[c.inputs[1]], np.float32) for c in convs], axis=3)
        bias = np.concatenate([np.asarray(weights[b.inputs[1]], np.float32) for _, b in heads])
        fused = self.conv(convs[0], self.value(convs[0].inputs[0]), "heads_nchw", bias, None, weights=kernel)
        nhwc = self.emit("Transpose", [fused], "heads_nhwc", perm=[0, 2, 3, 1])
        sizes = [int(weights[c.inputs[1]].shape[3]) for c in convs]
        split = self.const("heads_split", np.asarray(sizes, np.int64))
        self.nodes.append(helper.make_node("Split", [nhwc, split], list(OUTPUT_ROLES), name="heads", axis=3))

    def _model(self) -> ModelProto:
        outputs = [helper.make_tensor_value_info(role, TensorProto.FLOAT, ["N", None, None, None])
                   for role in OUTPUT_ROLES]
        inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", "H", "W", 3])
        onnx_graph = helper.make_graph(self.nodes, "posenet", [inp], outputs, initializer=self.initializers)
        model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="posenet-py")
        model.ir_version = IR_VERSION
        return model


def build_onnx_model(graph: Graph) -> ModelProto:
    """The :class:`Graph` as an ``onnx.ModelProto`` (input ``input`` NHWC ``[N, H, W, 3]``,
    outputs named after :data:`~posenet.graph.OUTPUT_ROLES`, NHWC)."""
    return _Lowering(graph).lower()


__all__ = ["IR_VERSION", "OPSET", "build_onnx_model"]
