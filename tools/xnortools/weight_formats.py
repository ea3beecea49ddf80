"""The grouped weight formats of formats/XNORPopcountGemm.md ("Grouped formats") in numpy,
written from that page, not from the Swift code: names, round-to-nearest quantization,
bit-planes, the integer parts (as dot products of codes and, independently, by popcount on
the planes) and the float64 evaluation order of the product.

  b{P}g{G}[a]  P residual sign planes, one float16 scale alpha[p, n, g] per plane, row and
               group of G inputs (the last group short), optional float16 offset mu[n, g]
  t1g{G}       ternary codes -1/0/+1 (planes nonzero, negative), float16 gamma[0, n, g]

Round to nearest, per row and group (mean = float64 sum in index order / count -> float32;
fp16(x) = float32(float16(x))):
  binary:  mu = fp16(mean W) and r = float32(W - mu) if affine, else r = W; for p in order:
           code = -1 where r < 0 else +1, alpha = fp16(mean |r|), r = float32(r - alpha * code)
  ternary: gamma = fp16(max(mean |W|, float32(1e-5))), code = clip(rint(float32(W / gamma)), -1, 1)

Product for activation row m, weight row n (I, S exact integers):
  I[p, n, g] = sum_{k in g} code_p[n, k] q[m, k]      S[m, g] = sum_{k in g} q[m, k]
  acc = 0.0; for g: for p: acc = acc + f64(alpha[p, n, g]) * f64(I[p, n, g])
                    (affine) acc = acc + f64(mu[n, g]) * f64(S[m, g])
  a8: t = acc / f64(s)      a1: t = acc * f64(beta)
then the output transform of numerics.output_transform (alpha, bias), y = float32(t).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from xnortools.numerics import (F32, F64, finish_output, PLANE_WEIGHTS, SCALE_FLOOR, NumericsError, QuantizedActivations,
                                pack_bits, popcount)

F16 = np.float16


DEFAULT_SALIENT_PLANES = 3


@dataclass(frozen=True)
class WeightFormat:
    kind: str        # "binary" or "ternary"
    planes: int      # code planes (ternary: 1)
    group: int
    affine: bool
    salient: int = 0          # S salient columns (xnortools/salient_formats.py), 0: none
    salient_planes: int = 0   # Q

    @property
    def name(self) -> str:
        tail = ""
        if self.salient:
            tail = f"s{self.salient}" + ("" if self.salient_planes == DEFAULT_SALIENT_PLANES else f"p{self.salient_planes}")
        return f"{'b' if self.kind == 'binary' else 't'}{self.planes}g{self.group}{'a' if self.affine else ''}{tail}"

    @property
    def base(self) -> "WeightFormat":
        return WeightFormat(self.kind, self.planes, self.group, self.affine)

    @property
    def salient_set(self) -> "WeightFormat":
        """The salient planes as a grouped format over the S gathered columns: one group."""
        return WeightFormat("binary", self.salient_planes, (self.salient + 63) // 64 * 64, False)

    def groups(self, k: int) -> int:
        return (k + self.group - 1) // self.group

    def bounds(self, k: int):
        return [(g * self.group, min(k, (g + 1) * self.group)) for g in range(self.groups(k))]


def parse_format(name: str) -> WeightFormat:
    match = re.fullmatch(r"([bt])([1-9])g([1-9]\d*)(a?)(?:s([1-9]\d*)(?:p([1-9]))?)?", name)
    if not match:
        raise NumericsError(f"unknown weight format {name!r}")
    kind = "binary" if match[1] == "b" else "ternary"
    planes, group, affine = int(match[2]), int(match[3]), match[4] == "a"
    salient = int(match[5]) if match[5] else 0
    salient_planes = int(match[6]) if match[6] else (DEFAULT_SALIENT_PLANES if salient else 0)
    if group < 64 or group % 64:
        raise NumericsError(f"{name}: group {group} is not a positive multiple of 64")
    if kind == "binary" and not 1 <= planes <= 3 or kind == "ternary" and (planes != 1 or affine or salient):
        raise NumericsError(f"{name}: not a defined format")
    if salient and (match[6] == str(DEFAULT_SALIENT_PLANES) or not 1 <= salient_planes <= 3 or salient > 65536):
        raise NumericsError(f"{name}: not a defined salient set")
    return WeightFormat(kind, planes, group, affine, salient, salient_planes)


@dataclass
class QuantizedMatrix:
    fmt: WeightFormat
    codes: np.ndarray     # int8 [P, N, K]
    scales: np.ndarray    # float32 [P, N, G], every value exact in float16
    offsets: np.ndarray   # float32 [N, G] (affine) or shape [0]

    def planes(self) -> np.ndarray:
        """uint64 [planes, N, S]: binary sign0.. (bit set for -1); ternary nonzero, negative."""
        if self.fmt.kind == "ternary":
            return np.stack([pack_bits(self.codes[0] != 0), pack_bits(self.codes[0] < 0)])
        return np.stack([pack_bits(c < 0) for c in self.codes])


def _mean(a: np.ndarray) -> np.ndarray:
    """Row means along the last axis: float64 running sum in index order, one float32 rounding."""
    values = np.asarray(a, dtype=F32).astype(F64)
    return (np.cumsum(values, axis=-1)[..., -1] / F64(values.shape[-1])).astype(F32)


def _fp16(x: np.ndarray, what: str) -> np.ndarray:
    with np.errstate(over="ignore"):
        half = np.asarray(x, dtype=F32).astype(F16)
    if not np.all(np.isfinite(half)):
        raise NumericsError(f"a {what} overflows float16")
    return half.astype(F32)


def round_to_nearest(w_nk: np.ndarray, fmt: WeightFormat) -> QuantizedMatrix:
    if fmt.salient:
        raise NumericsError(f"{fmt.name}: salient columns are chosen from calibration statistics "
                            "(xnortools/salient_formats.py rounds with given columns)")
    w = np.ascontiguousarray(w_nk, dtype=F32)
    if w.ndim != 2 or w.size == 0 or not np.all(np.isfinite(w)):
        raise NumericsError("weights must be a non-empty finite [N, K] matrix")
    n, k = w.shape
    groups = fmt.groups(k)
    codes = np.ones((fmt.planes, n, k), dtype=np.int8)
    scales = np.zeros((fmt.planes, n, groups), dtype=F32)
    offsets = np.zeros((n, groups) if fmt.affine else (0,), dtype=F32)
    for g, (start, end) in enumerate(fmt.bounds(k)):
        block = w[:, start:end]
        if fmt.kind == "ternary":
            gamma = _fp16(np.maximum(_mean(np.abs(block)), SCALE_FLOOR), "scale")
            scales[0, :, g] = gamma
            codes[0, :, start:end] = np.clip(np.rint(block / gamma[:, None]), -1, 1).astype(np.int8)
            continue
        r = block.copy()
        if fmt.affine:
            mu = _fp16(_mean(r), "offset")
            offsets[:, g] = mu
            r = (r - mu[:, None]).astype(F32)
        for p in range(fmt.planes):
            alpha = _fp16(_mean(np.abs(r)), "scale")
            scales[p, :, g] = alpha
            code = np.where(r < 0, -1, 1).astype(np.int8)     # -0.0 < 0 is False: +1
            codes[p, :, start:end] = code
            r = (r - alpha[:, None] * code.astype(F32)).astype(F32)
            assert r.dtype == F32
    return QuantizedMatrix(fmt, codes, scales, offsets)


def integer_parts(q: QuantizedMatrix, act: QuantizedActivations) -> np.ndarray:
    """I [M, N, P, G] as exact int64 dot products of codes; 0 for non-finite rows."""
    k = q.codes.shape[2]
    x = act.codes.astype(np.int64)
    out = np.zeros((x.shape[0], q.codes.shape[1], q.codes.shape[0], q.fmt.groups(k)), dtype=np.int64)
    for g, (start, end) in enumerate(q.fmt.bounds(k)):
        for p in range(q.codes.shape[0]):
            out[:, :, p, g] = x[:, start:end] @ q.codes[p, :, start:end].astype(np.int64).T
    out[~act.finite] = 0
    return out


def group_sums(q: QuantizedMatrix, act: QuantizedActivations) -> np.ndarray:
    """S [M, G] = sum of the activation codes of each group."""
    x = act.codes.astype(np.int64)
    return np.stack([x[:, s:e].sum(axis=1) for s, e in q.fmt.bounds(x.shape[1])], axis=1)


def popcount_integer_parts(q: QuantizedMatrix, act: QuantizedActivations) -> np.ndarray:
    """The same I by popcount over the planes, group by group (groups are whole words):
      binary a8:  I = S[g] - 2 sum_b c_b popcount(p_b AND sign_p)
      binary a1:  I = len(g) - 2 popcount(sign_p XOR s_x)
      ternary a8: I = sum_b c_b (popcount(p_b AND nz AND NOT neg) - popcount(p_b AND nz AND neg))"""
    k = q.codes.shape[2]
    planes, aplanes = q.planes(), act.planes()
    sums = group_sums(q, act)
    m, n = act.codes.shape[0], q.codes.shape[1]
    out = np.zeros((m, n, q.codes.shape[0], q.fmt.groups(k)), dtype=np.int64)
    for g, (start, end) in enumerate(q.fmt.bounds(k)):
        words = slice(start // 64, (end + 63) // 64)
        for i in range(m):
            a = aplanes[i][:, None, words]                   # [Pa, 1, W]
            if q.fmt.kind == "ternary":
                nz, neg = planes[0][:, words], planes[1][:, words]
                out[i, :, 0, g] = sum(c * (popcount(a[b] & nz & ~neg) - popcount(a[b] & nz & neg))
                                      for b, c in enumerate(PLANE_WEIGHTS))
                continue
            for p in range(q.codes.shape[0]):
                sign = planes[p][:, words]
                if act.mode == "a1":
                    out[i, :, p, g] = (end - start) - 2 * popcount(sign ^ a[0])
                else:
                    out[i, :, p, g] = sums[i, g] - 2 * sum(c * popcount(a[b] & sign) for b, c in enumerate(PLANE_WEIGHTS))
    out[~act.finite] = 0
    return out


def output(q: QuantizedMatrix, act: QuantizedActivations, ints: np.ndarray,
           alpha: float | None = None, bias: np.ndarray | None = None) -> np.ndarray:
    """Y [M, N] float32 in the evaluation order of the module docstring."""
    return finish(accumulate(q, act, ints), act, alpha, bias)


def finish(acc: np.ndarray, act: QuantizedActivations, alpha: float | None, bias: np.ndarray | None) -> np.ndarray:
    """t = acc / s (a8) or acc * beta (a1), then the output transform."""
    scale = act.scales.astype(F64)[:, None]
    with np.errstate(invalid="ignore"):
        t = acc * scale if act.mode == "a1" else acc / scale
    return finish_output(t, act.finite, alpha, bias)


def accumulate(q: QuantizedMatrix, act: QuantizedActivations, ints: np.ndarray) -> np.ndarray:
    """acc [M, N] float64 before the activation scale, in the evaluation order."""
    m, n = ints.shape[:2]
    sums = group_sums(q, act).astype(F64)
    acc = np.zeros((m, n), dtype=F64)
    for g in range(ints.shape[3]):
        for p in range(ints.shape[2]):
            acc = acc + q.scales[p, :, g].astype(F64)[None, :] * ints[:, :, p, g].astype(F64)
        if q.fmt.affine:
            acc = acc + q.offsets[:, g].astype(F64)[None, :] * sums[:, g][:, None]
    return acc
