#!/usr/bin/env python3
"""Write the end-to-end ONNX fixtures under fixtures/onnx/models/ (deterministic, fixed seeds).

    .venv/bin/python tools/gen_onnx_models.py [--out fixtures/onnx/models]

Each case is a folder with
  model.onnx         built with onnx.helper, float32 (mlp_external: weights in weights.bin)
  input.npy          the graph's one input (input_<name>.npy if a graph had several)
  ort_output.npy     onnxruntime's output, graph optimizations off (ORT_DISABLE_ALL)
  sim_<mode>.npy     tools/xnor_sim.py's simulation of the converted model for w1a1, w1a8 and
                     w1.58a8 (DESIGN.md "Numerics"); several outputs: <prefix>_<name>.npy
Weights are drawn from N(0, 1/sqrt(K)) (standard deviation 1/sqrt(K)), inputs from N(0, 1).
Every folder but torch_* (tools/gen_onnx_exports.py) is rewritten on every run; see the
README.md written into it.
"""
from __future__ import annotations

import argparse
import math
import shutil
import zlib
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import xnor_sim
from xnortools import onnxrt
from xnortools.arrays import save_npy
from xnortools.compare import relative_error
from xnortools.paths import ROOT

OUT = ROOT / "fixtures" / "onnx" / "models"
FLOAT = TensorProto.FLOAT
PRODUCER = "xnorkit tools/gen_onnx_models.py"


def rng_for(case: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(case.encode()))


def weight(rng, k: int, n: int) -> np.ndarray:
    return (rng.standard_normal((k, n)) / math.sqrt(k)).astype(np.float32)


def vector(rng, n: int, scale: float = 0.1) -> np.ndarray:
    return (rng.standard_normal(n) * scale).astype(np.float32)


def init(name: str, value) -> TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def model_of(graph: onnx.GraphProto, opset: int = 17) -> onnx.ModelProto:
    # The IR version torch.onnx pairs with the opset (IR 8 for opset 17, IR 9 for 19-20).
    ir = 8 if opset <= 17 else 9
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir,
                          producer_name=PRODUCER, producer_version="1")
    onnx.checker.check_model(m, full_check=True)
    return m


class Case:
    def __init__(self, name: str, model: onnx.ModelProto, inputs: dict, note: str, external: bool = False):
        self.name, self.model, self.inputs, self.note, self.external = name, model, inputs, note, external


# ------------------------------------------------------------------------------------------
# Cases


def mlp_matmul(name="mlp_matmul", external=False) -> Case:
    rng = rng_for("mlp_matmul")         # mlp_external shares the weights and input
    w1, b1, w2, b2 = weight(rng, 100, 64), vector(rng, 64), weight(rng, 64, 10), vector(rng, 10)
    nodes = [
        helper.make_node("MatMul", ["X", "W1"], ["h_mm"], name="fc1/MatMul"),
        helper.make_node("Add", ["h_mm", "b1"], ["h"], name="fc1/Add"),
        helper.make_node("Relu", ["h"], ["h_relu"], name="relu"),
        helper.make_node("MatMul", ["h_relu", "W2"], ["o_mm"], name="fc2/MatMul"),
        helper.make_node("Add", ["o_mm", "b2"], ["logits"], name="fc2/Add"),
    ]
    g = helper.make_graph(nodes, name,
                          [helper.make_tensor_value_info("X", FLOAT, ["batch", 100])],
                          [helper.make_tensor_value_info("logits", FLOAT, ["batch", 10])],
                          [init("W1", w1), init("b1", b1), init("W2", w2), init("b2", b2)])
    x = rng.standard_normal((4, 100)).astype(np.float32)
    note = ("X[batch,100] → MatMul(W1[100,64]) → Add(b1) → Relu → MatMul(W2[64,10]) → Add(b2) → logits[batch,10]; "
            "batch 4; a classifier (classes on the last axis) for top-1 checks")
    if external:
        note += "; every initializer in ONE external file weights.bin (size_threshold 0)"
    return Case(name, model_of(g), {"X": x}, note, external)


def gemm_case(trans_a: int, trans_b: int, alpha: float, beta: float, c_shape, bias: bool = True,
              name: str | None = None) -> Case:
    name = name or f"gemm_tA{trans_a}_tB{trans_b}"
    rng = rng_for(name)
    k, n, m = 70, 33, 3
    b = weight(rng, k, n)
    b = np.ascontiguousarray(b.T) if trans_b else b
    inputs = ["A", "B"]
    inits = [init("B", b)]
    if bias:
        inputs.append("C")
        inits.append(init("C", vector(rng, n).reshape(c_shape)))
    attrs = {"transA": trans_a, "transB": trans_b}
    if alpha != 1.0:
        attrs["alpha"] = alpha
    if beta != 1.0:
        attrs["beta"] = beta
    a_shape = [k, "batch"] if trans_a else ["batch", k]
    g = helper.make_graph([helper.make_node("Gemm", inputs, ["Y"], name="gemm", **attrs)], name,
                          [helper.make_tensor_value_info("A", FLOAT, a_shape)],
                          [helper.make_tensor_value_info("Y", FLOAT, ["batch", n])], inits)
    x = rng.standard_normal((m, k)).astype(np.float32)
    x = np.ascontiguousarray(x.T) if trans_a else x
    what = f"Gemm transA={trans_a} transB={trans_b} alpha={alpha} beta={beta}, "
    what += f"C {list(c_shape)}" if bias else "no C"
    note = f"{what}; A {'[K=70, batch=3]' if trans_a else '[batch=3, K=70]'}, B {'[N, K]' if trans_b else '[K, N]'}, N=33"
    return Case(name, model_of(g), {"A": x}, note)


def matmul_single(k: int, batch: int, n: int = 33) -> Case:
    name = f"matmul_k{k}_b{batch}"
    rng = rng_for(name)
    g = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["Y"], name="matmul")], name,
                          [helper.make_tensor_value_info("X", FLOAT, ["batch", k])],
                          [helper.make_tensor_value_info("Y", FLOAT, ["batch", n])],
                          [init("W", weight(rng, k, n))])
    x = rng.standard_normal((batch, k)).astype(np.float32)
    return Case(name, model_of(g), {"X": x}, f"one MatMul X[batch={batch}, K={k}] × W[{k}, {n}], no bias")


def matmul_ternary() -> Case:
    name = "matmul_ternary"
    rng = rng_for(name)
    k, n, c = 96, 20, np.float32(0.05)
    w = (rng.integers(-1, 2, size=(k, n)) * c).astype(np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["Y"], name="matmul")], name,
                          [helper.make_tensor_value_info("X", FLOAT, ["batch", k])],
                          [helper.make_tensor_value_info("Y", FLOAT, ["batch", n])],
                          [init("W", w)])
    x = rng.standard_normal((4, k)).astype(np.float32)
    return Case(name, model_of(g), {"X": x},
                f"one MatMul whose W[{k},{n}] holds exactly {{-c, 0, +c}}, c = 0.05: w1.58 takes the codes as given, gamma = c")


def encoder_block() -> Case:
    """A pre-norm transformer encoder block written the way torch.onnx exports one (opset 17)."""
    name = "encoder_block"
    rng = rng_for(name)
    d, heads, hd, ff = 64, 4, 16, 128
    inits = [
        init("ln1.weight", (1 + 0.1 * rng.standard_normal(d)).astype(np.float32)),
        init("ln1.bias", vector(rng, d)),
        init("ln2.weight", (1 + 0.1 * rng.standard_normal(d)).astype(np.float32)),
        init("ln2.bias", vector(rng, d)),
    ]
    for proj in ("q", "k", "v", "out"):
        inits += [init(f"attn.{proj}_proj.weight_t", weight(rng, d, d)), init(f"attn.{proj}_proj.bias", vector(rng, d))]
    inits += [init("mlp.fc1.weight_t", weight(rng, d, ff)), init("mlp.fc1.bias", vector(rng, ff)),
              init("mlp.fc2.weight_t", weight(rng, ff, d)), init("mlp.fc2.bias", vector(rng, d))]
    inits += [
        init("const_0", np.array(0, dtype=np.int64)),
        init("const_1", np.array(1, dtype=np.int64)),
        init("axes_0", np.array([0], dtype=np.int64)),
        init("heads_dims", np.array([heads, hd], dtype=np.int64)),
        init("model_dim", np.array([d], dtype=np.int64)),
        init("k_shape", np.array([0, 0, heads, hd], dtype=np.int64)),
        init("sqrt_head_dim", np.array(math.sqrt(hd), dtype=np.float32)),
        init("sqrt_2", np.array(math.sqrt(2), dtype=np.float32)),
        init("one", np.array(1.0, dtype=np.float32)),
        init("half", np.array(0.5, dtype=np.float32)),
    ]
    N = helper.make_node
    nodes = [
        N("LayerNormalization", ["X", "ln1.weight", "ln1.bias"], ["ln1"], name="ln1", axis=-1, epsilon=1e-5),
        # torch puts the bias first: Add(bias, MatMul(x, W^T))
        N("MatMul", ["ln1", "attn.q_proj.weight_t"], ["q_mm"], name="attn/q_proj/MatMul"),
        N("Add", ["attn.q_proj.bias", "q_mm"], ["q"], name="attn/q_proj/Add"),
        N("MatMul", ["ln1", "attn.k_proj.weight_t"], ["k_mm"], name="attn/k_proj/MatMul"),
        N("Add", ["attn.k_proj.bias", "k_mm"], ["k"], name="attn/k_proj/Add"),
        N("MatMul", ["ln1", "attn.v_proj.weight_t"], ["v_mm"], name="attn/v_proj/MatMul"),
        N("Add", ["attn.v_proj.bias", "v_mm"], ["v"], name="attn/v_proj/Add"),
        # the dynamic reshape: [batch, seq] from Shape, then [heads, head_dim]
        N("Shape", ["ln1"], ["ln1_shape"], name="attn/Shape"),
        N("Gather", ["ln1_shape", "const_0"], ["batch_dim"], name="attn/Gather_batch", axis=0),
        N("Gather", ["ln1_shape", "const_1"], ["seq_dim"], name="attn/Gather_seq", axis=0),
        N("Unsqueeze", ["batch_dim", "axes_0"], ["batch_1"], name="attn/Unsqueeze_batch"),
        N("Unsqueeze", ["seq_dim", "axes_0"], ["seq_1"], name="attn/Unsqueeze_seq"),
        N("Concat", ["batch_1", "seq_1", "heads_dims"], ["split_shape"], name="attn/Concat_split", axis=0),
        N("Reshape", ["q", "split_shape"], ["q_heads"], name="attn/Reshape_q"),
        N("Transpose", ["q_heads"], ["q_t"], name="attn/Transpose_q", perm=[0, 2, 1, 3]),
        N("Reshape", ["k", "k_shape"], ["k_heads"], name="attn/Reshape_k"),
        N("Transpose", ["k_heads"], ["k_t"], name="attn/Transpose_k", perm=[0, 2, 3, 1]),
        N("Constant", [], ["v_shape"], name="attn/Constant_v_shape",
          value=numpy_helper.from_array(np.array([0, -1, heads, hd], dtype=np.int64))),
        N("Reshape", ["v", "v_shape"], ["v_heads"], name="attn/Reshape_v"),
        N("Transpose", ["v_heads"], ["v_t"], name="attn/Transpose_v", perm=[0, 2, 1, 3]),
        # both operands computed: stays float in every mode
        N("MatMul", ["q_t", "k_t"], ["scores"], name="attn/MatMul_qk"),
        N("Div", ["scores", "sqrt_head_dim"], ["scores_scaled"], name="attn/Div"),
        N("Softmax", ["scores_scaled"], ["probs"], name="attn/Softmax", axis=-1),
        N("MatMul", ["probs", "v_t"], ["context"], name="attn/MatMul_pv"),
        N("Transpose", ["context"], ["context_t"], name="attn/Transpose_context", perm=[0, 2, 1, 3]),
        N("Concat", ["batch_1", "seq_1", "model_dim"], ["merge_shape"], name="attn/Concat_merge", axis=0),
        N("Reshape", ["context_t", "merge_shape"], ["context_merged"], name="attn/Reshape_merge"),
        N("MatMul", ["context_merged", "attn.out_proj.weight_t"], ["o_mm"], name="attn/out_proj/MatMul"),
        N("Add", ["attn.out_proj.bias", "o_mm"], ["attn_out"], name="attn/out_proj/Add"),
        N("Add", ["X", "attn_out"], ["res1"], name="residual1"),
        N("LayerNormalization", ["res1", "ln2.weight", "ln2.bias"], ["ln2"], name="ln2", axis=-1, epsilon=1e-5),
        N("MatMul", ["ln2", "mlp.fc1.weight_t"], ["fc1_mm"], name="mlp/fc1/MatMul"),
        N("Add", ["mlp.fc1.bias", "fc1_mm"], ["fc1"], name="mlp/fc1/Add"),
        # GELU as torch exports it before opset 20: x * (erf(x / sqrt 2) + 1) * 0.5
        N("Div", ["fc1", "sqrt_2"], ["gelu_div"], name="mlp/gelu/Div"),
        N("Erf", ["gelu_div"], ["gelu_erf"], name="mlp/gelu/Erf"),
        N("Add", ["gelu_erf", "one"], ["gelu_add"], name="mlp/gelu/Add"),
        N("Mul", ["fc1", "gelu_add"], ["gelu_mul"], name="mlp/gelu/Mul"),
        N("Mul", ["gelu_mul", "half"], ["gelu"], name="mlp/gelu/Mul_half"),
        N("MatMul", ["gelu", "mlp.fc2.weight_t"], ["fc2_mm"], name="mlp/fc2/MatMul"),
        N("Add", ["mlp.fc2.bias", "fc2_mm"], ["fc2"], name="mlp/fc2/Add"),
        N("Add", ["res1", "fc2"], ["Y"], name="residual2"),
    ]
    g = helper.make_graph(nodes, name,
                          [helper.make_tensor_value_info("X", FLOAT, ["batch", "seq", d])],
                          [helper.make_tensor_value_info("Y", FLOAT, ["batch", "seq", d])], inits)
    x = rng.standard_normal((2, 8, d)).astype(np.float32)
    return Case(name, model_of(g), {"X": x},
                "pre-norm encoder block X[batch=2, seq=8, 64]: LayerNormalization, Q/K/V MatMul+Add (bias first), "
                "4 heads × 16 via Shape/Gather/Unsqueeze/Concat + Reshape, a Constant shape and a [0,0,4,16] shape, "
                "Transpose, QK^T MatMul (no constant: stays float), Div √16, Softmax, ·V, merge, out-proj, residual, "
                "LayerNormalization, MLP 64→128 with Erf GELU → 64, residual; 6 converted products; opset 17")


def mlp_decomposed_ln() -> Case:
    """LayerNorm spelled out as older torch exports did, to cover ReduceMean/Sub/Pow/Sqrt/Cast/Identity."""
    name = "mlp_decomposed_ln"
    rng = rng_for(name)
    d, h, n = 48, 40, 7
    N = helper.make_node
    nodes = [
        N("ReduceMean", ["X"], ["mean"], name="ln/ReduceMean", axes=[-1], keepdims=1),
        N("Sub", ["X", "mean"], ["centered"], name="ln/Sub"),
        N("Pow", ["centered", "two"], ["squared"], name="ln/Pow"),
        N("ReduceMean", ["squared"], ["var"], name="ln/ReduceMean_var", axes=[-1], keepdims=1),
        N("Constant", [], ["eps"], name="ln/Constant_eps", value_float=1e-5),
        N("Add", ["var", "eps"], ["var_eps"], name="ln/Add_eps"),
        N("Sqrt", ["var_eps"], ["std"], name="ln/Sqrt"),
        N("Div", ["centered", "std"], ["normed"], name="ln/Div"),
        N("Mul", ["normed", "ln.weight"], ["scaled"], name="ln/Mul"),
        N("Add", ["scaled", "ln.bias"], ["ln"], name="ln/Add"),
        N("MatMul", ["ln", "fc1.weight_t"], ["fc1_mm"], name="fc1/MatMul"),
        N("Add", ["fc1_mm", "fc1.bias"], ["fc1"], name="fc1/Add"),
        N("Identity", ["fc1"], ["fc1_id"], name="identity"),
        N("Cast", ["fc1_id"], ["fc1_f64"], name="cast_double", to=TensorProto.DOUBLE),
        N("Cast", ["fc1_f64"], ["fc1_f32"], name="cast_float", to=TensorProto.FLOAT),
        N("Relu", ["fc1_f32"], ["act"], name="relu"),
        N("MatMul", ["act", "fc2.weight_t"], ["fc2_mm"], name="fc2/MatMul"),
        N("Add", ["fc2_mm", "fc2.bias"], ["fc2"], name="fc2/Add"),
        N("Softmax", ["fc2"], ["probs"], name="softmax", axis=-1),
    ]
    inits = [init("two", np.array(2.0, dtype=np.float32)),
             init("ln.weight", (1 + 0.1 * rng.standard_normal(d)).astype(np.float32)), init("ln.bias", vector(rng, d)),
             init("fc1.weight_t", weight(rng, d, h)), init("fc1.bias", vector(rng, h)),
             init("fc2.weight_t", weight(rng, h, n)), init("fc2.bias", vector(rng, n))]
    g = helper.make_graph(nodes, name,
                          [helper.make_tensor_value_info("X", FLOAT, ["batch", 5, d])],
                          [helper.make_tensor_value_info("probs", FLOAT, ["batch", 5, n])], inits)
    x = rng.standard_normal((2, 5, d)).astype(np.float32)
    return Case(name, model_of(g), {"X": x},
                "X[batch=2, 5, 48] → LayerNorm as ReduceMean/Sub/Pow/ReduceMean/Add(Constant eps)/Sqrt/Div/Mul/Add → "
                "MatMul+Add(48→40) → Identity → Cast double → Cast float → Relu → MatMul+Add(40→7) → Softmax; opset 17")


def mlp_gelu_opset20() -> Case:
    name = "mlp_gelu_opset20"
    rng = rng_for(name)
    N = helper.make_node
    nodes = [
        N("MatMul", ["X", "W1"], ["h1_mm"], name="fc1/MatMul"),
        N("Add", ["h1_mm", "b1"], ["h1"], name="fc1/Add"),
        N("Gelu", ["h1"], ["g1"], name="gelu"),
        N("MatMul", ["g1", "W2"], ["h2_mm"], name="fc2/MatMul"),
        N("Add", ["h2_mm", "b2"], ["h2"], name="fc2/Add"),
        N("Gelu", ["h2"], ["g2"], name="gelu_tanh", approximate="tanh"),
        N("MatMul", ["g2", "W3"], ["Y"], name="fc3/MatMul"),
    ]
    inits = [init("W1", weight(rng, 40, 48)), init("b1", vector(rng, 48)),
             init("W2", weight(rng, 48, 24)), init("b2", vector(rng, 24)), init("W3", weight(rng, 24, 12))]
    g = helper.make_graph(nodes, name,
                          [helper.make_tensor_value_info("X", FLOAT, ["batch", 40])],
                          [helper.make_tensor_value_info("Y", FLOAT, ["batch", 12])], inits)
    x = rng.standard_normal((3, 40)).astype(np.float32)
    return Case(name, model_of(g, opset=20), {"X": x},
                "X[batch=3, 40] → MatMul+Add → Gelu → MatMul+Add → Gelu(approximate=tanh) → MatMul (its output is the "
                "graph output: no bias to fold); opset 20")


def all_cases() -> list[Case]:
    cases = [mlp_matmul(), mlp_matmul("mlp_external", external=True)]
    cases += [
        gemm_case(0, 0, 1.0, 1.0, [33]),
        gemm_case(0, 1, 0.5, 2.0, [33]),
        gemm_case(1, 0, 2.0, 0.5, [1, 33]),
        gemm_case(1, 1, 0.5, 2.0, [33]),
        gemm_case(0, 1, 1.5, 1.0, None, bias=False, name="gemm_nobias"),
    ]
    cases += [matmul_single(k, b) for k in (1, 65, 513) for b in (1, 5)]
    cases += [matmul_ternary(), encoder_block(), mlp_decomposed_ln(), mlp_gelu_opset20()]
    return cases


# ------------------------------------------------------------------------------------------
# Writing


def write_case(case: Case, out: Path) -> int:
    folder = out / case.name
    folder.mkdir(parents=True)
    model_path = folder / "model.onnx"
    if case.external:
        onnx.save_model(case.model, str(model_path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location="weights.bin", size_threshold=0)
    else:
        onnx.save_model(case.model, str(model_path))
    model = onnx.load(str(model_path))
    if len(case.inputs) == 1:
        save_npy(folder / "input.npy", next(iter(case.inputs.values())))
    else:
        for name, value in case.inputs.items():
            save_npy(folder / f"input_{name}.npy", value)

    by_name = onnxrt.run(model_path, case.inputs)
    names, results = list(by_name), list(by_name.values())
    for name, value in zip(names, results):
        save_npy(xnor_sim.output_file(folder, "ort_output", model, name), value)

    # The float interpreter must agree with onnxruntime before its binarized runs are stored.
    floats = xnor_sim.simulate(model_path, case.inputs, "float", model=model)
    for name, value in zip(names, results):
        err = relative_error(floats[name], value)
        if not err <= 1e-5:
            raise SystemExit(f"{case.name}: xnor_sim float differs from onnxruntime by {err:.2e} (relative)")
    for mode in xnor_sim.CONVERTED_MODES:
        for name, value in xnor_sim.simulate(model_path, case.inputs, mode, model=model).items():
            if not np.all(np.isfinite(value)):
                raise SystemExit(f"{case.name}: the {mode} simulation is not finite")
            save_npy(xnor_sim.output_file(folder, f"sim_{mode}", model, name), value)
    return sum(p.stat().st_size for p in folder.iterdir())


README = """# ONNX end-to-end fixtures

Written by `tools/gen_onnx_models.py` (fixed seeds; do not edit by hand:
`.venv/bin/python tools/gen_onnx_models.py`). Each folder holds `model.onnx`, `input.npy` (the
graph's one input), `ort_output.npy` (onnxruntime {ort_version}, graph optimizations off) and
`sim_w1a1.npy`, `sim_w1a8.npy`, `sim_w1.58a8.npy`: `tools/xnor_sim.py`'s numpy simulation of the
converted model (DESIGN.md "Numerics"; its docstring fixes which products are converted and the
float evaluation order). `.venv/bin/python tools/xnor_sim.py --self-test` re-checks them all.

Weights are N(0, 1/sqrt(K)) (standard deviation), inputs N(0, 1), biases N(0, 0.1²).
Symbolic dims: `batch` (and `seq` in encoder_block).

The `torch_*` folders are torch.onnx exports of BERT, GPT-2 and Llama, written by
`tools/gen_onnx_exports.py` (needs torch and transformers) and listed in `torch_exports.md`.

| case | what |
|---|---|
{rows}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=OUT, help="output folder (default: %(default)s); its folders but torch_* are replaced")
    args = ap.parse_args()
    out: Path = args.out
    cases = all_cases()
    # Only this script's folders: tools/gen_onnx_exports.py writes the torch_* ones beside them.
    out.mkdir(parents=True, exist_ok=True)
    for folder in out.iterdir():
        if folder.is_dir() and not folder.name.startswith("torch_"):
            shutil.rmtree(folder)
    total = 0
    for case in cases:
        size = write_case(case, out)
        total += size
        print(f"{case.name:22s} {size:8d} bytes")
    rows = "\n".join(f"| `{c.name}` | {c.note} |" for c in cases)
    (out / "README.md").write_text(README.format(ort_version=ort.__version__, rows=rows))
    total += (out / "README.md").stat().st_size
    print(f"{len(cases)} cases, {total} bytes ({total / 1024:.1f} KiB) in {out}")


if __name__ == "__main__":
    main()
