"""onnxruntime as the ONNX oracle: graph optimizations off (no fused kernels that round
differently), the CPU provider only."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort


def session(model) -> ort.InferenceSession:
    """`model`: a path, or an onnx.ModelProto."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    source = str(model) if isinstance(model, (str, Path)) else model.SerializeToString()
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def run(model, inputs: dict[str, np.ndarray], outputs: list[str] | None = None) -> dict[str, np.ndarray]:
    """{output name: value} for `outputs` (all of the graph's when None). Only the inputs the
    model declares are passed, so a caller may hand over extra arrays."""
    s = session(model)
    names = outputs or [o.name for o in s.get_outputs()]
    results = s.run(names, {i.name: inputs[i.name] for i in s.get_inputs()})
    return dict(zip(names, results))
