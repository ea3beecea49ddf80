#!/usr/bin/env python3
"""Writes a Hugging Face folder (config.json + model.safetensors, bf16) of a BitNet-shaped model
with random weights, for the measurements of issue 6 (tools/bench-llm).

    .venv/bin/python tools/gen_bench_llm.py OUT_FOLDER [--layers 24] [--hidden 1536] [--ffn 4096]
                                                [--heads 24] [--kv-heads 24] [--vocab 32000] [--seed 0]
                                                [--packed bitlinear|autobitlinear]

The default shapes are those of a 700M BitNet (transformers' BitNetForCausalLM layout, untied
lm_head). Every q/k/v/o/gate/up/down projection is exactly ternary times one scale per matrix
(codes in {-1, 0, 1} times c, c a bf16 value), as llama.cpp's BitNet converter writes them, so
`xnor convert` defaults to w1.58a8 and recovers the codes exactly. Norm weights are random
around 1; the embedding and lm_head are normal * 0.02.

`--packed LINEAR_CLASS` writes the projections in the packed layout of bitnet-b1.58-2B-4T
instead (issue 12's memory measurements): uint8 [out/4, in] with bits 2j..2j+1 of [r, c] =
code[j*out/4 + r, c] + 1 (transformers' pack_weights), a bf16 `weight_scale` [1] beside each,
and `quantization_config` {quant_method bitnet, linear_class, quantization_mode offline}; the
weight is codes / weight_scale (bitlinear) or codes * weight_scale (autobitlinear).

Only numpy: bf16 is the top 16 bits of float32, rounded to nearest even. Tensors are written one
at a time into the safetensors file (the header is computed first from the shapes), so the
generator's memory stays near the largest tensor (the 32000 x 1536 embedding), not the model.
"""
from __future__ import annotations

import argparse
import json
import os
import struct
import sys

import numpy as np


def to_bf16(x: np.ndarray) -> np.ndarray:
    """float32 -> bf16 bits (uint16), round to nearest even; no NaNs are produced here."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounding = ((u >> 16) & 1) + np.uint32(0x7FFF)
    return ((u + rounding) >> 16).astype(np.uint16)


def bf16_scalar(v: float) -> float:
    return float((to_bf16(np.array([v], dtype=np.float32)).astype(np.uint32) << 16).view(np.float32)[0])


def tensor_plan(a):
    """(name, shape, kind) in the order they are written."""
    h, f, v = a.hidden, a.ffn, a.vocab
    head_dim = h // a.heads
    kv = a.kv_heads * head_dim

    def projection(name, shape):
        if not a.packed:
            return [(name, shape, "ternary")]
        assert shape[0] % 4 == 0, f"{name}: packed rows must be a multiple of 4, got {shape[0]}"
        return [(name, shape, "packed"), (name + "_scale", (1,), "scale")]

    plan = [("model.embed_tokens.weight", (v, h), "embed")]
    for i in range(a.layers):
        p = f"model.layers.{i}."
        plan += [(p + "input_layernorm.weight", (h,), "norm")]
        plan += projection(p + "self_attn.q_proj.weight", (h, h))
        plan += projection(p + "self_attn.k_proj.weight", (kv, h))
        plan += projection(p + "self_attn.v_proj.weight", (kv, h))
        plan += projection(p + "self_attn.o_proj.weight", (h, h))
        plan += [(p + "self_attn.attn_sub_norm.weight", (h,), "norm"),
                 (p + "post_attention_layernorm.weight", (h,), "norm")]
        plan += projection(p + "mlp.gate_proj.weight", (f, h))
        plan += projection(p + "mlp.up_proj.weight", (f, h))
        plan += projection(p + "mlp.down_proj.weight", (h, f))
        plan += [(p + "mlp.ffn_sub_norm.weight", (f,), "norm")]
    plan += [("model.norm.weight", (h,), "norm"), ("lm_head.weight", (v, h), "embed")]
    return plan


def stored(kind: str, shape) -> tuple[str, list[int], int]:
    """(safetensors dtype, stored shape, bytes) of a planned tensor."""
    if kind == "packed":
        return "U8", [shape[0] // 4, shape[1]], shape[0] // 4 * shape[1]
    return "BF16", list(shape), int(np.prod(shape)) * 2


def packed_chunks(shape, linear_class: str, rng: np.random.Generator):
    """One matrix's codes packed as transformers' pack_weights does, then its bf16 weight_scale."""
    rows, cols = shape
    codes = rng.integers(-1, 2, size=shape, dtype=np.int8)
    quarter = rows // 4
    packed = np.zeros((quarter, cols), dtype=np.uint8)
    for j in range(4):
        packed |= (codes[j * quarter:(j + 1) * quarter] + 1).astype(np.uint8) << np.uint8(2 * j)
    # weight = codes / scale (bitlinear) or codes * scale (autobitlinear), ~ 1/sqrt(in) either way
    c = float(rng.uniform(0.5, 1.5)) / np.sqrt(cols)
    scale = to_bf16(np.array([1 / c if linear_class == "bitlinear" else c], dtype=np.float32))
    return packed, scale


CHUNK = 1 << 22  # elements per written piece: keeps the generator's memory near 100 MB


def chunks(kind: str, shape, rng: np.random.Generator):
    """The tensor's bf16 bits, row-major, in pieces of whole rows."""
    if kind == "norm":
        yield to_bf16(1 + 0.1 * rng.standard_normal(shape, dtype=np.float32))
        return
    rows, cols = shape
    step = max(1, CHUNK // cols)
    # ternary codes (about 1/3 each) times one bf16 scale per matrix, scale ~ 1/sqrt(in)
    c = np.float32(bf16_scalar(float(rng.uniform(0.5, 1.5)) / np.sqrt(cols)))
    for r in range(0, rows, step):
        n = min(step, rows - r)
        if kind == "embed":
            yield to_bf16(rng.standard_normal((n, cols), dtype=np.float32) * np.float32(0.02))
        else:
            yield to_bf16(rng.integers(-1, 2, size=(n, cols), dtype=np.int8).astype(np.float32) * c)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--hidden", type=int, default=1536)
    ap.add_argument("--ffn", type=int, default=4096)
    ap.add_argument("--heads", type=int, default=24)
    ap.add_argument("--kv-heads", type=int, default=24)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--max-pos", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--packed", choices=["bitlinear", "autobitlinear"],
                    help="write the projections in BitNet's packed uint8 layout with this linear_class")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    config = {
        "architectures": ["BitNetForCausalLM"],
        "model_type": "bitnet",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "dtype": "bfloat16",
        "hidden_act": "relu2",
        "hidden_size": a.hidden,
        "intermediate_size": a.ffn,
        "num_hidden_layers": a.layers,
        "num_attention_heads": a.heads,
        "num_key_value_heads": a.kv_heads,
        "vocab_size": a.vocab,
        "max_position_embeddings": a.max_pos,
        "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0,
        "tie_word_embeddings": False,
        "initializer_range": 0.02,
        "use_cache": True,
    }
    if a.packed:
        config["quantization_config"] = {"quant_method": "bitnet", "linear_class": a.packed, "quantization_mode": "offline"}
    with open(os.path.join(a.out, "config.json"), "w") as fh:
        json.dump(config, fh, indent=2)

    plan = tensor_plan(a)
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, kind in plan:
        dtype, stored_shape, size = stored(kind, shape)
        header[name] = {"dtype": dtype, "shape": stored_shape, "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)

    rng = np.random.default_rng(a.seed)
    path = os.path.join(a.out, "model.safetensors")
    with open(path + ".tmp", "wb") as fh:
        fh.write(struct.pack("<Q", len(blob)))
        fh.write(blob)
        scale = None
        for name, shape, kind in plan:
            written = 0
            if kind == "packed":
                packed, scale = packed_chunks(shape, a.packed, rng)
                pieces = [packed]
            elif kind == "scale":
                pieces = [scale]
            else:
                pieces = chunks(kind, shape, rng)
            for piece in pieces:
                fh.write(piece.tobytes())
                written += piece.nbytes
            assert written == header[name]["data_offsets"][1] - header[name]["data_offsets"][0], name
    os.replace(path + ".tmp", path)
    params = sum(int(np.prod(s)) for _, s, _ in plan)
    print(f"{a.out}: {len(plan)} tensors, {params} parameters, {offset} bytes of weights", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
