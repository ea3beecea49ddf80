"""DESIGN.md "Numerics" in numpy, written from the formulas and formats/XNORPopcountGemm.md,
not from the Swift code: the weight and activation modes, the packed bit layout, the integer
parts (as a dot product of codes and, independently, by the popcount formulas on bit-planes)
and the output transform.

Evaluation order of a converted product (one activation row x [K], weight row n; every
sum over codes is an exact integer I computed in int64):

  scales    alpha[n] = float32(sum_k |W[n,k]| / K)   (w1; the sum in float64, k in order)
            gamma    = c if every nonzero |W| equals one c > 0, else
                       float32(max(float32(sum |W| / (N*K)), float32(1e-5)))  (w1.58; the
                       float64 sum over W [N, K] in row-major order)
            beta     = float32(sum_k |x_k| / K)      (a1; float64 sum, k in order)
            s        = float32(127) / max(float32(max_k |x_k|), float32(1e-5))  (a8; float32)
  codes     w1: -1 iff W < 0 else +1      w1.58: clip(rint(float32(W) / gamma), -1, 1)
            a1: -1 iff x < 0 else +1      a8:   clip(rint(float32(x * s)), -128, 127)
            (rint = round half to even; the divisions and products are float32 operations)
  product   w1a1:    p = (float64(alpha[n]) * float64(beta)) * float64(I)
            w1a8:    p = (float64(alpha[n]) / float64(s))    * float64(I)
            w1.58a8: p = (float64(gamma)    / float64(s))    * float64(I)
  transform p = p * float64(alpha_gemm)   (when the op has an output scale)
            p = p + float64(bias[n])       (when it has a bias)
            y = float32(p)                 -- the only rounding after the integer part

An activation row holding a NaN or an infinity gives codes 0, a NaN scale and NaN outputs.

Bit layout: element k of a row is bit k % 64 of little-endian uint64 word k // 64, each row
zero-padded to a multiple of 512 bits.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

F32 = np.float32
F64 = np.float64
SCALE_FLOOR = np.float32(1e-5)     # bits 0x3727C5AC
ROW_BITS = 512
CONVERTED_MODES = ("w1a1", "w1a8", "w1.58a8")
PLANE_WEIGHTS = [1 << b for b in range(7)] + [-128]   # two's complement bit-planes of an int8


class NumericsError(ValueError):
    """An input the numerics do not define (empty weights, non-finite weights, unknown mode)."""


# ------------------------------------------------------------------------------------------
# Sums and bit-planes

def sequential_abs_mean(a: np.ndarray) -> np.ndarray:
    """mean |a| along the last axis: float64 magnitudes summed one after another in index
    order (cumsum, never numpy's pairwise sum), divided by the count in float64, rounded once
    to float32."""
    magnitudes = np.abs(np.asarray(a, dtype=F32).astype(F64))
    if magnitudes.shape[-1] == 0:
        return np.zeros(magnitudes.shape[:-1], dtype=F32)
    return (np.cumsum(magnitudes, axis=-1)[..., -1] / F64(magnitudes.shape[-1])).astype(F32)


def row_stride_words(k: int) -> int:
    return (k + ROW_BITS - 1) // ROW_BITS * (ROW_BITS // 64)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """bool [R, K] -> uint64 [R, S] in the layout above."""
    rows, k = bits.shape
    padded = np.zeros((rows, row_stride_words(k) * 64), dtype=np.uint8)
    padded[:, :k] = bits
    # packbits with little bit order puts element k in bit k % 8 of byte k // 8; eight such
    # bytes read as one little-endian word put it in bit k % 64 of word k // 64.
    return np.packbits(padded, axis=1, bitorder="little").view("<u8")


def popcount(words: np.ndarray) -> np.ndarray:
    """Sum over the last axis of the popcounts of uint64 words."""
    return np.bitwise_count(words).astype(np.int64).sum(axis=-1)


# ------------------------------------------------------------------------------------------
# Quantization

@dataclass
class QuantizedWeights:
    mode: str            # "w1" or "w1.58"
    codes: np.ndarray    # int8 [N, K]
    scales: np.ndarray   # float32 [N] (w1: alpha per row) or [1] (w1.58: gamma)
    codes_as_given: bool = False   # w1.58: the weights were already ternary, gamma = c

    def row_scales(self) -> np.ndarray:
        n = self.codes.shape[0]
        return self.scales if self.mode == "w1" else np.full(n, self.scales[0], dtype=F32)

    def planes(self) -> list[np.ndarray]:
        """w1: [sign]; w1.58: [nonzero, negative]; each uint64 [N, S]."""
        if self.mode == "w1":
            return [pack_bits(self.codes < 0)]
        return [pack_bits(self.codes != 0), pack_bits(self.codes < 0)]


def quantize_weights(w_nk: np.ndarray, mode: str) -> QuantizedWeights:
    """W [N, K] (float) -> codes and float32 scales by the w1 or w1.58 rule."""
    w = np.ascontiguousarray(w_nk, dtype=F32)
    if w.ndim != 2 or w.shape[0] == 0 or w.shape[1] == 0:
        raise NumericsError(f"weights must be a non-empty [N, K] matrix, got shape {list(w.shape)}")
    if not np.all(np.isfinite(w)):
        raise NumericsError("weights hold a NaN or an infinity; quantizing needs finite weights")
    magnitude = np.abs(w)
    if mode == "w1":
        codes = np.where(w < 0, -1, 1).astype(np.int8)      # -0.0 < 0 is False: both zeros are +1
        return QuantizedWeights("w1", codes, sequential_abs_mean(w))
    if mode == "w1.58":
        nonzero = magnitude[magnitude != 0]
        if nonzero.size > 0 and np.all(nonzero == nonzero[0]):
            gamma, given = F32(nonzero[0]), True
        else:
            gamma, given = max(sequential_abs_mean(w.reshape(1, -1))[0], SCALE_FLOOR), False
        scaled = w / F32(gamma)                              # a float32 division
        codes = np.clip(np.rint(scaled), -1, 1).astype(np.int8)
        return QuantizedWeights("w1.58", codes, np.array([gamma], dtype=F32), given)
    raise NumericsError(f"unknown weight mode {mode!r}")


@dataclass
class QuantizedActivations:
    mode: str            # "a1" or "a8"
    codes: np.ndarray    # int8 [M, K]; 0 in non-finite rows
    scales: np.ndarray   # float32 [M]: beta (a1) or s (a8); NaN in non-finite rows
    finite: np.ndarray   # bool [M]

    def planes(self) -> np.ndarray:
        """uint64 [M, P, S]: a1: [sign]; a8: the bit-planes p_0..p_7 of the int8 codes."""
        if self.mode == "a1":
            return pack_bits(self.codes < 0)[:, None, :]
        byte = self.codes.astype(np.int64) & 0xFF
        return np.stack([pack_bits(((byte >> b) & 1).astype(bool)) for b in range(8)], axis=1)


def quantize_activations(x_mk: np.ndarray, mode: str) -> QuantizedActivations:
    """Rows x [M, K] (float32) -> codes and float32 scales by the a1 or a8 rule."""
    x = np.ascontiguousarray(x_mk, dtype=F32)
    if x.ndim != 2 or x.shape[1] == 0:
        raise NumericsError(f"activations must be [M, K] with K >= 1, got shape {list(x.shape)}")
    finite = np.all(np.isfinite(x), axis=1)
    safe = np.where(finite[:, None], x, F32(0))
    if mode == "a1":
        scales = sequential_abs_mean(safe)
        codes = np.where(safe < 0, -1, 1).astype(np.int8)
    elif mode == "a8":
        scales = (F32(127) / np.maximum(np.abs(safe).max(axis=1), SCALE_FLOOR)).astype(F32)
        product = safe * scales[:, None]                    # a float32 product
        assert product.dtype == F32
        codes = np.clip(np.rint(product), -128, 127).astype(np.int8)
    else:
        raise NumericsError(f"unknown activation mode {mode!r}")
    codes[~finite] = 0
    scales = np.where(finite, scales, F32(np.nan)).astype(F32)
    return QuantizedActivations(mode, codes, scales, finite)


def split_mode(mode: str) -> tuple[str, str]:
    """'w1.58a8' -> ('w1.58', 'a8')."""
    table = {"w1a1": ("w1", "a1"), "w1a8": ("w1", "a8"), "w1.58a8": ("w1.58", "a8"), "w158a8": ("w1.58", "a8")}
    if mode not in table:
        raise NumericsError(f"unknown mode {mode!r}; expected one of {', '.join(CONVERTED_MODES)}")
    return table[mode]


# ------------------------------------------------------------------------------------------
# Integer parts and the output transform

def integer_parts(weights: QuantizedWeights, activations: QuantizedActivations) -> np.ndarray:
    """I [M, N] = sum_k code_x * code_w, exact in int64; 0 for non-finite rows."""
    if weights.codes.shape[1] != activations.codes.shape[1]:
        raise NumericsError(f"weights have K = {weights.codes.shape[1]} but activations have "
                            f"K = {activations.codes.shape[1]}")
    return activations.codes.astype(np.int64) @ weights.codes.astype(np.int64).T


def popcount_integer_parts(weights: QuantizedWeights, activations: QuantizedActivations) -> np.ndarray:
    """I [M, N] by DESIGN.md's popcount formulas on the packed bit-planes: an independent route
    to what integer_parts computes as a dot product of codes.

      w1a1:    I = K - 2 popcount(sw XOR sx)
      w1a8:    I = sum_k q_k - 2 sum_b c_b popcount(p_b AND sw)
      w1.58a8: I = sum_b c_b (popcount(p_b AND nz AND NOT neg) - popcount(p_b AND nz AND neg))
    with c_b = 2^b for b < 7 and c_7 = -128."""
    k = weights.codes.shape[1]
    m, n = activations.codes.shape[0], weights.codes.shape[0]
    wplanes, aplanes = weights.planes(), activations.planes()
    out = np.zeros((m, n), dtype=np.int64)
    for i in range(m):
        if activations.mode == "a1":
            out[i] = k - 2 * popcount(wplanes[0] ^ aplanes[i, 0][None, :])
        elif weights.mode == "w1":
            weighted = sum(c * popcount(aplanes[i, b][None, :] & wplanes[0]) for b, c in enumerate(PLANE_WEIGHTS))
            out[i] = int(activations.codes[i].astype(np.int64).sum()) - 2 * weighted
        else:
            nz, neg = wplanes
            out[i] = sum(c * (popcount(aplanes[i, b][None, :] & nz & ~neg) - popcount(aplanes[i, b][None, :] & nz & neg))
                         for b, c in enumerate(PLANE_WEIGHTS))
    out[~activations.finite] = 0
    return out


def output_transform(weights: QuantizedWeights, activations: QuantizedActivations, ints: np.ndarray,
                     alpha: float | None = None, bias: np.ndarray | None = None) -> np.ndarray:
    """Y [M, N] float32 from the integer parts, in the evaluation order above."""
    w_scale = weights.row_scales().astype(F64)[None, :]
    a_scale = activations.scales.astype(F64)[:, None]
    i = ints.astype(F64)
    with np.errstate(invalid="ignore"):
        p = (w_scale * a_scale) * i if activations.mode == "a1" else (w_scale / a_scale) * i
    return finish_output(p, activations.finite, alpha, bias)


def finish_output(p: np.ndarray, finite: np.ndarray, alpha: float | None, bias: np.ndarray | None) -> np.ndarray:
    """The end every format shares: the float64 product times alpha, plus the bias, rounded once
    to float32; rows with a non-finite activation are NaN."""
    with np.errstate(invalid="ignore"):
        if alpha is not None:
            p = p * F64(F32(alpha))
        if bias is not None:
            p = p + np.asarray(bias, dtype=F32).astype(F64)[None, :]
    y = p.astype(F32)
    y[~finite] = F32(np.nan)
    return y


def xnor_product(weights: QuantizedWeights, activations: QuantizedActivations,
                 alpha: float | None = None, bias: np.ndarray | None = None) -> np.ndarray:
    """Y [M, N] float32: the integer parts as a dot product of codes, then the transform."""
    if weights.mode == "w1.58" and activations.mode != "a8":
        raise NumericsError("w1.58 weights take a8 activations only")
    return output_transform(weights, activations, integer_parts(weights, activations), alpha, bias)


def simulate_product(x: np.ndarray, w_nk: np.ndarray, mode: str,
                     alpha: float | None = None, bias: np.ndarray | None = None) -> np.ndarray:
    """One converted product on activations x [..., K] and float weights W [N, K]: [..., N]."""
    wmode, amode = split_mode(mode)
    x = np.asarray(x, dtype=F32)
    k = w_nk.shape[1]
    if x.shape[-1] != k:
        raise NumericsError(f"activation's last axis is {x.shape[-1]} but the weight has K = {k}")
    rows = x.reshape(-1, k)
    y = xnor_product(quantize_weights(w_nk, wmode), quantize_activations(rows, amode), alpha, bias)
    return y.reshape(x.shape[:-1] + (w_nk.shape[0],))
