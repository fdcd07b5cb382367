"""TF.js graph models: parse (:mod:`.tfjs`) and re-stride (:mod:`.restride`)."""

from __future__ import annotations

from .restride import restride
from .tfjs import (
    OUTPUT_ROLES,
    SUPPORTED_OPS,
    Graph,
    Node,
    interpret_dilations,
    load_model_json,
    parse_model_json,
    read_graph_model,
)

__all__ = ["OUTPUT_ROLES", "SUPPORTED_OPS", "Graph", "Node", "interpret_dilations", "load_model_json",
           "parse_model_json", "read_graph_model", "restride"]
