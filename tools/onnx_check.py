#!/usr/bin/env python3
"""End-to-end checks of the ONNX path against the oracles (issue 3).

For every model in fixtures/onnx/models/:
  1. `xnor run model.onnx` (the reference executor) matches onnxruntime's output
     (ort_output.npy, graph optimizations off) to 1e-5 relative;
  2. for each mode, `xnor convert` then `xnor run model.xnor` (the popcount runtime) matches the
     numpy simulation of DESIGN.md (tools/xnor_sim.py, stored as sim_<mode>.npy): bit-exact where
     only products, bias and ReLU lie between converted ops, else to a cosine of 0.999 (a last-bit
     difference in LayerNorm or Softmax may flip a later sign bit);
  3. `xnor verify` passes its per-op check (exit 0) in every mode;
  4. gguf-py's GGUFReader opens every .xnor written, with the tensors and metadata we wrote.
Prints one line per check and `N passed, N failed`; exit 1 on any failure.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import gguf
from xnortools.compare import min_cosine, relative_error
from xnortools.paths import ROOT
from xnortools.report import Report

MODELS = ROOT / "fixtures" / "onnx" / "models"
MODES = ["w1a1", "w1a8", "w1.58a8"]
# Fixtures where float ops between converted products (LayerNorm, Softmax, GELU) can flip a
# sign bit on a last-bit difference: compared by cosine instead of exactly.
FIDELITY_ONLY = {"encoder_block", "mlp_decomposed_ln", "mlp_gelu_opset20"}
# The torch.onnx exports of tools/gen_onnx_exports.py: transformers, so LayerNorm/RMSNorm and
# Softmax between every pair of converted products.
FIDELITY_ONLY_PREFIXES = ("torch_",)


def run(cmd, timeout=120):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def input_args(case):
    files = sorted(case.glob("input*.npy"))
    if len(files) == 1 and files[0].name == "input.npy":
        return ["--input", str(files[0])]
    args = []
    for f in files:
        args += ["--input", f"{f.stem[len('input_'):]}={f}"]
    return args


def check_gguf_py(checks, path, label):
    """gguf-py must open the file; its tensors and our metadata must agree with inspect --json."""
    try:
        reader = gguf.GGUFReader(str(path))
    except Exception as error:  # noqa: BLE001 - any failure to open is the finding
        checks.expect(False, f"{label} gguf-py opens", repr(error))
        return
    fields = {name: field for name, field in reader.fields.items()}
    ok = all(key in fields for key in ("general.architecture", "xnor.format_version", "xnor.mode", "xnor.graph"))
    graph_text = bytes(fields["xnor.graph"].parts[fields["xnor.graph"].data[0]]).decode() if ok else "{}"
    try:
        json.loads(graph_text)
    except ValueError:
        ok = False
    checks.expect(ok, f"{label} gguf-py opens", f"{len(reader.tensors)} tensors")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--xnor", required=True)
    parser.add_argument("-k", default="", help="only cases whose name contains this")
    args = parser.parse_args()
    xnor = str(pathlib.Path(args.xnor).resolve())
    checks = Report()
    cases = sorted(p for p in MODELS.iterdir() if p.is_dir() and args.k in p.name)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for case in cases:
            name = case.name
            reference = np.load(case / "ort_output.npy")
            out = tmp / f"{name}.ref.npy"
            result = run([xnor, "run", str(case / "model.onnx"), *input_args(case), "-o", str(out)])
            if result.returncode != 0:
                checks.expect(False, f"{name} reference executor", result.stderr.strip())
            else:
                ours = np.load(out)
                err = relative_error(ours, reference)
                checks.expect(ours.shape == reference.shape and err <= 1e-5, f"{name} reference executor vs onnxruntime", f"rel err {err:.2e}")
            for mode in MODES:
                model = tmp / f"{name}.{mode}.xnor"
                result = run([xnor, "convert", str(case / "model.onnx"), "-o", str(model), "--mode", mode, "--quiet"])
                if result.returncode != 0:
                    checks.expect(False, f"{name} {mode} convert", result.stderr.strip())
                    continue
                out = tmp / f"{name}.{mode}.npy"
                result = run([xnor, "run", str(model), *input_args(case), "-o", str(out)])
                if result.returncode != 0:
                    checks.expect(False, f"{name} {mode} popcount runtime", result.stderr.strip())
                else:
                    ours, sim = np.load(out), np.load(case / f"sim_{mode}.npy")
                    if name in FIDELITY_ONLY or name.startswith(FIDELITY_ONLY_PREFIXES):
                        cos = min_cosine(ours, sim)
                        checks.expect(ours.shape == sim.shape and cos >= 0.999, f"{name} {mode} runtime vs numpy simulation", f"min cosine {cos:.6f}")
                    else:
                        exact = ours.shape == sim.shape and np.array_equal(ours.view(np.uint32), sim.view(np.uint32))
                        checks.expect(exact, f"{name} {mode} runtime vs numpy simulation (bit-exact)",
                                      "" if exact else f"rel err {relative_error(ours, sim):.2e}")
                result = run([xnor, "verify", str(model), "--source", str(case / "model.onnx"), *input_args(case), "--json"])
                report = {}
                if result.stdout.strip():
                    try:
                        report = json.loads(result.stdout)
                    except ValueError:
                        pass
                checks.expect(result.returncode == 0 and report.get("ops_passed") is True, f"{name} {mode} verify per-op exactness",
                              result.stderr.strip() or f"{len(report.get('ops', []))} ops")
                check_gguf_py(checks, model, f"{name} {mode}")
    print(checks.summary())
    return checks.exit_status()


if __name__ == "__main__":
    sys.exit(main())
