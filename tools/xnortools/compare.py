"""How two arrays are compared: the one relative-error criterion of the project.

relative_error(actual, reference), the same definition as the Swift side's:
  - both arrays are read as float64 and flattened; a shape mismatch is +inf;
  - positions where both are NaN are skipped; a NaN on one side only is +inf; equal values
    (the same infinity too) differ by 0, and any other infinite difference is +inf;
  - d = max |actual - reference| and m = max |reference| over the other positions;
  - the error is d / m; when m == 0 (a reference of zeros) it is 0 if d is 0 and +inf
    otherwise: there is no magnitude to be relative to (BitPacking's
    SimulatedReference.relativeError says the same); 0 when there is nothing left to compare.
It is the max (L-infinity) norm, so one bad element is never averaged away.
"""
from __future__ import annotations

import math

import numpy as np


def relative_error(actual, reference) -> float:
    a = np.asarray(actual, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if a.shape != r.shape:
        return math.inf
    a, r = a.reshape(-1), r.reshape(-1)
    nan_a, nan_r = np.isnan(a), np.isnan(r)
    if np.any(nan_a != nan_r):
        return math.inf
    keep = ~nan_a
    a, r = a[keep], r[keep]
    if a.size == 0:
        return 0.0
    with np.errstate(invalid="ignore"):
        difference = float(np.max(np.where(a == r, 0.0, np.abs(a - r))))   # the same infinity: 0
    if math.isinf(difference):
        return math.inf
    magnitude = float(np.max(np.abs(r)))
    if magnitude > 0:
        return difference / magnitude
    return 0.0 if difference == 0 else math.inf


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The smallest cosine similarity between matching rows (last axis); 1 for zero rows."""
    a = a.reshape(-1, a.shape[-1]).astype(np.float64)
    b = b.reshape(-1, b.shape[-1]).astype(np.float64)
    num = (a * b).sum(axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    cos = np.where(den > 0, num / np.where(den > 0, den, 1), 1.0)
    return float(cos.min())


def log_softmax(x: np.ndarray) -> np.ndarray:
    """float64 log-softmax over the last axis."""
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))
