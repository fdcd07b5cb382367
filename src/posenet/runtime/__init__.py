"""A general TF.js graph-model runtime: any graph model, lowered in memory to ONNX and run by
ONNX Runtime, with an API that mirrors ``@tensorflow/tfjs-converter``'s ``GraphModel``.

::

    from posenet.runtime import load_graph_model

    model = load_graph_model("movenet-lightning.json")
    model.inputs                  # (TensorInfo(name='input:0', shape=(1, 192, 192, 3), dtype='int32', ...),)
    keypoints = model.predict(frame_int32)           # [1, 1, 17, 3]
    model.execute(frame_int32, ["Identity:0", "StatefulPartitionedCall/Sigmoid"])
    model.export_onnx("movenet-lightning.onnx")

Weights may be float32, int32, bool, or uint8/uint16/float16-quantised; the ops are those of
:data:`SUPPORTED_OPS` (fused ``_FusedConv2D``, ``FusedDepthwiseConv2dNative`` and
``_FusedMatMul`` included). A model using others fails at load with one
:class:`~posenet.UnsupportedOpError` that lists them all.
"""

from __future__ import annotations

from .lowering import OPSET, SUPPORTED_OPS, lower
from .model import GraphModel, Inputs, load_graph_model
from .reader import ModelGraph, OpNode, TensorInfo, read_model_graph

__all__ = ["OPSET", "SUPPORTED_OPS", "GraphModel", "Inputs", "ModelGraph", "OpNode", "TensorInfo", "load_graph_model",
           "lower", "read_model_graph"]
