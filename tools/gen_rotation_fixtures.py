#!/usr/bin/env python3
"""Oracles for the rotation passes (issue 14), written to fixtures/rotation/.

- q8_0_values.npy float32 [8, 64] and q8_0_blocks.npy uint8 [16, 34]: gguf-py's
  `gguf.quants.quantize(values, Q8_0)` (bit-exact with ggml's quantize_row_q8_0_ref) on random
  values plus edge rows (an all-zero block, exact halves of the step, a negative extreme, tiny
  values), the oracle of Sources/Tensors/Quantize/Q8_0Encoder.swift.
- hadamard_<n>_x.npy float32 [3, n] and hadamard_<n>_y.npy float64 [3, n]: y = x · Hᵀ / √n with
  H = H_m ⊗ H_{2^k} built here with numpy from the definitions of formats/llm-graph.md
  (Sylvester by doubling, Paley I / II from Legendre symbols), independently of the Swift
  code, for the orders the models need (576 = 36 · 16, 1536 = 12 · 128) and a few more.

Deterministic (fixed seed).  .venv/bin/python tools/gen_rotation_fixtures.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, quants

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "rotation"


def legendre(a: int, q: int) -> int:
    a %= q
    if a == 0:
        return 0
    return 1 if pow(a, (q - 1) // 2, q) == 1 else -1


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n ** 0.5) + 1))


def paley1(q: int) -> np.ndarray:
    Q = np.array([[legendre(j - i, q) for j in range(q)] for i in range(q)])
    S = np.zeros((q + 1, q + 1), dtype=np.int64)
    S[0, 1:] = 1
    S[1:, 0] = -1
    S[1:, 1:] = Q
    return np.eye(q + 1, dtype=np.int64) + S


def paley2(q: int) -> np.ndarray:
    Q = np.array([[legendre(j - i, q) for j in range(q)] for i in range(q)])
    C = np.zeros((q + 1, q + 1), dtype=np.int64)
    C[0, 1:] = 1
    C[1:, 0] = 1
    C[1:, 1:] = Q
    return np.kron(C, np.array([[1, 1], [1, -1]])) + np.kron(np.eye(q + 1, dtype=np.int64), np.array([[1, -1], [-1, -1]]))


def sylvester(p: int) -> np.ndarray:
    h = np.array([[1]], dtype=np.int64)
    while h.shape[0] < p:
        h = np.block([[h, h], [h, -h]])
    return h


def base(m: int) -> np.ndarray | None:
    if m >= 4 and is_prime(m - 1) and (m - 1) % 4 == 3:
        return paley1(m - 1)
    if m % 2 == 0 and m >= 12 and is_prime(m // 2 - 1) and (m // 2 - 1) % 4 == 1:
        return paley2(m // 2 - 1)
    return None


def hadamard(n: int) -> np.ndarray:
    twos = (n & -n).bit_length() - 1
    if n >> twos == 1:
        return sylvester(n)
    for k in range(twos - 2, -1, -1):
        b = base(n >> k)
        if b is not None:
            return np.kron(b, sylvester(1 << k))
    raise ValueError(n)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(14)
    values = rng.standard_normal((8, 64)).astype(np.float32) * np.float32(0.05)
    values[1, :32] = 0                                   # an all-zero block: d = 0, codes 0
    values[2, :32] = np.arange(32, dtype=np.float32) - 15.5
    values[2, 0] = 127.0                                  # d = 1: the others land on halves
    values[3, 32:] *= -1000                               # large magnitudes
    values[4, :32] = np.float32(1e-30)                    # d underflows fp16
    values[5, 32] = -values[5, 32:].__abs__().max() * 2   # a negative extreme sets amax
    blocks = quants.quantize(values, GGMLQuantizationType.Q8_0)
    np.save(OUT / "q8_0_values.npy", values)
    np.save(OUT / "q8_0_blocks.npy", blocks.reshape(-1, 34))
    for n in [12, 20, 28, 36, 64, 576, 1536]:
        h = hadamard(n).astype(np.float64)
        assert np.array_equal(h @ h.T, n * np.eye(n)), n
        x = rng.standard_normal((3, n)).astype(np.float32)
        y = x.astype(np.float64) @ h.T / np.sqrt(n)
        np.save(OUT / f"hadamard_{n}_x.npy", x)
        np.save(OUT / f"hadamard_{n}_y.npy", y)


if __name__ == "__main__":
    main()
