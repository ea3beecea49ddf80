#!/usr/bin/env python3
"""Numpy reference of the calibration quantizers (Sources/Calibration/Quantizers): round to
nearest with alternating-least-squares scales (ARB-LLM), the output-metric scale refinement,
and GPTQ/OBQ error compensation as BiLLM and ARB-LLM apply it to binarization. Written from
the papers' formulas in float64 with the simplest loops (eager column updates, an explicit
inverse), not from the Swift code, which is float32, blocked and lazy.

    .venv/bin/python tools/binarize_reference.py            # (re)write fixtures/quantizers
    .venv/bin/python tools/binarize_reference.py --check    # regenerate in memory, compare

The rules that both implementations share (they decide ties and stopping):
- every scale and offset is fp16-exact: float32(float16(clip(x, ±65504)));
- a binary group's levels are enumerated by the combination c in 0..<2^P, plane p's sign is
  −1 when bit p of c is set; level = μ + Σ_p α_p·s_p summed in plane order; a ternary group's
  levels are [0, +γ, −γ] (c = 0, 1, 2); an element takes the first nearest level;
- greedy start: μ = mean(w) (affine), then per plane b = sign(r) (0 → +1), α = mean|r|,
  r −= α·b; ternary: γ = mean|w| (absmean) and the nearest level;
- alternating rounds (at most MAX_ROUNDS): scales (and μ) by least squares with the codes
  fixed, then the nearest levels; a round is kept only if the squared error falls strictly;
- small systems are solved by Cholesky; a pivot ≤ 1e-10 × its diagonal entry is singular: that
  variable keeps its value and leaves the system, and the rest is solved again;
- H is damped: dead columns (diag 0) get diag 1, then λ = damp · mean(diag), H + λI;
- GPTQ: natural order fits a group's scales when its first column comes, from the current
  (compensated) weights; act-order (descending diag of the undamped H, stable) fits every
  group first from the original weights (static groups), since groups stay contiguous in the
  original column order. Then the output-metric refinement with the codes fixed. A second
  pass sweeps again from the original weights with those refined scales held fixed.

Fixture layout, fixtures/quantizers/<matrix>/: W.f32 [N, K] and H.f32 [K, K] (raw
little-endian float32; H is used as float64 of those values), and fixtures/quantizers/cases.json.
Per case: codes as one digit (the level index c) per element, row-major; scales [P, N, G];
offsets [N, G]; the errors; and per row the first column whose decision margin is below
NEAR_TIE of the level spread (K when none), where float32 and float64 may legitimately part.
"""

import argparse
import json
import os
import sys

import numpy as np

MAX_ROUNDS = 12
SINGULAR = 1e-10
DAMP = 0.01
NEAR_TIE = 1e-4
FP16_MAX = 65504.0

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(os.path.dirname(HERE), "fixtures", "quantizers")


# ---------------------------------------------------------------- formats

def parse_format(name):
    """b{P}g{G}[a] or t1g{G} -> (kind, planes, group, affine)."""
    kind = "binary" if name[0] == "b" else "ternary"
    planes = int(name[1:name.index("g")])
    affine = name.endswith("a")
    group = int(name[name.index("g") + 1:len(name) - (1 if affine else 0)])
    return kind, planes, group, affine


def groups_of(k, g):
    return [(s, min(s + g, k)) for s in range(0, k, g)]


def round16(x):
    return np.float16(np.clip(x, -FP16_MAX, FP16_MAX)).astype(np.float32).astype(np.float64)


def sign_table(planes):
    c = np.arange(1 << planes)
    return np.where(((c[:, None] >> np.arange(planes)[None, :]) & 1) == 1, -1.0, 1.0)  # [2^P, P]


def code_table(kind, planes):
    """Code values per level index: [levels, P]."""
    if kind == "ternary":
        return np.array([[0.0], [1.0], [-1.0]])
    return sign_table(planes)


def levels(table, scales, mu):
    lv = np.full(table.shape[0], mu, dtype=np.float64)
    for p in range(table.shape[1]):
        lv = lv + scales[p] * table[:, p]
    return lv


def nearest(w, lv):
    d = np.abs(w[:, None] - lv[None, :])
    return np.argmin(d, axis=1)


def margin(w, lv):
    """Decision margin of each element relative to the spread of the levels."""
    lv = np.unique(lv)  # equal levels are an exact tie that both sides break alike
    if len(lv) < 2:
        return np.full(len(w), np.inf)
    d = np.sort(np.abs(w[:, None] - lv[None, :]), axis=1)
    spread = lv.max() - lv.min()
    return (d[:, 1] - d[:, 0]) / spread


# ---------------------------------------------------------------- small solves

def chol_factor(m):
    """Lower Cholesky factor, or the index of the first singular pivot."""
    n = m.shape[0]
    low = np.zeros((n, n))
    for j in range(n):
        d = m[j, j] - np.dot(low[j, :j], low[j, :j])
        if not m[j, j] > 0 or d <= SINGULAR * m[j, j]:
            return None, j
        low[j, j] = np.sqrt(d)
        for i in range(j + 1, n):
            low[i, j] = (m[i, j] - np.dot(low[i, :j], low[j, :j])) / low[j, j]
    return low, None


def chol_solve(m, r, current):
    """Least squares m·x = r of one small PSD system. A variable whose pivot is singular (a
    plane equal to another, or to the offset, in a short group) keeps its current value and
    leaves the system; the others are solved given it. None when nothing is left."""
    free = list(range(m.shape[0]))
    x = np.array(current, dtype=np.float64)
    while free:
        sub = m[np.ix_(free, free)]
        fixed = [i for i in range(m.shape[0]) if i not in free]
        rhs = r[free] - (m[np.ix_(free, fixed)] @ x[fixed] if fixed else 0.0)
        low, bad = chol_factor(sub)
        if low is None:
            del free[bad]
            continue
        n = len(free)
        y = np.zeros(n)
        for i in range(n):
            y[i] = (rhs[i] - np.dot(low[i, :i], y[:i])) / low[i, i]
        z = np.zeros(n)
        for i in reversed(range(n)):
            z[i] = (y[i] - np.dot(low[i + 1:, i], z[i + 1:])) / low[i, i]
        x[free] = z
        return x
    return None


# ---------------------------------------------------------------- one group (weight metric)

def fit_group(w, kind, planes, affine, refine=True):
    """-> (scales [P], mu, codes [L] level indices, squared error)."""
    w = np.asarray(w, dtype=np.float64)
    table = code_table(kind, planes)
    if kind == "ternary":
        mu = 0.0
        scales = [round16(np.mean(np.abs(w)))]
        idx = nearest(w, levels(table, scales, mu))
    else:
        mu = round16(np.mean(w)) if affine else 0.0
        r = w - mu
        scales = []
        idx = np.zeros(len(w), dtype=np.int64)
        for p in range(planes):
            neg = r < 0
            a = round16(np.mean(np.abs(r)))
            scales.append(a)
            idx |= neg.astype(np.int64) << p
            r = r - a * np.where(neg, -1.0, 1.0)
    scales = np.array(scales, dtype=np.float64)
    err = np.sum((w - levels(table, scales, mu)[idx]) ** 2)
    if not refine:
        return scales, mu, idx, err
    for _ in range(MAX_ROUNDS):
        cols = [table[idx, p] for p in range(table.shape[1])]
        if affine:
            cols.append(np.ones(len(w)))
        c = np.stack(cols, axis=1)
        sol = chol_solve(c.T @ c, c.T @ w, list(scales) + ([mu] if affine else []))
        if sol is None:
            break
        new_scales = round16(sol[:table.shape[1]])
        new_mu = round16(sol[-1]) if affine else 0.0
        lv = levels(table, new_scales, new_mu)
        new_idx = nearest(w, lv)
        new_err = np.sum((w - lv[new_idx]) ** 2)
        if not new_err < err:
            break
        scales, mu, idx, err = new_scales, new_mu, new_idx, new_err
    return scales, mu, idx, err


# ---------------------------------------------------------------- matrices

class Quantized:
    def __init__(self, kind, planes, group, affine, n, k):
        self.kind, self.planes, self.group, self.affine = kind, planes, group, affine
        self.groups = groups_of(k, group)
        ng = len(self.groups)
        self.scales = np.zeros((planes, n, ng))
        self.offsets = np.zeros((n, ng))
        self.idx = np.zeros((n, k), dtype=np.int64)
        self.table = code_table(kind, planes)

    def level_table(self, row, g):
        return levels(self.table, self.scales[:, row, g], self.offsets[row, g])

    def dequantize(self):
        n, k = self.idx.shape
        out = np.zeros((n, k))
        for g, (s, e) in enumerate(self.groups):
            for row in range(n):
                out[row, s:e] = self.level_table(row, g)[self.idx[row, s:e]]
        return out


def rtn(w, fmt, refine=True):
    kind, planes, group, affine = parse_format(fmt)
    n, k = w.shape
    q = Quantized(kind, planes, group, affine, n, k)
    for g, (s, e) in enumerate(q.groups):
        for row in range(n):
            sc, mu, idx, _ = fit_group(w[row, s:e], kind, planes, affine, refine)
            q.scales[:, row, g] = sc
            q.offsets[row, g] = mu
            q.idx[row, s:e] = idx
    return q


def damped(h, damp=DAMP):
    h = np.array(h, dtype=np.float64)
    dead = np.diag(h) == 0
    h[dead, dead] = 1.0
    h += damp * np.mean(np.diag(h)) * np.eye(h.shape[0])
    return h


def refine_output(w, q, hd):
    """Scales (and offsets) per row minimizing (w − ŵ) Hd (w − ŵ)ᵀ with the codes fixed;
    a row keeps its scales when its system is singular or the rounded solution is no better."""
    n, k = w.shape
    per = q.table.shape[1] + (1 if q.affine else 0)
    m = len(q.groups) * per
    for row in range(n):
        a = np.zeros((k, m))
        theta = np.zeros(m)
        for g, (s, e) in enumerate(q.groups):
            for p in range(q.table.shape[1]):
                a[s:e, g * per + p] = q.table[q.idx[row, s:e], p]
                theta[g * per + p] = q.scales[p, row, g]
            if q.affine:
                a[s:e, g * per + per - 1] = 1.0
                theta[g * per + per - 1] = q.offsets[row, g]
        ha = hd @ a
        mm = a.T @ ha
        rr = ha.T @ w[row].astype(np.float64)
        sol = chol_solve(mm, rr, theta)
        if sol is None:
            continue
        sol = round16(sol)

        def f(t):
            return t @ mm @ t - 2 * t @ rr
        if not f(sol) < f(theta):
            continue
        for g in range(len(q.groups)):
            for p in range(q.table.shape[1]):
                q.scales[p, row, g] = sol[g * per + p]
            if q.affine:
                q.offsets[row, g] = sol[g * per + per - 1]
    return q


def rtn_output(w, fmt, h, damp=DAMP):
    return refine_output(w, rtn(w, fmt), damped(h, damp))


def gptq(w, fmt, h, damp=DAMP, act_order=False, margins=None, passes=1):
    """passes > 1: each later sweep starts again from w with the refined scales held fixed.
    margins: per element, the smallest decision margin over the passes; a row that met a
    near tie in an earlier pass gets margin 0 at its first column (its scales may differ)."""
    kind, planes, group, affine = parse_format(fmt)
    n, k = w.shape
    hd = damped(h, damp)
    perm = np.argsort(-np.diag(h), kind="stable") if act_order else np.arange(k)
    hp = hd[perm][:, perm]
    u = np.linalg.cholesky(np.linalg.inv(hp)).T  # upper: H⁻¹ = UᵀU
    q = rtn(w, fmt) if act_order else Quantized(kind, planes, group, affine, n, k)
    for sweep in range(passes):
        static = act_order or sweep > 0
        if margins is not None and sweep > 0:
            earlier = np.any(margins < NEAR_TIE, axis=1)
            margins[earlier, 0] = 0.0
        wp = w.astype(np.float64)[:, perm].copy()
        for i in range(k):
            j = perm[i]
            g = j // group
            if not static and j == q.groups[g][0]:
                s, e = q.groups[g]
                for row in range(n):
                    sc, mu, _, _ = fit_group(wp[row, s:e], kind, planes, affine)
                    q.scales[:, row, g] = sc
                    q.offsets[row, g] = mu
            col = wp[:, i]
            qv = np.zeros(n)
            for row in range(n):
                lv = q.level_table(row, g)
                c = nearest(col[row:row + 1], lv)[0]
                q.idx[row, j] = c
                qv[row] = lv[c]
                if margins is not None:
                    margins[row, j] = min(margins[row, j], margin(col[row:row + 1], lv)[0])
            err = (col - qv) / u[i, i]
            wp[:, i + 1:] -= np.outer(err, u[i, i + 1:])
        q = refine_output(w, q, hd)
    return q


def errors(w, q, h):
    w = w.astype(np.float64)
    dw = w - q.dequantize()
    weight = np.sum(dw * dw) / np.sum(w * w)
    if h is None:
        return weight, None
    num = np.sum((dw @ h) * dw)
    den = np.sum((w @ h) * w)
    return weight, (num / den if den > 0 else 0.0)


# ---------------------------------------------------------------- fixtures

def correlated_inputs(rng, rows, k, outliers, dead):
    """Inputs with neighbouring channels correlated (AR(1), ρ = 0.8), a few outlier channels
    (×12, as trained models have) and dead channels (always 0)."""
    z = rng.standard_normal((rows, k))
    x = np.zeros_like(z)
    x[:, 0] = z[:, 0]
    for j in range(1, k):
        x[:, j] = 0.8 * x[:, j - 1] + 0.6 * z[:, j]
    x[:, outliers] *= 12.0
    x[:, dead] = 0.0
    return x


MATRICES = [
    # name, N, K, rows of X, outlier channels, dead channels, formats, methods
    ("a_n8_k130", 8, 130, 256, [3, 77, 120], [9], ["b1g64", "b2g128", "b3g64a", "t1g64"],
     ["rtn", "rtn_output", "gptq", "gptq_act", "gptq_act2"]),
    ("b_n9_k100", 9, 100, 200, [50], [], ["b3g64", "b2g64a"], ["rtn", "gptq"]),
    ("c_n5_k70", 5, 70, 120, [0, 69], [35], ["b1g64", "b3g64", "t1g64"], ["rtn", "gptq", "gptq_act"]),
]


def run_case(w, h, fmt, method):
    n, k = w.shape
    marg = np.full((n, k), np.inf)
    if method == "rtn":
        q = rtn(w, fmt)
    elif method == "rtn_output":
        q = rtn_output(w, fmt, h)
    elif method == "gptq":
        q = gptq(w, fmt, h, margins=marg)
    elif method == "gptq_act":
        q = gptq(w, fmt, h, act_order=True, margins=marg)
    else:
        q = gptq(w, fmt, h, act_order=True, margins=marg, passes=2)
    if method.startswith("rtn"):
        for g, (s, e) in enumerate(q.groups):
            for row in range(n):
                marg[row, s:e] = margin(w[row, s:e].astype(np.float64), q.level_table(row, g))
    return q, marg


def build():
    files, cases = {}, []
    for idx, (name, n, k, rows, outl, dead, fmts, methods) in enumerate(MATRICES):
        rng = np.random.default_rng(1400 + idx)
        x = correlated_inputs(rng, rows, k, outl, dead)
        h = (x.T @ x).astype(np.float32)
        w = (rng.standard_normal((n, k)) * 0.05 * (1 + rng.random(k))).astype(np.float32)
        w[0, :] += 0.03  # an off-centre row, where the affine offset matters
        files[name] = (w, h)
        h64 = h.astype(np.float64)
        for fmt in fmts:
            for method in methods:
                q, marg = run_case(w, h64, fmt, method)
                first = [int(np.argmax(r < NEAR_TIE)) if np.any(r < NEAR_TIE) else k for r in marg]
                we, oe = errors(w, q, h64)
                cases.append({
                    "matrix": name, "n": n, "k": k, "format": fmt, "method": method,
                    "codes": "".join(str(int(c)) for c in q.idx.reshape(-1)),
                    "scales": [float(v) for v in q.scales.reshape(-1)],
                    "offsets": [float(v) for v in q.offsets.reshape(-1)] if q.affine else [],
                    "weight_error": float(we), "output_error": float(oe),
                    "first_near_tie": first,
                })
    return files, {"damp": DAMP, "max_rounds": MAX_ROUNDS, "cases": cases}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    files, doc = build()
    text = "{\"damp\": %r, \"max_rounds\": %d, \"cases\": [\n%s\n]}\n" % (
        doc["damp"], doc["max_rounds"], ",\n".join(json.dumps(c) for c in doc["cases"]))
    if args.check:
        ok = open(os.path.join(FIXTURES, "cases.json")).read() == text
        for name, (w, h) in files.items():
            for fname, arr in (("W.f32", w), ("H.f32", h)):
                with open(os.path.join(FIXTURES, name, fname), "rb") as f:
                    ok &= f.read() == arr.astype("<f4").tobytes()
        print("fixtures/quantizers: " + ("up to date" if ok else "DIFFERENT"))
        return 0 if ok else 1
    for name, (w, h) in files.items():
        os.makedirs(os.path.join(FIXTURES, name), exist_ok=True)
        for fname, arr in (("W.f32", w), ("H.f32", h)):
            with open(os.path.join(FIXTURES, name, fname), "wb") as f:
                f.write(arr.astype("<f4").tobytes())
    with open(os.path.join(FIXTURES, "cases.json"), "w") as f:
        f.write(text)
    for c in doc["cases"]:
        ties = sum(1 for t in c["first_near_tie"] if t < c["k"])
        print(f'{c["matrix"]:12s} {c["format"]:7s} {c["method"]:10s} weight {c["weight_error"]:.5f} '
              f'output {c["output_error"]:.5f}  rows with a near tie: {ties}')
    return 0


if __name__ == "__main__":
    sys.exit(main())
