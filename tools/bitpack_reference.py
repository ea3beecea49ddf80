#!/usr/bin/env python3
"""Deterministic cases of DESIGN.md "Numerics" (bit layout, weight and activation modes,
the three popcount products, the output transform), computed by xnortools/numerics.py, which
is written from the formulas and formats/XNORPopcountGemm.md, not from the Swift code.

It writes deterministic cases into fixtures/bitpacking/ that the Swift tests
(Tests/BitPackingTests) compare with: planes and integer parts bit for bit, outputs to
float32 rounding.

    .venv/bin/python tools/bitpack_reference.py            # (re)write fixtures/bitpacking
    .venv/bin/python tools/bitpack_reference.py --check    # regenerate in memory, compare

Per case, fixtures/bitpacking/<name>/ holds:
    W.npy              float32 [N, K]     weights (Hugging Face Linear layout)
    x.npy              float32 [M, K]     activation rows
    weight_planes.npy  uint64 [P, N, S]   w1: [sign]; w1.58: [nonzero, negative]; S = row stride in words
    weight_codes.npy   int8 [N, K]        w1: +-1; w1.58: -1/0/+1
    weight_scales.npy  float32 [N] | [1]  alpha per row (w1) or gamma (w1.58)
    act_planes.npy     uint64 [M, Pa, S]  a1: [sign]; a8: p_0..p_7
    act_codes.npy      int8 [M, K]        a1: +-1; a8: int8 codes
    act_scales.npy     float32 [M]        beta (a1) or s (a8); NaN for a non-finite row
    int.npy            int64 [M, N]       the integer parts (0 for a non-finite row)
    y.npy              float32 [M, N]     outputs after the output transform
    out_scale.npy      float32 [1]        (optional) output scale (the op's alpha)
    bias.npy           float32 [N]        (optional) per-column bias
and cases.json lists the cases with their mode and shapes.

The grouped weight formats (xnortools/weight_formats.py) have their own cases, listed in
grouped_cases.json with the activation mode ("mode": w1a1 or w1a8 gives a1 or a8) and
"weight_format"; their folders hold W.npy, x.npy, act_*.npy, y.npy as above and
    weight_planes.npy  uint64 [P', N, S]   binary: sign0..; ternary: [nonzero, negative]
    weight_codes.npy   int8 [P, N, K]      round-to-nearest codes per plane
    weight_scales.npy  float32 [P, N, G]   float16-exact scales
    weight_offsets.npy float32 [N, G]      (affine only) float16-exact offsets
    int.npy            int64 [M, N, P, G]  the integer parts per plane and group
and, for the formats with salient columns (xnortools/salient_formats.py; weight_* are then
the base part over the K - S other columns, int.npy [M, N, P * G + Q]):
    salient_columns.npy int32 [S]          the salient columns, increasing
    salient_planes.npy  uint64 [Q, N, S']  the salient set's sign planes
    salient_codes.npy   int8 [Q, N, S]     its round-to-nearest codes
    salient_scales.npy  float32 [Q, N]     its float16-exact scales
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

import numpy as np

from xnortools import numerics, paths, salient_formats, weight_formats
from xnortools.arrays import save_npy
from xnortools.numerics import F32, SCALE_FLOOR, row_stride_words


def run_case(mode, w, x, out_scale=None, bias=None):
    wmode, amode = numerics.split_mode(mode)
    weights = numerics.quantize_weights(w, wmode)
    activations = numerics.quantize_activations(x, amode)
    ints = numerics.popcount_integer_parts(weights, activations)
    # An independent check of the popcount formulas: the plain integer dot products.
    direct = numerics.integer_parts(weights, activations)
    assert np.array_equal(ints, direct), (mode, ints, direct)
    y = numerics.output_transform(weights, activations, ints, out_scale, bias)
    arrays = {
        "W": w, "x": x,
        "weight_planes": np.stack(weights.planes()), "weight_codes": weights.codes, "weight_scales": weights.scales,
        "act_planes": activations.planes(), "act_codes": activations.codes, "act_scales": activations.scales,
        "int": ints, "y": y,
    }
    if out_scale is not None:
        arrays["out_scale"] = np.array([out_scale], dtype=F32)
    if bias is not None:
        arrays["bias"] = bias
    return arrays, weights.codes_as_given


def build_cases():
    rng = np.random.default_rng(20240603)

    def normal(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(F32)

    def sprinkle_zeros(a, count):
        flat = a.reshape(-1)
        picks = rng.choice(flat.size, size=min(count, flat.size), replace=False)
        flat[picks[: len(picks) // 2]] = F32(0.0)
        flat[picks[len(picks) // 2:]] = F32(-0.0)
        return a

    cases = []

    def add(name, mode, w, x, out_scale=None, bias=None):
        cases.append((name, mode, np.ascontiguousarray(w, dtype=F32), np.ascontiguousarray(x, dtype=F32),
                      None if out_scale is None else F32(out_scale),
                      None if bias is None else np.asarray(bias, dtype=F32)))

    modes = ["w1a1", "w1a8", "w1.58a8"]
    # Random shapes around the word and 512-bit row boundaries.
    for mode in modes:
        tag = mode.replace(".", "")
        for (n, k, m) in [(3, 1, 2), (4, 63, 3), (2, 64, 1), (2, 65, 2), (5, 100, 2), (2, 512, 2), (4, 513, 2), (2, 1100, 2)]:
            w = sprinkle_zeros(normal(n, k, scale=0.05), k // 10)
            x = sprinkle_zeros(normal(m, k, scale=2.0), k // 10)
            add(f"{tag}_n{n}_k{k}_m{m}", mode, w, x)
        # The output transform: a scale, a bias, both.
        add(f"{tag}_scale", mode, normal(4, 100), normal(2, 100), out_scale=0.75)
        add(f"{tag}_bias", mode, normal(4, 77), normal(3, 77), bias=normal(4))
        add(f"{tag}_scale_bias", mode, normal(5, 130, scale=0.02), normal(2, 130), out_scale=-1.3, bias=normal(5))

    # Constant rows, all-zero and negative-zero rows, in W and in x.
    k = 70
    w_const = np.stack([np.full(k, 0.5), np.full(k, -2.0), np.zeros(k), np.full(k, -0.0), np.linspace(-1, 1, k)]).astype(F32)
    x_const = np.stack([np.full(k, 3.0), np.zeros(k), np.full(k, -0.0), np.full(k, -1e-3), np.linspace(1, -1, k)]).astype(F32)
    for mode in modes:
        add(f"{mode.replace('.', '')}_constant_rows", mode, w_const, x_const)

    # All-zero W: alpha 0; w1.58 falls back to gamma = 1e-5 with all codes 0.
    for mode in modes:
        add(f"{mode.replace('.', '')}_zero_weights", mode, np.zeros((3, 90), dtype=F32), normal(2, 90))

    # Activation edge rows: max |x| below the 1e-5 floor, huge values, subnormals, and exact
    # ties of x*s at .5 (s = 1 when max |x| = 127).
    ties = np.array([127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, -127, 3.5, -3.5, 0], dtype=F32)
    kx = ties.size
    x_edge = np.stack([
        ties,
        np.full(kx, 3e-6) * np.where(np.arange(kx) % 2 == 0, 1, -1),
        np.linspace(-1e30, 1e30, kx),
        np.full(kx, 1e-40) * np.where(np.arange(kx) % 3 == 0, -1, 1),
    ]).astype(F32)
    for mode in modes:
        add(f"{mode.replace('.', '')}_activation_edges", mode, normal(3, kx), x_edge)

    # A non-finite activation row gives NaN outputs for that row only.
    x_nonfinite = normal(3, 40)
    x_nonfinite[0, 5] = np.inf
    x_nonfinite[2, 39] = np.nan
    for mode in modes:
        add(f"{mode.replace('.', '')}_nonfinite_row", mode, normal(2, 40), x_nonfinite)

    # w1.58: already ternary weights are taken as they are (gamma = c); near misses are not.
    c = F32(0.25)
    codes = rng.integers(-1, 2, size=(4, 150)).astype(F32)
    ternary = codes * c
    ternary[0, :3] = [F32(-0.0), c, -c]
    add("w158a8_ternary", "w1.58a8", ternary, normal(2, 150))
    add("w158a8_ternary_no_zero", "w1.58a8", np.where(codes == 0, c, codes * c).astype(F32), normal(2, 150))
    add("w158a8_ternary_positive_only", "w1.58a8", np.where(codes < 0, 0, codes * c).astype(F32), normal(2, 150))
    near = ternary.copy()
    near[3, 149] = np.nextafter(c, F32(1))
    add("w158a8_almost_ternary", "w1.58a8", near, normal(2, 150))
    add("w158a8_one_weight", "w1.58a8", np.array([[-0.3]], dtype=F32), np.array([[2.0], [-1.0]], dtype=F32))
    # w1.58 ties: mean |W| = 1 exactly, so W / gamma = +-0.5, +-1.5, 2.5 are exact halves.
    w_ties = np.array([[0.5, 1.5, -0.5, -1.5, 2.5, 0, 0.5, -1.0],
                       [-1.0, 0.5, 2.5, 0, -0.5, 1.5, -1.5, 0.5]], dtype=F32)
    add("w158a8_ties", "w1.58a8", w_ties, normal(3, 8))
    # Larger matrices with M > 1 and N > 1 in every mode.
    for mode in modes:
        add(f"{mode.replace('.', '')}_n8_k300_m3", mode, normal(8, 300, scale=0.1), normal(3, 300))
    return cases


def run_salient_case(mode, fmt, w, x, columns, out_scale=None, bias=None):
    _, amode = numerics.split_mode(mode)
    sm = salient_formats.round_to_nearest(w, fmt, columns)
    activations = numerics.quantize_activations(x, amode)
    ints = salient_formats.integer_parts(sm, activations, popcount=True)
    assert np.array_equal(ints, salient_formats.integer_parts(sm, activations)), (fmt.name, mode)
    arrays = {
        "W": w, "x": x, "salient_columns": sm.columns.astype(np.int32),
        "weight_planes": sm.base.planes(), "weight_codes": sm.base.codes, "weight_scales": sm.base.scales,
        "salient_planes": sm.salient.planes(), "salient_codes": sm.salient.codes, "salient_scales": sm.salient.scales[:, :, 0],
        "act_planes": activations.planes(), "act_codes": activations.codes, "act_scales": activations.scales,
        "int": ints, "y": salient_formats.output(sm, activations, ints, out_scale, bias),
    }
    if fmt.affine:
        arrays["weight_offsets"] = sm.base.offsets
    return arrays


def run_grouped_case(mode, fmt_name, w, x, out_scale=None, bias=None, columns=None):
    _, amode = numerics.split_mode(mode)
    fmt = weight_formats.parse_format(fmt_name)
    if fmt.salient:
        arrays = run_salient_case(mode, fmt, w, x, columns, out_scale, bias)
        if out_scale is not None:
            arrays["out_scale"] = np.array([out_scale], dtype=F32)
        if bias is not None:
            arrays["bias"] = bias
        return arrays
    q = weight_formats.round_to_nearest(w, fmt)
    activations = numerics.quantize_activations(x, amode)
    ints = weight_formats.popcount_integer_parts(q, activations)
    direct = weight_formats.integer_parts(q, activations)
    assert np.array_equal(ints, direct), (fmt_name, mode)
    arrays = {
        "W": w, "x": x,
        "weight_planes": q.planes(), "weight_codes": q.codes, "weight_scales": q.scales,
        "act_planes": activations.planes(), "act_codes": activations.codes, "act_scales": activations.scales,
        "int": ints, "y": weight_formats.output(q, activations, ints, out_scale, bias),
    }
    if q.fmt.affine:
        arrays["weight_offsets"] = q.offsets
    if out_scale is not None:
        arrays["out_scale"] = np.array([out_scale], dtype=F32)
    if bias is not None:
        arrays["bias"] = bias
    return arrays


def build_grouped_cases():
    """Small cases of every grouped format, K never a multiple of the group (a short last
    group) nor of 64, both activation modes where defined, a non-finite activation row."""
    rng = np.random.default_rng(20261206)

    def normal(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(F32)

    cases = []
    for fmt, modes, n, k in [("b1g64", ["w1a8", "w1a1"], 5, 200), ("b2g128", ["w1a8", "w1a1"], 6, 300),
                             ("b3g192", ["w1a8", "w1a1"], 3, 450), ("b2g128a", ["w1a8", "w1a1"], 4, 333),
                             ("t1g128", ["w1a8"], 5, 261)]:
        for mode in modes:
            w = normal(n, k, scale=0.05) + normal(n, 1, scale=0.02)    # a row offset, for the affine format
            w[0, :7] = 0.0
            x = normal(3, k, scale=2.0)
            x[1, 3] = np.nan
            cases.append((f"{fmt}_{mode[-2:]}_n{n}_k{k}_m3", mode, fmt, w, x, None, None))
        cases.append((f"{fmt}_a8_scale_bias", "w1a8", fmt, normal(3, k, scale=0.1), normal(2, k), F32(-0.5), normal(3)))
        # One activation row, and 64 rows (a batch, a8 only to keep the fixtures small), on a
        # short K: 130 = 64 + 64 + 2.
        for mode in modes:
            for m in (1, 64) if mode == "w1a8" else (1,):
                cases.append((f"{fmt}_{mode[-2:]}_n3_k130_m{m}", mode, fmt, normal(3, 130, scale=0.05), normal(m, 130), None, None))
    # Salient columns (xnortools/salient_formats.py): the columns given, sorted; the salient
    # weights made larger, as the calibrated choice finds them.
    for fmt, modes, n, k, s in [("b1g64s16", ["w1a8", "w1a1"], 5, 200, 16), ("b2g128s5p2", ["w1a8", "w1a1"], 6, 300, 5),
                                ("b1g64as70p1", ["w1a8"], 4, 333, 70)]:
        for mode in modes:
            columns = np.sort(rng.choice(k, size=s, replace=False))
            w = normal(n, k, scale=0.05) + normal(n, 1, scale=0.02)
            w[:, columns] *= 8
            x = normal(3, k, scale=2.0)
            x[1, 3] = np.nan
            cases.append((f"{fmt}_{mode[-2:]}_n{n}_k{k}_m3", mode, fmt, w, x, None, None, columns))
        columns = np.sort(rng.choice(130, size=s, replace=False))
        cases.append((f"{fmt}_a8_scale_bias", "w1a8", fmt, normal(3, 130, scale=0.1), normal(2, 130), F32(-0.5), normal(3), columns))
        for m in (1, 64):
            cases.append((f"{fmt}_a8_n3_k130_m{m}", "w1a8", fmt, normal(3, 130, scale=0.05), normal(m, 130), None, None, columns))
    return cases


def generate_grouped(out_dir):
    manifest = []
    for name, mode, fmt, w, x, out_scale, bias, *columns in build_grouped_cases():
        arrays = run_grouped_case(mode, fmt, w, x, out_scale, bias, *columns)
        folder = os.path.join(out_dir, name)
        os.makedirs(folder, exist_ok=True)
        for key, value in arrays.items():
            save_npy(os.path.join(folder, key + ".npy"), value)
        manifest.append({
            "name": name, "mode": mode, "weight_format": fmt,
            "n": int(w.shape[0]), "k": int(w.shape[1]), "m": int(x.shape[0]),
            "row_stride_words": row_stride_words(w.shape[1]),
            "out_scale": out_scale is not None, "bias": bias is not None,
        })
    with open(os.path.join(out_dir, "grouped_cases.json"), "w") as f:
        json.dump({"cases": manifest}, f, indent=1)
        f.write("\n")


def generate(out_dir):
    manifest = []
    for name, mode, w, x, out_scale, bias in build_cases():
        arrays, exact = run_case(mode, w, x, out_scale, bias)
        folder = os.path.join(out_dir, name)
        os.makedirs(folder, exist_ok=True)
        for key, value in arrays.items():
            save_npy(os.path.join(folder, key + ".npy"), value)
        manifest.append({
            "name": name, "mode": mode,
            "n": int(w.shape[0]), "k": int(w.shape[1]), "m": int(x.shape[0]),
            "row_stride_words": row_stride_words(w.shape[1]),
            "took_ternary_codes_as_given": bool(exact),
            "out_scale": out_scale is not None, "bias": bias is not None,
        })
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        json.dump({"scale_floor_bits": int(SCALE_FLOOR.view(np.uint32)), "cases": manifest}, f, indent=1)
        f.write("\n")
    generate_grouped(out_dir)


def tree(folder):
    found = {}
    for root, _, files in os.walk(folder):
        for file in files:
            path = os.path.join(root, file)
            with open(path, "rb") as f:
                found[os.path.relpath(path, folder)] = f.read()
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(paths.FIXTURES / "bitpacking"))
    parser.add_argument("--check", action="store_true", help="compare a fresh generation with --out instead of writing")
    args = parser.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as scratch:
            generate(scratch)
            fresh, stored = tree(scratch), tree(args.out)
        if fresh != stored:
            differing = sorted(set(fresh) ^ set(stored) | {p for p in set(fresh) & set(stored) if fresh[p] != stored[p]})
            print(f"fixtures/bitpacking differs from a fresh generation: {differing[:10]}", file=sys.stderr)
            return 1
        print(f"fixtures/bitpacking matches ({len(fresh)} files)")
        return 0
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    generate(args.out)
    size = sum(len(b) for b in tree(args.out).values())
    print(f"wrote {args.out} ({size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
