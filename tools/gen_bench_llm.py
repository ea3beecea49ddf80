#!/usr/bin/env python3
"""Writes a Hugging Face folder (config.json + model.safetensors, bf16) of a BitNet-shaped model
with random weights, for the measurements of issue 6 (tools/bench-llm).

    .venv/bin/python tools/gen_bench_llm.py OUT_FOLDER [--layers 24] [--hidden 1536] [--ffn 4096]
                                                [--heads 24] [--kv-heads 24] [--vocab 32000] [--seed 0]
                                                [--packed bitlinear|autobitlinear]
    .venv/bin/python tools/gen_bench_llm.py OUT.gguf --gguf [same shape options]

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

`--gguf` writes OUT as one F16 GGUF in llama.cpp's `llama` architecture instead (issue 15's speed
comparison, tools/speed_bench_700m.py: llama-quantize and xnor read the same file). The weights are
those of the folder with the same options and seed, except that:
  - attn_sub_norm and ffn_sub_norm are dropped and llama.cpp runs SiLU: its `bitnet` architecture
    runs SiLU too and ties the output to token_embd, while xnor's bitnet runs relu²; as `llama`,
    both engines compute the same function of the same file;
  - attn_q and attn_k rows are permuted as convert_hf_to_gguf.py's LlamaModel.permute does: llama.cpp
    rotates adjacent pairs, and so does xnor for a llama GGUF;
  - a made-up SentencePiece vocabulary fills the tokenizer keys llama.cpp requires: <unk>, <s>, </s>,
    the 256 byte tokens <0x00>..<0xFF>, then "▁a", "▁b", ... up to --vocab tokens.
Projections and embeddings are F16, norms F32, as the converter writes them: the ternary codes and
their scales exactly, the embeddings but for the few values below F16's normal range (|x| < 6.1e-5).

Only numpy (with --gguf also the gguf-py of tools/llama-cpp's llama.cpp source, the writer that
goes with the llama.cpp reading the file): bf16 is the top 16 bits of float32, rounded to nearest
even. Tensors are written one at a time (the header is computed first from the shapes), so the
generator's memory stays near the largest tensor (the 32000 x 1536 embedding), not the model.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import struct
import sys
from pathlib import Path

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


# --------------------------------------------------------------------------------------
# --gguf: the same weights as one llama-architecture F16 GGUF

GGUF_LAYER_NAMES = {
    "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
}
DROPPED_IN_GGUF = ("self_attn.attn_sub_norm", "mlp.ffn_sub_norm")


def gguf_name(hf: str) -> str | None:
    """llama.cpp's name of a planned tensor; None for the sub-norms the llama architecture lacks."""
    fixed = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    if hf in fixed:
        return fixed[hf]
    _, _, layer, rest = hf.split(".", 3)
    role = rest.removesuffix(".weight")
    if role in DROPPED_IN_GGUF:
        return None
    return f"blk.{layer}.{GGUF_LAYER_NAMES[role]}.weight"


def permute_rows(w: np.ndarray, heads: int) -> np.ndarray:
    """convert_hf_to_gguf.py's LlamaModel.permute: each head's half-split rows interleaved."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def made_up_vocab(size: int):
    """(tokens, scores, token types) of a SentencePiece ("llama") vocabulary of `size` tokens."""
    import gguf
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE] * 256
    assert size >= len(tokens), f"--vocab must be at least {len(tokens)} for --gguf"
    words = ("".join(w) for n in itertools.count(1) for w in itertools.product("abcdefghijklmnopqrstuvwxyz", repeat=n))
    pieces = ["\u2581" + w for w in itertools.islice(words, size - len(tokens))]
    scores = [0.0] * len(tokens) + [-float(i) for i in range(len(pieces))]
    return tokens + pieces, scores, types + [gguf.TokenType.NORMAL] * len(pieces)


def write_gguf(a, path: str) -> int:
    """Streams the planned tensors into a llama-architecture F16 GGUF; returns the parameters written."""
    from xnortools.paths import llama_cpp_source
    sys.path.insert(0, str(llama_cpp_source() / "gguf-py"))
    import gguf

    head_dim = a.hidden // a.heads
    w = gguf.GGUFWriter(path + ".tmp", gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name(f"random ternary {a.layers}x{a.hidden}")
    w.add_context_length(a.max_pos)
    w.add_embedding_length(a.hidden)
    w.add_block_count(a.layers)
    w.add_feed_forward_length(a.ffn)
    w.add_head_count(a.heads)
    w.add_head_count_kv(a.kv_heads)
    w.add_rope_freq_base(500000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(head_dim)
    w.add_vocab_size(a.vocab)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    tokens, scores, types = made_up_vocab(a.vocab)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)

    plan = tensor_plan(a)
    for name, shape, kind in plan:
        if (g := gguf_name(name)) is not None:
            dtype = np.float32 if kind == "norm" else np.float16
            w.add_tensor_info(g, shape, np.dtype(dtype), int(np.prod(shape)) * np.dtype(dtype).itemsize)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    rng = np.random.default_rng(a.seed)
    params = 0
    for name, shape, kind in plan:
        # every tensor is drawn, written or not, so the others equal the folder's of the same seed
        bits = np.concatenate([c.reshape(-1) for c in chunks(kind, shape, rng)]).reshape(shape)
        g = gguf_name(name)
        if g is None:
            continue
        values = (bits.astype(np.uint32) << 16).view(np.float32)
        if g.endswith(("attn_q.weight", "attn_k.weight")):
            values = permute_rows(values, a.heads if "attn_q" in g else a.kv_heads)
        w.write_tensor_data(np.ascontiguousarray(values, dtype=np.float32 if kind == "norm" else np.float16))
        params += values.size
    w.close()
    os.replace(path + ".tmp", path)
    return params


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
    ap.add_argument("--gguf", action="store_true", help="write OUT as a llama-architecture F16 GGUF with a made-up vocabulary")
    a = ap.parse_args()
    if a.gguf:
        if a.packed:
            ap.error("--gguf writes F16 projections: --packed does not apply")
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        params = write_gguf(a, a.out)
        print(f"{a.out}: {params} parameters, {os.path.getsize(a.out)} bytes", file=sys.stderr)
        return 0
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
