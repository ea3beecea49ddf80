"""The binary formats with salient columns of formats/XNORPopcountGemm.md ("Salient columns")
in numpy, written from that page: b{P}g{G}[a]s{S}[p{Q}].

S input columns (the same for every row, sorted, distinct) leave the base planes, which hold
the K - S other columns in increasing order as the grouped format b{P}g{G}[a] over K - S
inputs; the salient set holds Q residual sign planes over the S columns with one float16
scale per plane and row (a grouped format of one group over S inputs).

Round to nearest with given columns: each part by the grouped rule of weight_formats on its
own columns (the salient set as one group of S inputs).

Product: the activation row is quantized once over all K inputs (one s or beta) and its codes
gathered into the base columns and the salient columns.
  acc_base    = the grouped evaluation order over the base part
  acc_salient = 0.0; for q: acc_salient = acc_salient + f64(sigma[q, n]) * f64(J[q, n])
  acc = acc_base + acc_salient;  a8: t = acc / f64(s)   a1: t = acc * f64(beta)
then the output transform. Integer parts per output: the base's [P, G] then J[q] per salient plane.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xnortools import weight_formats as wf
from xnortools.numerics import NumericsError, QuantizedActivations


@dataclass
class SalientMatrix:
    fmt: wf.WeightFormat
    columns: np.ndarray        # int64 [S], increasing
    base: wf.QuantizedMatrix   # fmt.base over the K - S other columns
    salient: wf.QuantizedMatrix  # fmt.salient_set over the S columns; scales [Q, N, 1]

    @property
    def base_columns(self) -> np.ndarray:
        k = self.base.codes.shape[2] + len(self.columns)
        return np.setdiff1d(np.arange(k), self.columns)


def round_to_nearest(w_nk: np.ndarray, fmt: wf.WeightFormat, columns) -> SalientMatrix:
    w = np.ascontiguousarray(w_nk, dtype=np.float32)
    columns = np.asarray(columns, dtype=np.int64)
    k = w.shape[1]
    if len(columns) != fmt.salient or np.any(np.diff(columns) <= 0) or columns.min() < 0 or columns.max() >= k or fmt.salient >= k:
        raise NumericsError(f"{fmt.name}: salient columns must be {fmt.salient} sorted distinct indices below K = {k}")
    rest = np.setdiff1d(np.arange(k), columns)
    return SalientMatrix(fmt, columns, wf.round_to_nearest(w[:, rest], fmt.base),
                         wf.round_to_nearest(w[:, columns], fmt.salient_set))


def _gather(act: QuantizedActivations, columns: np.ndarray) -> QuantizedActivations:
    return QuantizedActivations(act.mode, np.ascontiguousarray(act.codes[:, columns]), act.scales, act.finite)


def integer_parts(sm: SalientMatrix, act: QuantizedActivations, popcount: bool = False) -> np.ndarray:
    """[M, N, P * G + Q] int64: dot products of codes, or popcounts over the gathered planes."""
    parts = wf.popcount_integer_parts if popcount else wf.integer_parts
    base = parts(sm.base, _gather(act, sm.base_columns))
    salient = parts(sm.salient, _gather(act, sm.columns))
    m, n = base.shape[:2]
    return np.concatenate([base.reshape(m, n, -1), salient.reshape(m, n, -1)], axis=2)


def output(sm: SalientMatrix, act: QuantizedActivations, ints: np.ndarray, alpha=None, bias=None) -> np.ndarray:
    m, n = ints.shape[:2]
    base_ints = ints[:, :, :-sm.fmt.salient_planes].reshape(m, n, sm.fmt.planes, -1)
    acc = wf.accumulate(sm.base, _gather(act, sm.base_columns), base_ints)
    acc_salient = np.zeros((m, n), dtype=np.float64)
    for q in range(sm.fmt.salient_planes):
        acc_salient = acc_salient + sm.salient.scales[q, :, 0].astype(np.float64)[None, :] * ints[:, :, -sm.fmt.salient_planes + q].astype(np.float64)
    return wf.finish(acc + acc_salient, act, alpha, bias)
