#!/usr/bin/env python3
"""Generate one tiny ONNX model per op and attribute variant, with onnxruntime's outputs.

For every case this writes fixtures/onnx/ops/<case>/:
  model.onnx      a single-node graph made with onnx.helper
  case.json       the same node described plainly (opset, op, attributes, input, initializer
                  and output names with their .npy files), so tests can build the graph
                  without an ONNX reader
  input_*.npy, init_*.npy, attr_*.npy   the graph inputs, initializers and tensor attributes
  output_*.npy    what onnxruntime computes, with graph optimizations off

Deterministic: every random value comes from a seed derived from the case name, so running
this twice writes identical files.

    .venv/bin/python tools/gen_op_fixtures.py [--out fixtures/onnx/ops]
"""
from __future__ import annotations

import argparse
import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper
from xnortools import onnxrt
from xnortools.paths import ROOT

I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min


class Case:
    """One single-node model: inputs are fed at run time, initializers are constants."""

    def __init__(self, name, op, attrs=None, outputs=("Y",), opset=18):
        self.name = name
        self.op = op
        self.attrs = attrs or {}
        self.outputs = list(outputs)
        self.opset = opset
        self.inputs: list[tuple[str, np.ndarray]] = []
        self.initializers: list[tuple[str, np.ndarray]] = []
        # The node's input list: every input, then every initializer, in the order given.
        self.node_inputs: list[str] = []

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(zlib.crc32(self.name.encode()))


def f32(rng, *shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def i64(values):
    return np.array(values, dtype=np.int64)


def cases() -> list[Case]:
    out: list[Case] = []

    def add(name, op, make, **kw):
        """make(rng) -> {"inputs": [(name, array)], "initializers": [(name, array)]}"""
        case = Case(name, op, **kw)
        parts = make(case.rng())
        case.inputs = parts.get("inputs", [])
        case.initializers = parts.get("initializers", [])
        case.node_inputs = [n for n, _ in case.inputs] + [n for n, _ in case.initializers]
        out.append(case)

    # Element-wise arithmetic with broadcasting.
    add("add_broadcast", "Add", lambda r: {"inputs": [("A", f32(r, 2, 3, 4)), ("B", f32(r, 4))]})
    add("add_int64", "Add", lambda r: {"inputs": [("A", r.integers(-50, 50, (2, 3))), ("B", r.integers(-50, 50, (1, 3)))]})
    add("sub_broadcast", "Sub", lambda r: {"inputs": [("A", f32(r, 3, 1)), ("B", f32(r, 1, 4))]})
    add("mul_scalar", "Mul", lambda r: {"inputs": [("A", f32(r, 2, 3)), ("B", f32(r))]})
    add("mul_int32", "Mul", lambda r: {"inputs": [("A", r.integers(-9, 9, (2, 3)).astype(np.int32)), ("B", r.integers(-9, 9, (3,)).astype(np.int32))]})
    add("div_float", "Div", lambda r: {"inputs": [("A", f32(r, 2, 3)), ("B", f32(r, 2, 3, low=0.5, high=2))]})
    add("div_int64", "Div", lambda r: {"inputs": [("A", i64([[7, -7, 9], [-9, 0, 5]])), ("B", i64([2, 2, -4]))]})
    add("pow_float", "Pow", lambda r: {"inputs": [("A", f32(r, 2, 3, low=0.1, high=3)), ("B", f32(r, 3, low=-2, high=2))]})
    add("pow_int_exponent", "Pow", lambda r: {"inputs": [("A", f32(r, 2, 3)), ("B", i64(3))]})
    add("mod_int_fmod0", "Mod", lambda r: {"inputs": [("A", i64([[7, -7, 9], [-9, 0, 5]])), ("B", i64([3, 3, -4]))]})
    add("mod_int_fmod1", "Mod", lambda r: {"inputs": [("A", i64([[7, -7, 9], [-9, 0, 5]])), ("B", i64([3, 3, -4]))]},
        attrs={"fmod": 1})
    add("mod_float_fmod1", "Mod", lambda r: {"inputs": [("A", f32(r, 2, 3, low=-5, high=5)), ("B", f32(r, 3, low=0.5, high=2))]},
        attrs={"fmod": 1})
    add("min_variadic", "Min", lambda r: {"inputs": [("A", f32(r, 2, 3)), ("B", f32(r, 3)), ("C", f32(r, 2, 1))]})
    add("max_two", "Max", lambda r: {"inputs": [("A", f32(r, 2, 3)), ("B", f32(r, 1, 3))]})
    add("max_one", "Max", lambda r: {"inputs": [("A", f32(r, 2, 3))]})
    add("max_int64", "Max", lambda r: {"inputs": [("A", r.integers(-9, 9, (2, 3))), ("B", r.integers(-9, 9, (3,)))]})
    add("equal_float", "Equal", lambda r: {"inputs": [("A", np.array([[1, 2, 3], [4, 5, 6]], np.float32)), ("B", np.array([1, 0, 6], np.float32))]})
    add("equal_int64", "Equal", lambda r: {"inputs": [("A", i64([[1, 2, 3], [4, 2, 6]])), ("B", i64([4, 2, 3]))]})
    add("less", "Less", lambda r: {"inputs": [("A", f32(r, 2, 3)), ("B", f32(r, 3))]})
    add("where_broadcast", "Where", lambda r: {"inputs": [("C", r.integers(0, 2, (2, 1, 4)).astype(bool)),
                                                          ("X", f32(r, 3, 4)), ("Y", f32(r, 2, 3, 1))]},
        outputs=("Z",))
    add("where_int64", "Where", lambda r: {"inputs": [("C", r.integers(0, 2, (3,)).astype(bool)),
                                                      ("X", r.integers(-9, 9, (2, 3))), ("Y", i64(-1))]},
        outputs=("Z",))

    # Unary.
    add("sqrt", "Sqrt", lambda r: {"inputs": [("X", f32(r, 2, 5, low=0, high=4))]})
    add("reciprocal", "Reciprocal", lambda r: {"inputs": [("X", f32(r, 2, 5, low=0.5, high=4))]})
    add("neg", "Neg", lambda r: {"inputs": [("X", f32(r, 2, 5))]})
    add("neg_int64", "Neg", lambda r: {"inputs": [("X", r.integers(-9, 9, (2, 5)))]})
    add("relu", "Relu", lambda r: {"inputs": [("X", f32(r, 2, 5))]})
    add("sigmoid", "Sigmoid", lambda r: {"inputs": [("X", f32(r, 3, 7, low=-20, high=20))]})
    add("tanh", "Tanh", lambda r: {"inputs": [("X", f32(r, 3, 7, low=-5, high=5))]})
    add("erf", "Erf", lambda r: {"inputs": [("X", f32(r, 3, 7, low=-3, high=3))]})
    add("exp", "Exp", lambda r: {"inputs": [("X", f32(r, 2, 5))]})
    add("log", "Log", lambda r: {"inputs": [("X", f32(r, 2, 5, low=0.1, high=5))]})
    add("not", "Not", lambda r: {"inputs": [("X", r.integers(0, 2, (2, 3)).astype(bool))]})
    add("gelu_none", "Gelu", lambda r: {"inputs": [("X", f32(r, 3, 7, low=-4, high=4))]}, opset=20)
    add("gelu_tanh", "Gelu", lambda r: {"inputs": [("X", f32(r, 3, 7, low=-4, high=4))]}, opset=20,
        attrs={"approximate": "tanh"})
    add("dropout_inference", "Dropout", lambda r: {"inputs": [("X", f32(r, 2, 5))]})

    # Products.
    add("matmul_2d", "MatMul", lambda r: {"inputs": [("A", f32(r, 3, 70))], "initializers": [("B", f32(r, 70, 5))]})
    add("matmul_batched_broadcast", "MatMul", lambda r: {"inputs": [("A", f32(r, 2, 1, 3, 4)), ("B", f32(r, 3, 4, 5))]})
    add("matmul_1d_2d", "MatMul", lambda r: {"inputs": [("A", f32(r, 4)), ("B", f32(r, 2, 4, 3))]})
    add("matmul_2d_1d", "MatMul", lambda r: {"inputs": [("A", f32(r, 2, 3, 4)), ("B", f32(r, 4))]})
    add("matmul_1d_1d", "MatMul", lambda r: {"inputs": [("A", f32(r, 6)), ("B", f32(r, 6))]})
    for ta in (0, 1):
        for tb in (0, 1):
            def gemm(r, ta=ta, tb=tb):
                m, k, n = 3, 67, 5
                a = f32(r, k, m) if ta else f32(r, m, k)
                b = f32(r, n, k) if tb else f32(r, k, n)
                return {"inputs": [("A", a)], "initializers": [("B", b), ("C", f32(r, n))]}
            add(f"gemm_ta{ta}_tb{tb}", "Gemm", gemm, attrs={"transA": ta, "transB": tb, "alpha": 0.75, "beta": 1.5})
    add("gemm_no_c", "Gemm", lambda r: {"inputs": [("A", f32(r, 2, 3))], "initializers": [("B", f32(r, 4, 3))]},
        attrs={"transB": 1})
    add("gemm_c_column", "Gemm", lambda r: {"inputs": [("A", f32(r, 2, 3)), ("B", f32(r, 3, 4)), ("C", f32(r, 2, 1))]})
    add("gemm_c_scalar", "Gemm", lambda r: {"inputs": [("A", f32(r, 2, 3)), ("B", f32(r, 3, 4)), ("C", f32(r))]},
        attrs={"beta": 0.5})

    # Normalization and reductions.
    add("softmax_default", "Softmax", lambda r: {"inputs": [("X", f32(r, 2, 3, 5, low=-10, high=10))]}, opset=13)
    add("softmax_axis1", "Softmax", lambda r: {"inputs": [("X", f32(r, 2, 3, 5))]}, attrs={"axis": 1})
    add("softmax_axis_neg2", "Softmax", lambda r: {"inputs": [("X", f32(r, 2, 3, 5))]}, attrs={"axis": -2})
    add("layernorm_bias", "LayerNormalization",
        lambda r: {"inputs": [("X", f32(r, 2, 3, 8))], "initializers": [("scale", f32(r, 8)), ("bias", f32(r, 8))]},
        opset=17)
    add("layernorm_axis1_no_bias", "LayerNormalization",
        lambda r: {"inputs": [("X", f32(r, 2, 3, 4))], "initializers": [("scale", f32(r, 3, 4))]},
        attrs={"axis": 1, "epsilon": 1e-3})
    add("layernorm_stats", "LayerNormalization",
        lambda r: {"inputs": [("X", f32(r, 2, 6, low=-3, high=5))], "initializers": [("scale", f32(r, 6)), ("bias", f32(r, 6))]},
        outputs=("Y", "Mean", "InvStdDev"))
    add("reducemean_attr_axes", "ReduceMean", lambda r: {"inputs": [("X", f32(r, 2, 3, 4))]}, opset=13, attrs={"axes": [1]})
    add("reducemean_attr_keepdims0", "ReduceMean", lambda r: {"inputs": [("X", f32(r, 2, 3, 4))]}, opset=17,
        attrs={"axes": [0, -1], "keepdims": 0})
    add("reducemean_attr_all", "ReduceMean", lambda r: {"inputs": [("X", f32(r, 2, 3, 4))]}, opset=13)
    add("reducemean_input_axes", "ReduceMean", lambda r: {"inputs": [("X", f32(r, 2, 3, 4))], "initializers": [("axes", i64([-1]))]})
    add("reducemean_input_keepdims0", "ReduceMean", lambda r: {"inputs": [("X", f32(r, 2, 3, 4))], "initializers": [("axes", i64([0, 2]))]},
        attrs={"keepdims": 0}, opset=21)
    add("reducemean_no_axes", "ReduceMean", lambda r: {"inputs": [("X", f32(r, 2, 3, 4))]})
    add("reducemean_noop", "ReduceMean", lambda r: {"inputs": [("X", f32(r, 2, 3, 4))]}, attrs={"noop_with_empty_axes": 1})
    add("reducesum_input_axes", "ReduceSum", lambda r: {"inputs": [("X", f32(r, 2, 3, 4))], "initializers": [("axes", i64([1]))]},
        opset=13)

    # Shapes and data movement.
    add("reshape_zero_minus1", "Reshape", lambda r: {"inputs": [("X", f32(r, 2, 3, 4))], "initializers": [("shape", i64([0, -1]))]})
    add("reshape_allowzero", "Reshape", lambda r: {"inputs": [("X", f32(r, 0, 3))], "initializers": [("shape", i64([3, 0]))]},
        attrs={"allowzero": 1})
    add("transpose_default", "Transpose", lambda r: {"inputs": [("X", f32(r, 2, 3, 4))]})
    add("transpose_perm", "Transpose", lambda r: {"inputs": [("X", f32(r, 2, 3, 4, 5))]}, attrs={"perm": [2, 0, 3, 1]})
    add("flatten_default", "Flatten", lambda r: {"inputs": [("X", f32(r, 2, 3, 4))]})
    add("flatten_axis0", "Flatten", lambda r: {"inputs": [("X", f32(r, 2, 3, 4))]}, attrs={"axis": 0})
    add("flatten_axis_neg1", "Flatten", lambda r: {"inputs": [("X", f32(r, 2, 3, 4))]}, attrs={"axis": -1})
    add("identity", "Identity", lambda r: {"inputs": [("X", r.integers(-9, 9, (2, 3)))]})
    add("unsqueeze", "Unsqueeze", lambda r: {"inputs": [("X", f32(r, 3, 4))], "initializers": [("axes", i64([0, -1]))]})
    add("squeeze_axes", "Squeeze", lambda r: {"inputs": [("X", f32(r, 1, 3, 1, 4))], "initializers": [("axes", i64([-2]))]})
    add("squeeze_all", "Squeeze", lambda r: {"inputs": [("X", f32(r, 1, 3, 1, 4))]})
    add("shape", "Shape", lambda r: {"inputs": [("X", f32(r, 2, 3, 4))]})
    add("shape_start_end", "Shape", lambda r: {"inputs": [("X", f32(r, 2, 3, 4, 5))]}, attrs={"start": 1, "end": -1})
    add("shape_start_clamped", "Shape", lambda r: {"inputs": [("X", f32(r, 2, 3))]}, attrs={"start": -10})
    add("expand", "Expand", lambda r: {"inputs": [("X", f32(r, 3, 1))], "initializers": [("shape", i64([2, 3, 4]))]})
    add("expand_lower_rank", "Expand", lambda r: {"inputs": [("X", f32(r, 2, 1, 4))], "initializers": [("shape", i64([3, 1]))]})
    add("gather_axis0", "Gather", lambda r: {"inputs": [("data", f32(r, 5, 3)), ("indices", i64([[0, -1], [3, -5]]))]})
    add("gather_axis1_int32", "Gather", lambda r: {"inputs": [("data", f32(r, 2, 4, 3)), ("indices", np.array([3, 0, -2], np.int32))]},
        attrs={"axis": 1})
    add("gather_scalar_index", "Gather", lambda r: {"inputs": [("data", r.integers(-9, 9, (4, 3))), ("indices", i64(-2))]})
    add("concat_axis1", "Concat", lambda r: {"inputs": [("A", f32(r, 2, 1, 3)), ("B", f32(r, 2, 4, 3)), ("C", f32(r, 2, 2, 3))]},
        attrs={"axis": 1})
    add("concat_axis_neg1_int64", "Concat", lambda r: {"inputs": [("A", i64([[1], [2]])), ("B", i64([[3, 4], [5, 6]]))]},
        attrs={"axis": -1})
    add("slice_basic", "Slice", lambda r: {"inputs": [("X", f32(r, 4, 6))],
                                           "initializers": [("starts", i64([1, 0])), ("ends", i64([3, 5]))]})
    add("slice_axes_steps", "Slice", lambda r: {"inputs": [("X", f32(r, 3, 8, 5))],
                                                "initializers": [("starts", i64([1, 4])), ("ends", i64([8, 0])),
                                                                 ("axes", i64([1, -1])), ("steps", i64([3, -2]))]})
    add("slice_clamped", "Slice", lambda r: {"inputs": [("X", f32(r, 4, 6))],
                                             "initializers": [("starts", i64([-100, 2])), ("ends", i64([I64_MAX, -1])),
                                                              ("axes", i64([0, 1]))]})
    add("slice_negative_full", "Slice", lambda r: {"inputs": [("X", f32(r, 5))],
                                                   "initializers": [("starts", i64([-1])), ("ends", i64([I64_MIN])),
                                                                    ("axes", i64([0])), ("steps", i64([-1]))]})
    add("slice_empty", "Slice", lambda r: {"inputs": [("X", f32(r, 4, 3))],
                                           "initializers": [("starts", i64([3])), ("ends", i64([1]))]})
    add("split_input", "Split", lambda r: {"inputs": [("X", f32(r, 2, 6))], "initializers": [("split", i64([1, 2, 3]))]},
        attrs={"axis": 1}, outputs=("Y0", "Y1", "Y2"), opset=13)
    add("split_equal", "Split", lambda r: {"inputs": [("X", f32(r, 4, 3))]}, outputs=("Y0", "Y1"), opset=13)
    add("split_num_outputs", "Split", lambda r: {"inputs": [("X", f32(r, 2, 5))]},
        attrs={"axis": -1, "num_outputs": 3}, outputs=("Y0", "Y1", "Y2"))

    # Constants and generators.
    add("constant_tensor", "Constant", lambda r: {}, attrs={"value": f32(np.random.default_rng(7), 2, 3)})
    add("constant_value_float", "Constant", lambda r: {}, attrs={"value_float": 2.5})
    add("constant_value_floats", "Constant", lambda r: {}, attrs={"value_floats": [1.5, -2.0, 0.25]})
    add("constant_value_int", "Constant", lambda r: {}, attrs={"value_int": -7})
    add("constant_value_ints", "Constant", lambda r: {}, attrs={"value_ints": [3, -1, 4]})
    add("constantofshape_default", "ConstantOfShape", lambda r: {"initializers": [("shape", i64([2, 3]))]})
    add("constantofshape_int64", "ConstantOfShape", lambda r: {"initializers": [("shape", i64([4]))]},
        attrs={"value": i64([7])})
    add("range_float", "Range", lambda r: {"initializers": [("start", np.array(0.5, np.float32)), ("limit", np.array(3.1, np.float32)),
                                                             ("delta", np.array(0.3, np.float32))]})
    add("range_int64_negative", "Range", lambda r: {"initializers": [("start", i64(10)), ("limit", i64(-3)), ("delta", i64(-4))]})
    add("cast_float_to_int64", "Cast", lambda r: {"inputs": [("X", np.array([[-2.7, -0.5, 0.0], [0.9, 3.5, 100.25]], np.float32))]},
        attrs={"to": onnx.TensorProto.INT64})
    add("cast_int64_to_float", "Cast", lambda r: {"inputs": [("X", i64([[-3, 0, 1 << 40]]))]}, attrs={"to": onnx.TensorProto.FLOAT})
    add("cast_float_to_bool", "Cast", lambda r: {"inputs": [("X", np.array([0.0, -0.0, 0.5, -3.0], np.float32))]},
        attrs={"to": onnx.TensorProto.BOOL}, opset=19)
    add("cast_bool_to_float", "Cast", lambda r: {"inputs": [("X", np.array([True, False, True]))]}, attrs={"to": onnx.TensorProto.FLOAT})
    add("cast_int64_to_int32", "Cast", lambda r: {"inputs": [("X", i64([-5, 0, 123456]))]}, attrs={"to": onnx.TensorProto.INT32},
        opset=21)
    add("cast_float_to_float16", "Cast", lambda r: {"inputs": [("X", np.concatenate([f32(r, 9, low=-3, high=3),
                                                                                    np.array([70000, -1e-6, 65519, 65520], np.float32)]))]},
        attrs={"to": onnx.TensorProto.FLOAT16})
    add("cast_float_to_double", "Cast", lambda r: {"inputs": [("X", f32(r, 2, 3))]}, attrs={"to": onnx.TensorProto.DOUBLE})
    add("cast_int64_to_uint8", "Cast", lambda r: {"inputs": [("X", i64([300, -1, 7, 255, 256]))]}, attrs={"to": onnx.TensorProto.UINT8})

    # The ops torch.onnx's exports of BERT, GPT-2 and Llama brought in (tools/gen_onnx_exports.py).
    special = np.array([np.nan, -np.inf, np.inf, 0.0, -0.0, 1.5, -2.0, np.nan], np.float32).reshape(2, 4)
    add("isnan", "IsNaN", lambda r: {"inputs": [("X", special)]}, opset=13)
    add("isnan_opset20", "IsNaN", lambda r: {"inputs": [("X", special)]}, opset=20)
    add("isinf", "IsInf", lambda r: {"inputs": [("X", special)]})
    add("isinf_negative_only", "IsInf", lambda r: {"inputs": [("X", special)]}, attrs={"detect_positive": 0})
    add("isinf_positive_only", "IsInf", lambda r: {"inputs": [("X", special)]}, attrs={"detect_negative": 0})
    add("cos", "Cos", lambda r: {"inputs": [("X", f32(r, 3, 7, low=-40, high=40))]})
    add("sin", "Sin", lambda r: {"inputs": [("X", f32(r, 3, 7, low=-40, high=40))]})
    add("gathernd_tuples", "GatherND", lambda r: {"inputs": [("data", f32(r, 3, 4, 2)), ("indices", i64([[[0, 1], [2, -1]], [[-3, 0], [1, 3]]]))]})
    add("gathernd_full_index_int64", "GatherND", lambda r: {"inputs": [("data", r.integers(-9, 9, (2, 3))), ("indices", i64([[1, 2], [0, 0], [1, -3]]))]})
    add("gathernd_batch_dims1", "GatherND", lambda r: {"inputs": [("data", f32(r, 2, 3, 4)), ("indices", i64([[[2], [0]], [[1], [-1]]]))]},
        attrs={"batch_dims": 1})
    add("gathernd_bool_rows", "GatherND", lambda r: {"inputs": [("data", r.integers(0, 2, (2, 5)).astype(bool)),
                                                                ("indices", i64([[0], [1], [1]]))]})
    add("gatherelements_axis0", "GatherElements", lambda r: {"inputs": [("data", f32(r, 3, 4)), ("indices", i64([[0, 2, -1, 1], [2, 0, 1, -3]]))]})
    add("gatherelements_axis1_int64", "GatherElements", lambda r: {"inputs": [("data", r.integers(-9, 9, (2, 5))),
                                                                               ("indices", i64([[4, 0, -1], [1, 1, 2]]))]},
        attrs={"axis": 1})
    add("gatherelements_axis_neg1_3d", "GatherElements", lambda r: {"inputs": [("data", f32(r, 2, 2, 4)),
                                                                                ("indices", np.array([[[3, 0]], [[1, -2]]], np.int32))]},
        attrs={"axis": -1})
    add("cumsum_axis1", "CumSum", lambda r: {"inputs": [("X", f32(r, 2, 5))], "initializers": [("axis", i64(1))]})
    add("cumsum_exclusive_reverse_int64", "CumSum", lambda r: {"inputs": [("X", r.integers(-9, 9, (3, 4)))],
                                                               "initializers": [("axis", np.array(-2, np.int32))]},
        attrs={"exclusive": 1, "reverse": 1})
    add("cumsum_exclusive_int32", "CumSum", lambda r: {"inputs": [("X", r.integers(-9, 9, (2, 3, 2)).astype(np.int32))],
                                                       "initializers": [("axis", i64(1))]},
        attrs={"exclusive": 1})
    add("cumsum_axis_input", "CumSum", lambda r: {"inputs": [("X", f32(r, 3, 2)), ("axis", i64(0))]}, attrs={"reverse": 1})
    add("and_broadcast", "And", lambda r: {"inputs": [("A", r.integers(0, 2, (2, 3)).astype(bool)), ("B", r.integers(0, 2, (3,)).astype(bool))]})
    add("or_broadcast", "Or", lambda r: {"inputs": [("A", r.integers(0, 2, (2, 1)).astype(bool)), ("B", r.integers(0, 2, (1, 3)).astype(bool))]})
    add("lessorequal_int64", "LessOrEqual", lambda r: {"inputs": [("A", i64([[0, 1, 2], [3, 4, 5]])), ("B", i64([[2], [4]]))]})
    add("greaterorequal_float", "GreaterOrEqual", lambda r: {"inputs": [("A", np.array([[1, 2, 3], [4, 5, 6]], np.float32)),
                                                                      ("B", np.array([1, 6, 2], np.float32))]})
    add("greater_int64", "Greater", lambda r: {"inputs": [("A", i64([[-1, 0, 5]])), ("B", i64([[0], [5]]))]})
    add("sub_int64", "Sub", lambda r: {"inputs": [("A", i64([[5, -3], [0, 7]])), ("B", i64([1, -4]))]})
    add("where_scalar_neg_inf", "Where", lambda r: {"inputs": [("C", r.integers(0, 2, (2, 1, 3)).astype(bool)),
                                                               ("X", np.array(-np.inf, np.float32)), ("Y", f32(r, 2, 1))]},
        outputs=("Z",))
    return out


def attribute_json(case_dir: Path, name, value):
    """The attribute as case.json describes it; tensors go to attr_<name>.npy."""
    if isinstance(value, np.ndarray):
        np.save(case_dir / f"attr_{name}.npy", value)
        return {"name": name, "type": "tensor", "file": f"attr_{name}.npy"}
    if isinstance(value, bool) or isinstance(value, int):
        return {"name": name, "type": "int", "value": int(value)}
    if isinstance(value, float):
        return {"name": name, "type": "float", "value": float(np.float32(value))}
    if isinstance(value, str):
        return {"name": name, "type": "string", "value": value}
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return {"name": name, "type": "ints", "value": value}
    if isinstance(value, list):
        return {"name": name, "type": "floats", "value": [float(np.float32(v)) for v in value]}
    raise TypeError(f"attribute {name}: {value!r}")


def onnx_attribute(name, value):
    if isinstance(value, np.ndarray):
        return helper.make_attribute(name, numpy_helper.from_array(value, name=name))
    return helper.make_attribute(name, value)


def build(case: Case, output_types=None) -> onnx.ModelProto:
    node = helper.make_node(case.op, case.node_inputs, list(case.outputs), name=case.name)
    node.attribute.extend(onnx_attribute(k, v) for k, v in case.attrs.items())
    inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), list(a.shape)) for n, a in case.inputs]
    inits = [numpy_helper.from_array(a, name=n) for n, a in case.initializers]
    if output_types is None:
        outputs = [onnx.ValueInfoProto(name=n) for n in case.outputs if n]
    else:
        outputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), list(a.shape))
                   for n, a in zip([n for n in case.outputs if n], output_types)]
    graph = helper.make_graph([node], case.name, inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", case.opset)], producer_name="gen_op_fixtures")
    model.ir_version = 9
    return model


def run_ort(model: onnx.ModelProto, case: Case) -> list[np.ndarray]:
    return list(onnxrt.run(model, dict(case.inputs)).values())


def write(case: Case, root: Path):
    case_dir = root / case.name
    case_dir.mkdir(parents=True)
    results = run_ort(build(case), case)
    model = build(case, results)
    onnx.checker.check_model(model, full_check=True)
    again = run_ort(model, case)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(results, again)), case.name
    onnx.save(model, case_dir / "model.onnx")
    for n, a in case.inputs:
        np.save(case_dir / f"input_{n}.npy", a)
    for n, a in case.initializers:
        np.save(case_dir / f"init_{n}.npy", a)
    names = [n for n in case.outputs if n]
    for n, a in zip(names, results):
        np.save(case_dir / f"output_{n}.npy", a)
    description = {
        "opset": case.opset,
        "node": {
            "name": case.name,
            "op_type": case.op,
            "domain": "",
            "inputs": case.node_inputs,
            "outputs": list(case.outputs),
            "attributes": [attribute_json(case_dir, k, v) for k, v in case.attrs.items()],
        },
        "inputs": [{"name": n, "file": f"input_{n}.npy"} for n, _ in case.inputs],
        "initializers": [{"name": n, "file": f"init_{n}.npy"} for n, _ in case.initializers],
        "outputs": [{"name": n, "file": f"output_{n}.npy"} for n in names],
    }
    (case_dir / "case.json").write_text(json.dumps(description, indent=1) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "fixtures" / "onnx" / "ops")
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    all_cases = cases()
    assert len({c.name for c in all_cases}) == len(all_cases), "case names must be unique"
    for case in all_cases:
        write(case, args.out)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"wrote {len(all_cases)} cases to {args.out} ({size} bytes)")


if __name__ == "__main__":
    main()
