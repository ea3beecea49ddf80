"""A numpy forward pass of a llama-architecture GGUF (SmolLM2-135M), written from llama.cpp's
graph (src/models/llama.cpp) and ggml's CPU kernels, for two jobs:

  - the float path: every weight dequantized by gguf-py, products in float64 (or float32);
  - llama.cpp's own numerics, to explain where llama-perplexity departs from the float path:
      q8   activations quantized as ggml's CPU backend does before a product with quantized
           weights: Q8_1 (per 32 values: d = max|x| / 127 and s = d * sum q, both stored as
           float16; q = round-half-even(x * (127 / max|x|))) for Q4_1 weights, whose dot
           product is  sum_b fp16(d_w) fp16(d_x) sum_j q_w q_x + fp16(m_w) fp16(s_x)
           (ggml_vec_dot_q4_1_q8_1); Q8_0 (the same d, no s) for Q8_0 weights;
      f16kv K (after RoPE) and V rounded to float16, as they are in llama.cpp's default KV
           cache; with flash attention on (the default on the CPU) and a batch of >= the
           tile's query rows, ggml's tiled kernel converts them back to float32, so Q,
           the softmax and the V accumulation stay float32.

Only what SmolLM2 uses: RMSNorm, RoPE "NORM" (adjacent pairs, as llama.cpp's llama
architecture rotates), grouped-query causal attention, SwiGLU, an output matrix tied to the
token embedding (or `output.weight` when present).

    model = GGUFLlama(path); logits = model.forward(token_ids, q8=False, f16kv=False)
    LlamaKLDBase(path): llama-perplexity's --kl-divergence-base file (tokens, log-probs)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT

QK = 32


def _field(reader: gguf.GGUFReader, key: str):
    return reader.fields[key].contents()


@dataclass
class Q41:
    """A Q4_1 matrix as stored: W[n, b*32 + j] = d[n, b] * q[n, b, j] + m[n, b]."""
    d: np.ndarray   # float32 [N, nb] (float16 values)
    m: np.ndarray   # float32 [N, nb] (float16 values)
    q: np.ndarray   # float32 [N, nb, 32], 0..15

    @staticmethod
    def from_raw(raw: np.ndarray, n: int, k: int) -> "Q41":
        blocks = raw.reshape(n, k // QK, 20)
        d = blocks[:, :, 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
        m = blocks[:, :, 2:4].copy().view(np.float16)[..., 0].astype(np.float32)
        qs = blocks[:, :, 4:20]
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=2).astype(np.float32)   # low nibbles first
        return Q41(d, m, q)

    def dequantized(self) -> np.ndarray:
        return (self.d[:, :, None] * self.q + self.m[:, :, None]).reshape(self.d.shape[0], -1)


def quantize_q8(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows x [T, K] float32 -> (q [T, nb, 32] as float, fp16(d) [T, nb], fp16(s) [T, nb]), as
    ggml's x86 quantize_row_q8_1 (AVX2) computes them; Q8_0 is the same without s."""
    t, k = x.shape
    blocks = x.astype(np.float32).reshape(t, k // QK, QK)
    amax = np.abs(blocks).max(axis=2)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inverse = np.where(amax != 0, np.float32(127) / amax, np.float32(0)).astype(np.float32)
    q = np.rint(blocks * inverse[:, :, None])                     # float32 product, half to even
    s = (d * q.sum(axis=2)).astype(np.float32)
    return q, d.astype(np.float16).astype(np.float32), s.astype(np.float16).astype(np.float32)


class GGUFLlama:
    def __init__(self, path: Path):
        r = gguf.GGUFReader(str(path))
        arch = _field(r, "general.architecture")
        if arch != "llama":
            raise ValueError(f"{path}: general.architecture is {arch!r}, not llama")
        self.n_layer = int(_field(r, "llama.block_count"))
        self.n_embd = int(_field(r, "llama.embedding_length"))
        self.n_head = int(_field(r, "llama.attention.head_count"))
        self.n_head_kv = int(_field(r, "llama.attention.head_count_kv"))
        self.eps = float(np.float32(_field(r, "llama.attention.layer_norm_rms_epsilon")))
        self.rope_base = float(_field(r, "llama.rope.freq_base"))
        self.head_dim = self.n_embd // self.n_head
        self.tensors = {t.name: t for t in r.tensors}
        self.float: dict[str, np.ndarray] = {}
        self.q41: dict[str, Q41] = {}
        for name, t in self.tensors.items():
            shape = [int(v) for v in reversed(t.shape)]       # numpy order: [rows, K]
            self.float[name] = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float32)
            if t.tensor_type == QT.Q4_1:
                self.q41[name] = Q41.from_raw(np.asarray(t.data), shape[0], shape[1])
                assert np.array_equal(self.q41[name].dequantized(), self.float[name]), name
        self.output = "output.weight" if "output.weight" in self.tensors else "token_embd.weight"
        self.types = {name: t.tensor_type.name for name, t in self.tensors.items()}
        self._cache: dict[tuple, np.ndarray] = {}

    # ----------------------------------------------------------------------------------------

    def _weight(self, key: tuple, make) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def _linear(self, name: str, x: np.ndarray, q8: bool, dtype) -> np.ndarray:
        w = self.float[name]
        if not q8 or self.types[name] in ("F32", "F16"):
            wt = self._weight((name, "T", dtype), lambda: np.ascontiguousarray(w.T.astype(dtype)))
            return x.astype(dtype) @ wt
        q, d, s = quantize_q8(x)
        xq = (q * d[:, :, None]).reshape(x.shape).astype(np.float64)
        if self.types[name] == "Q4_1":
            blocks = self.q41[name]
            wd = self._weight((name, "dq"), lambda: np.ascontiguousarray(
                (blocks.d[:, :, None] * blocks.q).reshape(w.shape).T.astype(np.float64)))
            mins = self._weight((name, "m"), lambda: np.ascontiguousarray(blocks.m.T.astype(np.float64)))
            return (xq @ wd + s.astype(np.float64) @ mins).astype(dtype)
        if self.types[name] == "Q8_0":
            wt = self._weight((name, "T", np.float64), lambda: np.ascontiguousarray(w.T.astype(np.float64)))
            return (xq @ wt).astype(dtype)
        raise ValueError(f"{name}: no activation quantization written for {self.types[name]}")

    def _rms_norm(self, x: np.ndarray, weight: str, dtype) -> np.ndarray:
        x64 = x.astype(np.float64)
        scale = 1.0 / np.sqrt((x64 * x64).mean(axis=-1, keepdims=True) + self.eps)
        return (x64 * scale).astype(dtype) * self.float[weight].astype(dtype)

    def _rope(self, x: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """x [T, H, D]: pairs (2i, 2i+1) rotated by pos * base^(-2i/D) (llama.cpp's NORM mode)."""
        d = x.shape[-1]
        inv = self.rope_base ** (-np.arange(0, d, 2, dtype=np.float64) / d)
        theta = positions[:, None].astype(np.float64) * inv[None, :]
        cos, sin = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]
        x0, x1 = x[..., 0::2].astype(np.float64), x[..., 1::2].astype(np.float64)
        out = np.empty(x.shape, dtype=np.float64)
        out[..., 0::2] = x0 * cos - x1 * sin
        out[..., 1::2] = x0 * sin + x1 * cos
        return out.astype(x.dtype)

    def forward(self, tokens, q8: bool = False, f16kv: bool = False, dtype=np.float64,
                logits_from: int = 0) -> np.ndarray:
        """Logits [T - logits_from, vocab] (float64) for one sequence from position 0."""
        tokens = np.asarray(tokens, dtype=np.int64)
        t = len(tokens)
        positions = np.arange(t)
        x = self.float["token_embd.weight"][tokens].astype(dtype)
        hd, nh, nkv = self.head_dim, self.n_head, self.n_head_kv
        mask = np.triu(np.full((t, t), -np.inf), k=1)
        for i in range(self.n_layer):
            p = f"blk.{i}."
            h = self._rms_norm(x, p + "attn_norm.weight", dtype)
            q = self._linear(p + "attn_q.weight", h, q8, dtype).reshape(t, nh, hd)
            k = self._linear(p + "attn_k.weight", h, q8, dtype).reshape(t, nkv, hd)
            v = self._linear(p + "attn_v.weight", h, q8, dtype).reshape(t, nkv, hd)
            q, k = self._rope(q, positions), self._rope(k, positions)
            if f16kv:
                k = k.astype(np.float16).astype(dtype)
                v = v.astype(np.float16).astype(dtype)
            group = nh // nkv
            k = np.repeat(k, group, axis=1)
            v = np.repeat(v, group, axis=1)
            scores = np.einsum("thd,shd->hts", q.astype(np.float64), k.astype(np.float64)) / np.sqrt(hd) + mask
            scores -= scores.max(axis=-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(axis=-1, keepdims=True)
            attn = np.einsum("hts,shd->thd", weights, v.astype(np.float64)).reshape(t, nh * hd).astype(dtype)
            x = x + self._linear(p + "attn_output.weight", attn, q8, dtype)
            h = self._rms_norm(x, p + "ffn_norm.weight", dtype)
            gate = self._linear(p + "ffn_gate.weight", h, q8, dtype)
            up = self._linear(p + "ffn_up.weight", h, q8, dtype)
            silu = gate / (1.0 + np.exp(-gate.astype(np.float64))).astype(dtype)
            x = x + self._linear(p + "ffn_down.weight", silu * up, q8, dtype)
        h = self._rms_norm(x[logits_from:], "output_norm.weight", dtype)
        return self._linear(self.output, h, q8, dtype).astype(np.float64)


class LlamaKLDBase:
    """The file `llama-perplexity --kl-divergence-base FILE` writes: the tokens and, for every
    scored position, log-probabilities stored as uint16 steps above max - 16."""

    def __init__(self, path: Path):
        raw = Path(path).read_bytes()
        if raw[:8] != b"_logits_":
            raise ValueError(f"{path}: not a llama-perplexity logits file (no _logits_ magic)")
        self.n_ctx, self.n_vocab, self.n_chunk = (int(v) for v in np.frombuffer(raw[8:20], dtype=np.int32))
        end = 20 + 4 * self.n_chunk * self.n_ctx
        self.tokens = np.frombuffer(raw[20:end], dtype=np.int32)
        nv = 2 * ((self.n_vocab + 1) // 2) + 4
        self.first = self.n_ctx // 2
        self.n_scored = self.n_ctx - 1 - self.first
        self._rows = np.frombuffer(raw[end:], dtype=np.uint16).reshape(self.n_chunk, self.n_scored, nv)

    def logprobs(self, chunk: int) -> np.ndarray:
        rows = self._rows[chunk]
        head = rows[:, :4].copy().view(np.float32)            # scale, min_log_prob
        return head[:, 1:2].astype(np.float64) + head[:, 0:1].astype(np.float64) * rows[:, 4:4 + self.n_vocab]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    m = logits.max(axis=-1, keepdims=True)
    return logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))


def llama_kld(base: np.ndarray, ours: np.ndarray) -> np.ndarray:
    """KL(base || ours) per row as llama-perplexity computes it: over the base's tokens whose
    log-probability is above -16 only, without renormalizing."""
    return np.where(base > -16, np.exp(base) * (base - ours), 0.0).sum(axis=-1)
