#!/usr/bin/env python3
"""The numpy simulation of a converted model (DESIGN.md "Numerics"), for a whole ONNX graph.

A small numpy interpreter runs the graph; every MatMul/Gemm that `xnor convert` would turn
into XNORPopcountGemm is replaced by DESIGN.md's binarized product computed on unpacked
codes. Nothing here uses XNORKit's Swift code, and no onnxruntime: `--mode float` runs the
plain float32 graph and must match onnxruntime (`--self-test` checks that on every fixture
in fixtures/onnx/models), which validates the interpreter the binarized modes share.

    tools/xnor_sim.py MODEL.onnx --mode w1a1 --input X.npy [--input name=X.npy] -o OUT.npy
    tools/xnor_sim.py MODEL.onnx --float --input X.npy -o OUT_DIR      # several outputs: a folder
    tools/xnor_sim.py --self-test [--fixtures DIR]

    import xnor_sim; xnor_sim.simulate("model.onnx", {"X": x}, "w1.58a8") -> {"Y": y}

What is converted (the rule of Sources/Graph/Passes/XNORRewritePass.swift): a MatMul or
Gemm (default domain) whose B is a graph initializer (Constant nodes do not count) and
whose A is not; B float, rank 2, no zero dimension; a name matching a --keep pattern stays
float. For Gemm with beta != 0 and a C input, C must be an initializer of N or 1 float
elements whose leading dims are all 1, otherwise the op stays float. Gemm's alpha becomes
the output scale; its bias is C as it is when beta == 1 and C is float32 [N], otherwise
float32(beta) * C as a float32 product. A converted MatMul whose only consumer is an Add
with an initializer bias (float32, N elements, shape [1, ..., 1, N]) and whose output is
not a graph output absorbs that Add (either operand order).

The binarized product itself (scales, codes, integer parts, output transform, in the
evaluation order Sources/BitPacking follows, so that the Swift kernels and this file agree bit
for bit on identical inputs) is xnortools/numerics.py.

The float ops run in float32 with float64 intermediates where numpy makes that cheap
(MatMul/Gemm, Softmax, LayerNormalization, ReduceMean, Erf/Gelu), each rounded once to
float32.
"""
from __future__ import annotations

import argparse
import fnmatch
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from xnortools import paths, weight_formats
from xnortools.compare import relative_error
from xnortools.numerics import (CONVERTED_MODES, NumericsError, QuantizedWeights,
                                integer_parts, popcount_integer_parts, quantize_activations, quantize_weights,
                                simulate_product, split_mode, xnor_product)
from xnortools.report import Report

MODES = ("float",) + CONVERTED_MODES
FIXTURES = paths.FIXTURES / "onnx" / "models"


class SimError(NumericsError):
    """A model, input or op the simulation cannot run; the message names the node and op."""


# --------------------------------------------------------------------------------------
# Which products the converter rewrites (mirrors XNORRewritePass.swift)

FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16, onnx.TensorProto.DOUBLE}


@dataclass
class ConversionPlan:
    node_index: int
    weight_name: str
    w_nk: np.ndarray               # float32 [N, K]
    alpha: float | None            # Gemm's alpha as the output scale
    bias: np.ndarray | None        # float32 [N]
    transpose_activation: bool     # Gemm transA
    folded_add: int | None         # index of the absorbed Add node
    output: str                    # the value the converted op writes


@dataclass
class KeptProduct:
    node: str
    reason: str


def _attr(node: onnx.NodeProto, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _node_label(node: onnx.NodeProto, index: int) -> str:
    return f"node {node.name!r} ({node.op_type})" if node.name else f"node #{index} ({node.op_type})"


def plan_conversions(model: onnx.ModelProto, init_protos: dict, initializers: dict, keep: list[str] | None = None):
    """→ (plans by node index, list of KeptProduct) for every MatMul/Gemm of the graph."""
    graph = model.graph
    keep = keep or []
    consumers: dict[str, list[int]] = {}
    for i, node in enumerate(graph.node):
        for name in node.input:
            if name:
                consumers.setdefault(name, []).append(i)
    graph_outputs = {o.name for o in graph.output}
    plans: dict[int, ConversionPlan] = {}
    kept: list[KeptProduct] = []
    folded: set[int] = set()

    for index, node in enumerate(graph.node):
        if index in folded or node.domain not in ("", "ai.onnx") or node.op_type not in ("MatMul", "Gemm"):
            continue
        label = _node_label(node, index)

        def keep_it(reason):
            kept.append(KeptProduct(label, reason))

        if len(node.input) < 2 or not node.output:
            keep_it("too few inputs or outputs")
            continue
        a, b = node.input[0], node.input[1]
        if b not in initializers:
            keep_it("the constant is the left operand" if a in initializers else "no operand is a constant weight")
            continue
        if a in initializers:
            keep_it("both operands are constants")
            continue
        if any(fnmatch.fnmatchcase(b, p) for p in keep):
            keep_it(f"kept by --keep ({b})")
            continue
        proto = init_protos[b]
        weight = initializers[b]
        if weight.ndim != 2:
            keep_it(f"weight has rank {weight.ndim}")
            continue
        if proto.data_type not in FLOAT_TYPES:
            keep_it("weight is not a float type")
            continue
        if weight.shape[0] == 0 or weight.shape[1] == 0:
            keep_it("weight is empty")
            continue
        w = weight.astype(np.float32)
        if node.op_type == "MatMul":
            n = w.shape[1]
            plan = ConversionPlan(index, b, np.ascontiguousarray(w.T), None, None, False, None, node.output[0])
            fold = _following_bias(graph, index, n, consumers, init_protos, initializers, graph_outputs)
            if fold is not None:
                add_index, bias = fold
                folded.add(add_index)
                plan.folded_add = add_index
                plan.bias = bias
                plan.output = graph.node[add_index].output[0]
            plans[index] = plan
            continue
        trans_a = int(_attr(node, "transA", 0))
        trans_b = int(_attr(node, "transB", 0))
        alpha = np.float32(_attr(node, "alpha", 1.0))
        beta = np.float32(_attr(node, "beta", 1.0))
        w_nk = w if trans_b else w.T
        n = w_nk.shape[0]
        bias = None
        if len(node.input) >= 3 and node.input[2] and beta != 0:
            c_name = node.input[2]
            if c_name not in initializers:
                keep_it("Gemm's C is not a constant")
                continue
            c = initializers[c_name]
            c_proto = init_protos[c_name]
            if c_proto.data_type not in FLOAT_TYPES or not all(d == 1 for d in c.shape[:-1]) or c.size not in (n, 1):
                keep_it(f"Gemm's C has shape {list(c.shape)}; only a vector [N] folds")
                continue
            if beta == 1 and c.size == n and c_proto.data_type == onnx.TensorProto.FLOAT:
                bias = c.reshape(n).astype(np.float32)
            else:
                values = c.astype(np.float32).reshape(-1)
                bias = (beta * (values if c.size == n else np.full(n, values[0], dtype=np.float32))).astype(np.float32)
        plans[index] = ConversionPlan(index, b, np.ascontiguousarray(w_nk), float(alpha), bias, bool(trans_a), None,
                                      node.output[0])
    return plans, kept


def _following_bias(graph, index, n, consumers, init_protos, initializers, graph_outputs):
    """A lone Add(Y, b) after the MatMul at `index` with an initializer b of N float32 values."""
    y = graph.node[index].output[0]
    users = consumers.get(y, [])
    if y in graph_outputs or len(users) != 1:
        return None
    add = graph.node[users[0]]
    if add.op_type != "Add" or add.domain != "" or len(add.input) != 2 or len(add.output) != 1:
        return None
    other = add.input[1] if add.input[0] == y else add.input[0]
    if other == y or other not in initializers:
        return None
    bias = initializers[other]
    if init_protos[other].data_type != onnx.TensorProto.FLOAT or bias.size != n or bias.ndim == 0 \
            or bias.shape[-1] != n or not all(d == 1 for d in bias.shape[:-1]):
        return None
    return users[0], bias.reshape(n).astype(np.float32)


# --------------------------------------------------------------------------------------
# The interpreter


def _np_dtype(onnx_type: int):
    return onnx.helper.tensor_dtype_to_np_dtype(onnx_type)


def _axes(node, env_get, opset, attr_since_input: int):
    """Axes from the attribute (older opsets) or the optional second input (newer)."""
    if opset >= attr_since_input:
        if len(node.input) >= 2 and node.input[1]:
            return [int(v) for v in np.asarray(env_get(node.input[1])).reshape(-1)]
        return None
    value = _attr(node, "axes")
    return None if value is None else [int(v) for v in value]


def _erf(x: np.ndarray) -> np.ndarray:
    flat = np.asarray(x, dtype=np.float64).reshape(-1)
    return np.fromiter((math.erf(v) for v in flat), dtype=np.float64, count=flat.size).reshape(np.shape(x))


def _binary(fn):
    def run(node, inputs, ctx):
        a, b = inputs
        if a.dtype != b.dtype:
            raise SimError(f"{ctx.label}: operands have types {a.dtype} and {b.dtype}")
        return [fn(a, b).astype(a.dtype)]
    return run


def _div(a, b):
    if np.issubdtype(a.dtype, np.integer):
        return np.trunc(a.astype(np.float64) / b.astype(np.float64)).astype(a.dtype)   # C integer division
    return a / b


def _op_matmul(node, inputs, ctx):
    a, b = inputs
    return [np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(a.dtype)]


def _op_gemm(node, inputs, ctx):
    a = inputs[0].astype(np.float64)
    b = inputs[1].astype(np.float64)
    if _attr(node, "transA", 0):
        a = a.T
    if _attr(node, "transB", 0):
        b = b.T
    y = np.float64(np.float32(_attr(node, "alpha", 1.0))) * (a @ b)
    if len(inputs) >= 3 and inputs[2] is not None:
        y = y + np.float64(np.float32(_attr(node, "beta", 1.0))) * inputs[2].astype(np.float64)
    return [y.astype(inputs[0].dtype)]


def _op_softmax(node, inputs, ctx):
    x = inputs[0]
    if ctx.opset < 13:   # older opsets flatten to 2-D at `axis` (default 1)
        axis = _attr(node, "axis", 1)
        axis = axis + x.ndim if axis < 0 else axis
        flat = x.reshape(int(np.prod(x.shape[:axis])), -1).astype(np.float64)
        e = np.exp(flat - flat.max(axis=1, keepdims=True))
        return [(e / e.sum(axis=1, keepdims=True)).reshape(x.shape).astype(x.dtype)]
    axis = _attr(node, "axis", -1)
    v = x.astype(np.float64)
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return [(e / e.sum(axis=axis, keepdims=True)).astype(x.dtype)]


def _op_layer_norm(node, inputs, ctx):
    x, scale = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) >= 3 else None
    axis = _attr(node, "axis", -1)
    axis = axis + x.ndim if axis < 0 else axis
    eps = np.float64(np.float32(_attr(node, "epsilon", 1e-5)))
    axes = tuple(range(axis, x.ndim))
    v = x.astype(np.float64)
    mean = v.mean(axis=axes, keepdims=True)
    var = ((v - mean) ** 2).mean(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    y = (v - mean) * inv_std * scale.astype(np.float64)
    if bias is not None:
        y = y + bias.astype(np.float64)
    return [y.astype(x.dtype), mean.astype(np.float32), inv_std.astype(np.float32)]


def _op_gelu(node, inputs, ctx):
    x = inputs[0].astype(np.float64)
    approximate = _attr(node, "approximate", b"none")
    approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
    if approximate == "tanh":
        y = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    elif approximate == "none":
        y = 0.5 * x * (1 + _erf(x / math.sqrt(2)))
    else:
        raise SimError(f"{ctx.label}: approximate={approximate!r} is not 'none' or 'tanh'")
    return [y.astype(inputs[0].dtype)]


def _op_reshape(node, inputs, ctx):
    x, shape = inputs
    allow_zero = _attr(node, "allowzero", 0)
    dims = [int(d) for d in shape.reshape(-1)]
    if not allow_zero:
        dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
    return [x.reshape(dims)]


def _op_transpose(node, inputs, ctx):
    perm = _attr(node, "perm")
    return [np.transpose(inputs[0], None if perm is None else list(perm))]


def _op_shape(node, inputs, ctx):
    shape = np.array(inputs[0].shape, dtype=np.int64)
    start = _attr(node, "start", 0)
    end = _attr(node, "end", None)
    return [shape[start:end]]


def _op_gather(node, inputs, ctx):
    data, indices = inputs
    axis = _attr(node, "axis", 0)
    axis = axis + data.ndim if axis < 0 else axis
    idx = np.where(indices < 0, indices + data.shape[axis], indices)
    return [np.take(data, idx, axis=axis)]


def _op_unsqueeze(node, inputs, ctx):
    x = inputs[0]
    axes = _axes(node, ctx.get, ctx.opset, 13)
    if axes is None:
        raise SimError(f"{ctx.label}: Unsqueeze needs axes")
    rank = x.ndim + len(axes)
    for a in sorted(v + rank if v < 0 else v for v in axes):
        x = np.expand_dims(x, a)
    return [x]


def _op_squeeze(node, inputs, ctx):
    x = inputs[0]
    axes = _axes(node, ctx.get, ctx.opset, 13)
    if axes is None:
        return [np.squeeze(x)]
    return [np.squeeze(x, axis=tuple(v + x.ndim if v < 0 else v for v in axes))]


def _op_concat(node, inputs, ctx):
    return [np.concatenate(inputs, axis=_attr(node, "axis"))]


def _op_reduce_mean(node, inputs, ctx):
    x = inputs[0]
    axes = _axes(node, ctx.get, ctx.opset, 18)
    keepdims = bool(_attr(node, "keepdims", 1))
    if axes is None or len(axes) == 0:
        if _attr(node, "noop_with_empty_axes", 0):
            return [x]
        axes = list(range(x.ndim))
    return [x.astype(np.float64).mean(axis=tuple(axes), keepdims=keepdims).astype(x.dtype)]


def _op_pow(node, inputs, ctx):
    x, p = inputs
    return [np.power(x.astype(np.float64), p.astype(np.float64)).astype(x.dtype)]


def _op_constant(node, inputs, ctx):
    for a in node.attribute:
        if a.name == "value":
            return [numpy_helper.to_array(a.t)]
        if a.name == "value_float":
            return [np.array(a.f, dtype=np.float32)]
        if a.name == "value_floats":
            return [np.array(list(a.floats), dtype=np.float32)]
        if a.name == "value_int":
            return [np.array(a.i, dtype=np.int64)]
        if a.name == "value_ints":
            return [np.array(list(a.ints), dtype=np.int64)]
    raise SimError(f"{ctx.label}: Constant has no value attribute this simulation reads")


def _op_cast(node, inputs, ctx):
    return [inputs[0].astype(_np_dtype(_attr(node, "to")))]


def _op_flatten(node, inputs, ctx):
    x = inputs[0]
    axis = _attr(node, "axis", 1)
    axis = axis + x.ndim if axis < 0 else axis
    return [x.reshape(int(np.prod(x.shape[:axis])), -1)]


def _unary64(fn):
    return lambda node, inputs, ctx: [fn(inputs[0].astype(np.float64)).astype(inputs[0].dtype)]


def _compare(fn):
    def run(node, inputs, ctx):
        a, b = inputs
        if a.dtype != b.dtype:
            raise SimError(f"{ctx.label}: operands have types {a.dtype} and {b.dtype}")
        return [np.asarray(fn(a, b), dtype=bool)]
    return run


def _op_where(node, inputs, ctx):
    condition, x, y = inputs
    return [np.where(condition.astype(bool), x, y).astype(x.dtype)]


def _op_expand(node, inputs, ctx):
    x, shape = inputs
    target = np.broadcast_shapes(x.shape, tuple(int(d) for d in shape.reshape(-1)))
    return [np.broadcast_to(x, target).copy()]


def _op_range(node, inputs, ctx):
    start, limit, delta = (np.asarray(v).reshape(()) for v in inputs)
    # ONNX: max(ceil((limit - start) / delta), 0) elements start + i * delta, in the inputs' type.
    count = max(int(math.ceil((float(limit) - float(start)) / float(delta))), 0)
    return [(start + np.arange(count, dtype=start.dtype) * delta).astype(start.dtype)]


def _op_constant_of_shape(node, inputs, ctx):
    value = _attr(node, "value")
    fill = np.zeros(1, dtype=np.float32) if value is None else numpy_helper.to_array(value).reshape(-1)
    return [np.full(tuple(int(d) for d in inputs[0].reshape(-1)), fill[0], dtype=fill.dtype)]


def _op_slice(node, inputs, ctx):
    x = inputs[0]
    starts = [int(v) for v in inputs[1].reshape(-1)]
    ends = [int(v) for v in inputs[2].reshape(-1)]
    axes = [int(v) for v in inputs[3].reshape(-1)] if len(inputs) > 3 and inputs[3] is not None else list(range(len(starts)))
    steps = [int(v) for v in inputs[4].reshape(-1)] if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis = axis + x.ndim if axis < 0 else axis
        dim = x.shape[axis]
        start = start + dim if start < 0 else start
        end = end + dim if end < 0 else end
        # The spec's clamping; a negative step may end before element 0 (None in Python).
        if step > 0:
            start, end = min(max(start, 0), dim), min(max(end, 0), dim)
        else:
            start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
        index[axis] = slice(start, None if end < 0 else end, step)
    return [x[tuple(index)]]


def _op_split(node, inputs, ctx):
    x = inputs[0]
    axis = _attr(node, "axis", 0)
    axis = axis + x.ndim if axis < 0 else axis
    count = len(node.output)
    if len(inputs) > 1 and inputs[1] is not None:
        sizes = [int(v) for v in inputs[1].reshape(-1)]
    elif _attr(node, "split") is not None:
        sizes = list(_attr(node, "split"))
    else:
        # Equal parts, the last one smaller when the dim does not divide (opset 18's num_outputs).
        part = -(-x.shape[axis] // count)
        sizes = [min(part, max(x.shape[axis] - i * part, 0)) for i in range(count)]
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


def _op_gather_nd(node, inputs, ctx):
    data, indices = inputs
    b = _attr(node, "batch_dims", 0)
    depth = indices.shape[-1]
    batch_shape = data.shape[:b]
    flat_data = data.reshape((-1,) + data.shape[b:])
    flat_idx = indices.reshape((int(np.prod(batch_shape)) if b else 1, -1, depth))
    rows = []
    for i in range(flat_idx.shape[0]):
        for t in flat_idx[i]:
            key = tuple(int(v) + (data.shape[b + j] if v < 0 else 0) for j, v in enumerate(t))
            rows.append(flat_data[i][key])
    out_shape = batch_shape + indices.shape[b:-1] + data.shape[b + depth:]
    return [np.array(rows, dtype=data.dtype).reshape(out_shape)]


def _op_gather_elements(node, inputs, ctx):
    data, indices = inputs
    axis = _attr(node, "axis", 0)
    axis = axis + data.ndim if axis < 0 else axis
    idx = np.where(indices < 0, indices + data.shape[axis], indices)
    return [np.take_along_axis(data, idx, axis=axis)]


def _op_cumsum(node, inputs, ctx):
    x, axis = inputs[0], int(np.asarray(inputs[1]).reshape(-1)[0])
    v = np.flip(x, axis) if _attr(node, "reverse", 0) else x
    total = np.cumsum(v.astype(np.float64) if x.dtype.kind == "f" else v, axis=axis)
    if _attr(node, "exclusive", 0):
        total = total - v
    total = np.flip(total, axis) if _attr(node, "reverse", 0) else total
    return [total.astype(x.dtype)]


def _op_variadic(fn):
    def run(node, inputs, ctx):
        out = inputs[0]
        for other in inputs[1:]:
            out = fn(out, other)
        return [np.asarray(out).astype(inputs[0].dtype)]
    return run


OPS = {
    "MatMul": _op_matmul,
    "Gemm": _op_gemm,
    "Add": _binary(np.add),
    "Sub": _binary(np.subtract),
    "Mul": _binary(np.multiply),
    "Div": _binary(_div),
    "Pow": _op_pow,
    "Sqrt": lambda node, inputs, ctx: [np.sqrt(inputs[0])],
    "Reciprocal": lambda node, inputs, ctx: [(1 / inputs[0]).astype(inputs[0].dtype)],
    "Neg": lambda node, inputs, ctx: [-inputs[0]],
    "Relu": lambda node, inputs, ctx: [np.maximum(inputs[0], 0).astype(inputs[0].dtype)],
    "Sigmoid": _unary64(lambda v: 1 / (1 + np.exp(-v))),
    "Tanh": _unary64(np.tanh),
    "Erf": _unary64(_erf),
    "Gelu": _op_gelu,
    "Softmax": _op_softmax,
    "LayerNormalization": _op_layer_norm,
    "ReduceMean": _op_reduce_mean,
    "Reshape": _op_reshape,
    "Transpose": _op_transpose,
    "Flatten": _op_flatten,
    "Shape": _op_shape,
    "Gather": _op_gather,
    "Unsqueeze": _op_unsqueeze,
    "Squeeze": _op_squeeze,
    "Concat": _op_concat,
    "Identity": lambda node, inputs, ctx: [inputs[0]],
    "Constant": _op_constant,
    "Cast": _op_cast,
    # The ops of torch.onnx's exports of BERT, GPT-2 and Llama (tools/gen_onnx_exports.py).
    "Equal": _compare(np.equal),
    "Less": _compare(np.less),
    "Greater": _compare(np.greater),
    "LessOrEqual": _compare(np.less_equal),
    "GreaterOrEqual": _compare(np.greater_equal),
    "And": _compare(np.logical_and),
    "Or": _compare(np.logical_or),
    "Not": lambda node, inputs, ctx: [np.logical_not(inputs[0])],
    "IsNaN": lambda node, inputs, ctx: [np.isnan(inputs[0])],
    "Where": _op_where,
    "Expand": _op_expand,
    "Range": _op_range,
    "ConstantOfShape": _op_constant_of_shape,
    "Slice": _op_slice,
    "Split": _op_split,
    "GatherND": _op_gather_nd,
    "GatherElements": _op_gather_elements,
    "Max": _op_variadic(np.maximum),
    "Min": _op_variadic(np.minimum),
    "CumSum": _op_cumsum,
    "Cos": _unary64(np.cos),
    "Sin": _unary64(np.sin),
}


class _Context:
    def __init__(self, env, opset):
        self.env = env
        self.opset = opset
        self.label = ""

    def get(self, name):
        return self.env[name]


def load_model(model_path) -> onnx.ModelProto:
    try:
        return onnx.load(str(model_path))     # external data is read from beside the model
    except Exception as e:  # noqa: BLE001 - onnx raises many types
        raise SimError(f"{model_path}: cannot load: {e}") from e


def simulate(model_path, inputs: dict, mode: str = "float", keep: list[str] | None = None,
             model: onnx.ModelProto | None = None, weight_format: str | None = None) -> dict:
    """Runs the ONNX model on `inputs` (name → array) and returns {output name: array}.

    mode "float" runs every op in float; "w1a1", "w1a8" and "w1.58a8" replace each product
    the converter would rewrite by DESIGN.md's binarized product. `weight_format` (a grouped
    format such as "b2g128", as `xnor convert --weight-format`) quantizes every converted
    weight by round to nearest in that format (xnortools/weight_formats.py); the mode then
    gives only the activations.
    """
    if mode not in MODES and mode != "w158a8":
        raise SimError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    model = model if model is not None else load_model(model_path)
    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None:
        raise SimError(f"{model_path}: no default-domain opset")
    for i, node in enumerate(graph.node):
        if node.domain not in ("", "ai.onnx") or node.op_type not in OPS:
            raise SimError(f"{_node_label(node, i)}: op {node.domain + '.' if node.domain else ''}{node.op_type} "
                           "is not supported by xnor_sim")
    if graph.sparse_initializer:
        raise SimError(f"{model_path}: sparse initializers are not supported")

    init_protos = {t.name: t for t in graph.initializer}
    initializers = {name: numpy_helper.to_array(t) for name, t in init_protos.items()}
    env: dict[str, np.ndarray] = dict(initializers)
    unknown = set(inputs) - {v.name for v in graph.input}
    if unknown:
        raise SimError(f"inputs {sorted(unknown)} are not graph inputs (the graph's: {[v.name for v in graph.input]})")
    for value in graph.input:
        if value.name in initializers and value.name not in inputs:
            continue
        if value.name not in inputs:
            raise SimError(f"graph input {value.name!r} has no value")
        expected = _np_dtype(value.type.tensor_type.elem_type)
        env[value.name] = np.asarray(inputs[value.name]).astype(expected, copy=False)

    plans: dict[int, ConversionPlan] = {}
    skipped: set[int] = set()         # Adds folded into a converted product
    quantized: dict[int, QuantizedWeights | weight_formats.QuantizedMatrix] = {}
    fmt = None
    if weight_format is not None:
        if mode == "float":
            raise SimError("a weight format needs a converted mode, not float")
        fmt = weight_formats.parse_format(weight_format)
        if fmt.kind == "ternary" and split_mode(mode)[1] != "a8":
            raise SimError(f"weight format {weight_format} takes a8 activations only")
    if mode != "float":
        wmode, amode = split_mode(mode)
        plans, _ = plan_conversions(model, init_protos, initializers, keep)
        skipped = {p.folded_add for p in plans.values() if p.folded_add is not None}

    ctx = _Context(env, opset)
    for index, node in enumerate(graph.node):
        if index in skipped:
            continue
        ctx.label = _node_label(node, index)
        missing = [n for n in node.input if n and n not in env]
        if missing:
            raise SimError(f"{ctx.label}: input {missing[0]!r} is not defined before the node "
                           "(the graph is not in topological order, or the value is never produced)")
        if index in plans:
            plan = plans[index]
            x = env[node.input[0]].astype(np.float32)
            if plan.transpose_activation:
                if x.ndim != 2:
                    raise SimError(f"{ctx.label}: transA needs a 2-D activation, got shape {list(x.shape)}")
                x = x.T
            if index not in quantized:     # per node: one initializer may feed Gemms with different transB
                quantized[index] = (weight_formats.round_to_nearest(plan.w_nk, fmt) if fmt
                                    else quantize_weights(plan.w_nk, wmode))
            qw = quantized[index]
            k = plan.w_nk.shape[1]
            if x.ndim == 0 or x.shape[-1] != k:
                raise SimError(f"{ctx.label}: activation shape {list(x.shape)} does not end in K = {k}")
            qa = quantize_activations(x.reshape(-1, k), amode)
            if fmt:
                y = weight_formats.output(qw, qa, weight_formats.integer_parts(qw, qa), plan.alpha, plan.bias)
            else:
                y = xnor_product(qw, qa, plan.alpha, plan.bias)
            env[plan.output] = y.reshape(x.shape[:-1] + (plan.w_nk.shape[0],))
            continue
        args = [env[n] if n else None for n in node.input]
        while args and args[-1] is None:
            args.pop()
        try:
            results = OPS[node.op_type](node, args, ctx)
        except SimError:
            raise
        except Exception as e:  # noqa: BLE001 - numpy raises many types
            raise SimError(f"{ctx.label}: {type(e).__name__}: {e}") from e
        for name, value in zip(node.output, results):
            if name:
                env[name] = np.asarray(value)
    outputs = {}
    for value in graph.output:
        if value.name not in env:
            raise SimError(f"graph output {value.name!r} is never produced")
        outputs[value.name] = env[value.name]
    return outputs


def converted_products(model_path, keep: list[str] | None = None):
    """(names of the weights the converter rewrites, list of KeptProduct) for a model."""
    model = load_model(model_path)
    init_protos = {t.name: t for t in model.graph.initializer}
    initializers = {name: numpy_helper.to_array(t) for name, t in init_protos.items()}
    plans, kept = plan_conversions(model, init_protos, initializers, keep)
    return [p.weight_name for p in plans.values()], kept


# --------------------------------------------------------------------------------------
# Fixture layout: model.onnx, input.npy | input_<name>.npy, ort_output.npy | ort_output_<name>.npy


def fixture_inputs(folder: Path, model: onnx.ModelProto) -> dict:
    init_names = {t.name for t in model.graph.initializer}
    names = [v.name for v in model.graph.input if v.name not in init_names]
    if len(names) == 1 and (folder / "input.npy").exists():
        return {names[0]: np.load(folder / "input.npy")}
    return {name: np.load(folder / f"input_{name}.npy") for name in names}


def output_file(folder: Path, prefix: str, model: onnx.ModelProto, name: str) -> Path:
    """ort_output.npy / sim_<mode>.npy for a single output, <prefix>_<name>.npy for several."""
    if len(model.graph.output) == 1:
        return folder / f"{prefix}.npy"
    return folder / f"{prefix}_{name}.npy"


# --------------------------------------------------------------------------------------
# Self-test

def known_answers():
    """(what, simulated, expected) for products worked out by hand from DESIGN.md.

    W = [[0.5, -1, 0, 0.5], [-0.25, -0.25, -0.25, -0.25]] (N = 2, K = 4);
    x row 0 = [1, -2, 0.5, -0.5], row 1 = [127, 2.5, -0.5, -3.5].
    w1:    alpha = [2/4, 1/4] = [0.5, 0.25]; codes [+ - + +], [- - - -]
    w1.58: gamma = mean|W| = 3/8 = 0.375; W/gamma = [1.33, -2.67, 0, 1.33], [-0.67 ×4]
           → codes [1 -1 0 1], [-1 -1 -1 -1]
    a1:    beta = [4/4, 133.5/4] = [1, 33.375]; codes [+ - + -], [+ + - -]
           → I = [[2, 0], [-2, 0]]
    a8:    s = [127/2, 127/127] = [63.5, 1]; x·s = [63.5, -127, 31.75, -31.75], [127, 2.5, -0.5, -3.5]
           → q = [64, -127, 32, -32], [127, 2, 0, -4]  (half to even: 63.5 → 64, 2.5 → 2, -0.5 → 0)
           w1:    I = [[64+127+32-32, -64+127-32+32], [127-2+0-4, -127-2-0+4]] = [[191, 63], [121, -125]]
           w1.58: I = [[64+127+0-32, 63], [127-2+0-4, -125]] = [[159, 63], [121, -125]]
    w1.58 with W = [[0.5, -0.5, 0, 0.5]] (one magnitude): gamma = 0.5, codes [1 -1 0 1]
    x = [1, 1, 1, 1] (a8: s = 127, q = 127 ×4) → w1: I = [254, -508]; a row with a NaN → NaN outputs
    """
    w = np.array([[0.5, -1, 0, 0.5], [-0.25, -0.25, -0.25, -0.25]], dtype=np.float32)
    x = np.array([[1, -2, 0.5, -0.5], [127, 2.5, -0.5, -3.5]], dtype=np.float32)

    def f32(*rows):
        return np.array(rows, dtype=np.float32)

    yield "w1a1", simulate_product(x, w, "w1a1"), f32([0.5 * 2, 0.25 * 0], [0.5 * 33.375 * -2, 0])
    yield "w1a8", simulate_product(x, w, "w1a8"), f32([0.5 / 63.5 * 191, 0.25 / 63.5 * 63], [0.5 * 121, 0.25 * -125])
    yield "w1.58a8", simulate_product(x, w, "w1.58a8"), f32([0.375 / 63.5 * 159, 0.375 / 63.5 * 63],
                                                           [0.375 * 121, 0.375 * -125])
    yield ("w1a1 alpha 2, bias [1, -1]", simulate_product(x[:1], w, "w1a1", 2.0, np.array([1, -1], np.float32)),
           f32([3, -1]))
    ternary = np.array([[0.5, -0.5, 0, 0.5]], dtype=np.float32)
    q = quantize_weights(ternary, "w1.58")
    yield "w1.58 codes as given", np.append(q.codes, q.scales), np.array([1, -1, 0, 1, 0.5], dtype=np.float32)
    yield ("a row with a NaN", simulate_product(np.array([[1, np.nan, 0, 0], [1, 1, 1, 1]], np.float32), w, "w1a8"),
           f32([np.nan, np.nan], [0.5 / 127 * 254, 0.25 / 127 * -508]))
    # The relative-error criterion (xnortools/compare.py; the Swift side's definition).
    nan, inf = np.nan, np.inf
    for actual, reference, expected in [
        ([1, 2], [1, 2], 0.0),
        ([1, 3], [1, -2], 2.5),              # max |a - r| / max |r| = 5 / 2
        ([0.5, -0.25], [0, 0], inf),         # reference all zeros: nothing to be relative to
        ([0, 0], [0, 0], 0.0),
        ([nan, 1], [nan, 1], 0.0),           # NaN on both sides is skipped
        ([nan, 1], [0, 1], inf),             # NaN on one side only
        ([inf, 1], [inf, 1], 0.0),           # the same infinity
        ([1, 1], [inf, 1], inf),
        ([1], [1, 1], inf),                  # shapes differ
    ]:
        yield (f"relative_error({actual}, {reference})", np.float64(relative_error(np.array(actual), np.array(reference))),
               np.float64(expected))


def self_test(fixtures: Path = FIXTURES, tolerance: float = 1e-5) -> int:
    """Float mode against onnxruntime's stored outputs, the stored sim_<mode>.npy files against
    a fresh run, and the code-product integers against DESIGN.md's popcount formulas on
    every converted weight, for every fixture. Returns the number of failures."""
    checks = Report()
    for what, actual, expected in known_answers():
        same = actual.dtype == expected.dtype and bool(np.array_equal(actual, expected, equal_nan=True))
        checks.expect(same, f"known answer {what}", f"{actual.tolist()} (expected {expected.tolist()})")

    folders = sorted(p.parent for p in fixtures.glob("*/model.onnx"))
    if not folders:
        print(f"no fixtures under {fixtures}")
        return 1
    rng = np.random.default_rng(20240611)
    for folder in folders:
        name = folder.name
        try:
            model = load_model(folder / "model.onnx")
            inputs = fixture_inputs(folder, model)
            outputs = simulate(folder / "model.onnx", inputs, "float", model=model)
        except Exception as e:  # noqa: BLE001
            checks.expect(False, f"{name} float", str(e))
            continue
        for out_name, value in outputs.items():
            expected = np.load(output_file(folder, "ort_output", model, out_name))
            err = relative_error(value, expected)
            checks.expect(value.dtype == expected.dtype and err <= tolerance,
                          f"{name} float {out_name} against onnxruntime", f"relative error {err:.2e}")
        for mode in CONVERTED_MODES:
            try:
                sim = simulate(folder / "model.onnx", inputs, mode, model=model)
            except NumericsError as e:
                checks.expect(False, f"{name} {mode}", str(e))
                continue
            for out_name, value in sim.items():
                path = output_file(folder, f"sim_{mode}", model, out_name)
                stored = np.load(path) if path.exists() else None
                same = stored is not None and stored.shape == value.shape and np.array_equal(stored, value, equal_nan=True)
                checks.expect(same, f"{name} {mode} {out_name}: {path.name} is up to date", "" if same else "missing or stale")
        # Integer parts: dot product of codes against the popcount formulas.
        init_protos = {t.name: t for t in model.graph.initializer}
        initializers = {n: numpy_helper.to_array(t) for n, t in init_protos.items()}
        plans, _ = plan_conversions(model, init_protos, initializers)
        ok, detail = True, "no converted product" if not plans else ""
        for plan in plans.values():
            k = plan.w_nk.shape[1]
            x = rng.standard_normal((5, k)).astype(np.float32)
            x[0, : (k + 1) // 2] = 0.0          # zeros and negative zeros take the + code
            x[1, :] = -0.0
            for mode in CONVERTED_MODES:
                wmode, amode = split_mode(mode)
                qw, qa = quantize_weights(plan.w_nk, wmode), quantize_activations(x, amode)
                if not np.array_equal(integer_parts(qw, qa), popcount_integer_parts(qw, qa)):
                    ok, detail = False, f"{plan.weight_name}, {mode}"
        checks.expect(ok and bool(plans), f"{name}: integer parts of {len(plans)} converted products agree with "
                                          f"the popcount formulas", detail)
    print(checks.summary())
    return checks.failed


# --------------------------------------------------------------------------------------
# CLI


def _parse_inputs(specs: list[str], model: onnx.ModelProto) -> dict:
    init_names = {t.name for t in model.graph.initializer}
    graph_inputs = [v.name for v in model.graph.input if v.name not in init_names]
    inputs = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            if len(graph_inputs) != 1:
                raise SimError(f"the graph has inputs {graph_inputs}; name each one: --input NAME=FILE.npy")
            name, path = graph_inputs[0], spec
        try:
            inputs[name] = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise SimError(f"{path}: cannot read as .npy: {e}") from e
    return inputs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", type=Path, help="the ONNX model")
    ap.add_argument("--mode", default=None, help=f"one of {', '.join(MODES)} (default w1a1)")
    ap.add_argument("--float", action="store_true", help="the same as --mode float")
    ap.add_argument("--weight-format", default=None, metavar="FORMAT",
                    help="every converted weight in this grouped format (b2g128, b2g128a, t1g128, ...), round to nearest")
    ap.add_argument("--input", action="append", default=[], metavar="[NAME=]FILE.npy")
    ap.add_argument("--keep", action="append", default=[], metavar="GLOB", help="weights to keep in float")
    ap.add_argument("-o", "--output", type=Path, help="OUT.npy, or a folder for several outputs")
    ap.add_argument("--self-test", action="store_true", help="check every fixture in --fixtures")
    ap.add_argument("--fixtures", type=Path, default=FIXTURES)
    args = ap.parse_args(argv)
    if args.self_test:
        return 1 if self_test(args.fixtures) else 0
    if args.model is None or args.output is None:
        ap.error("MODEL and -o are required (or --self-test)")
    if args.float and args.mode not in (None, "float"):
        ap.error("--float and --mode disagree")
    mode = "float" if args.float else (args.mode or "w1a1")
    try:
        model = load_model(args.model)
        outputs = simulate(args.model, _parse_inputs(args.input, model), mode, keep=args.keep, model=model,
                           weight_format=args.weight_format)
    except NumericsError as e:
        print(f"xnor_sim: error: {e}", file=sys.stderr)
        return 1
    if len(outputs) == 1 and args.output.suffix == ".npy":
        np.save(args.output, next(iter(outputs.values())))
    else:
        args.output.mkdir(parents=True, exist_ok=True)
        for name, value in outputs.items():
            np.save(args.output / f"{name}.npy", value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
