#!/usr/bin/env python3
"""Compare `xnor inspect` and `xnor dump` on ONNX models with the onnx package.

    .venv/bin/python tools/check_onnx_inspect.py --xnor .build/debug/xnor [--fixtures fixtures/onnx]

Oracle (computed here, at test time): onnx.load and onnx.numpy_helper.to_array on the same
files. Checks, one line each ("PASS ..." or "FAIL ...: why"):
  - `xnor inspect M.onnx` and `--json` succeed on every model in import/ (and on every .onnx
    under models/ when that folder exists); the JSON has format "onnx", the producer, IR
    version and opsets, every initializer with dtype, shape, nbytes and, for external data,
    its file and offset, and a graph whose inputs, outputs and nodes are onnx's;
  - `xnor dump M.onnx INIT -o OUT.npy` gives to_array(...).astype(float32), bit-identical;
  - every model in malformed/EXPECT.json is refused: exit status 1, one stderr line that
    names the file and contains the expected phrase.
The last line is "N passed, N failed"; the exit status is 1 if anything failed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper
from xnortools.paths import ROOT
from xnortools.report import Report

DTYPES = {
    TensorProto.FLOAT: "F32", TensorProto.UINT8: "U8", TensorProto.INT8: "I8", TensorProto.UINT16: "U16",
    TensorProto.INT16: "I16", TensorProto.INT32: "I32", TensorProto.INT64: "I64", TensorProto.BOOL: "BOOL",
    TensorProto.FLOAT16: "F16", TensorProto.DOUBLE: "F64", TensorProto.UINT32: "U32", TensorProto.UINT64: "U64",
    TensorProto.BFLOAT16: "BF16", TensorProto.FLOAT8E4M3FN: "F8_E4M3", TensorProto.FLOAT8E5M2: "F8_E5M2",
}


def run(xnor, *args, timeout=60):
    return subprocess.run([xnor, *args], capture_output=True, text=True, timeout=timeout)


def shape_of(value_info):
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]


def check_inspect(xnor, path: Path, report: Report):
    model = onnx.load(str(path), load_external_data=False)
    g = model.graph
    text = run(xnor, "inspect", str(path))
    report.check(f"inspect {path.name}", [f"exit {text.returncode}: {text.stderr.strip()}" if text.returncode else ""])
    result = run(xnor, "inspect", "--json", str(path))
    if result.returncode:
        report.check(f"inspect --json {path.name}", [f"exit {result.returncode}: {result.stderr.strip()}"])
        return
    got = json.loads(result.stdout)
    problems = []
    meta = got.get("metadata", {})
    if got.get("format") != "onnx":
        problems.append(f"format {got.get('format')!r}")
    for key, want in [("producer_name", model.producer_name), ("producer_version", model.producer_version),
                      ("ir_version", model.ir_version if model.HasField("ir_version") else None)]:
        if meta.get(key) != want:
            problems.append(f"{key} {meta.get(key)!r} != {want!r}")
    want_opsets = {o.domain: o.version for o in model.opset_import}
    if meta.get("opset_import") != want_opsets:
        problems.append(f"opset_import {meta.get('opset_import')} != {want_opsets}")
    want_props = {p.key: p.value for p in model.metadata_props}
    if meta.get("metadata_props") != want_props:
        problems.append(f"metadata_props {meta.get('metadata_props')} != {want_props}")

    tensors = got.get("tensors", [])
    if [t["name"] for t in tensors] != [t.name for t in g.initializer]:
        problems.append("initializer names differ")
    for t, w in zip(tensors, g.initializer):
        arr = numpy_helper.to_array(w, base_dir=str(path.parent))
        want = {"dtype": DTYPES.get(w.data_type), "shape": list(w.dims), "nbytes": arr.nbytes}
        if w.data_location == TensorProto.EXTERNAL:
            info = {e.key: e.value for e in w.external_data}
            want.update(file=info["location"], offset=int(info.get("offset", "0")))
        elif not w.HasField("raw_data"):
            want["offset"] = None
        for key, value in want.items():
            if t.get(key) != value:
                problems.append(f"{w.name}.{key} {t.get(key)!r} != {value!r}")
        if w.HasField("raw_data") and w.data_location != TensorProto.EXTERNAL:
            # The offset must point at raw_data's bytes in the file.
            data = path.read_bytes()
            at = t.get("offset")
            if not isinstance(at, int) or data[at:at + len(w.raw_data)] != w.raw_data:
                problems.append(f"{w.name}.offset {at!r} does not point at its raw_data")

    graph = got.get("graph", {})
    inits = {t.name for t in g.initializer}
    for key, values in [("inputs", [v for v in g.input if v.name not in inits]), ("outputs", list(g.output))]:
        want = [{"name": v.name, "dtype": DTYPES.get(v.type.tensor_type.elem_type), "shape": shape_of(v)} for v in values]
        if graph.get(key) != want:
            problems.append(f"graph.{key} {graph.get(key)} != {want}")
    want_nodes = [(n.name, n.op_type, "" if n.domain == "ai.onnx" else n.domain, list(n.input), list(n.output),
                   [a.name for a in n.attribute]) for n in g.node]
    got_nodes = [(n["name"], n["op_type"], n["domain"], n["inputs"], n["outputs"], [a["name"] for a in n["attributes"]])
                 for n in graph.get("nodes", [])]
    if got_nodes != want_nodes:
        problems.append("graph.nodes differ")
    report.check(f"inspect --json {path.name}", problems)


def check_dump(xnor, path: Path, report: Report):
    model = onnx.load(str(path), load_external_data=False)
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, w in enumerate(model.graph.initializer):
            out = Path(tmp) / f"{i}.npy"
            result = run(xnor, "dump", str(path), w.name, "-o", str(out))
            if result.returncode:
                problems.append(f"{w.name}: exit {result.returncode}: {result.stderr.strip()}")
                continue
            with np.errstate(over="ignore"):
                want = numpy_helper.to_array(w, base_dir=str(path.parent)).astype(np.float32).copy(order="C")
            got = np.load(out)
            same = got.dtype == np.float32 and got.shape == want.shape and (
                np.array_equal(got.view(np.uint32), want.view(np.uint32))
                or np.array_equal(got, want, equal_nan=True))
            if not same:
                problems.append(f"{w.name}: values differ")
    report.check(f"dump {path.name} ({len(model.graph.initializer)} initializers)", problems)


def check_malformed(xnor, folder: Path, report: Report):
    expect = json.loads((folder / "EXPECT.json").read_text())
    for name, phrase in expect.items():
        path = folder / name
        result = run(xnor, "inspect", str(path), timeout=10)
        lines = result.stderr.splitlines()
        problems = []
        if result.returncode != 1:
            problems.append(f"exit status {result.returncode}")
        if len(lines) != 1:
            problems.append(f"{len(lines)} stderr lines")
        elif str(path) not in lines[0] or phrase not in lines[0].lower():
            problems.append(f"message {lines[0]!r} lacks the path or {phrase!r}")
        report.check(f"malformed {name}", problems)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xnor", required=True)
    parser.add_argument("--fixtures", default=str(ROOT / "fixtures" / "onnx"))
    args = parser.parse_args()
    fixtures = Path(args.fixtures)
    report = Report()
    models = sorted((fixtures / "import").glob("*.onnx"))
    if (fixtures / "models").is_dir():
        models += sorted((fixtures / "models").rglob("*.onnx"))
    for path in models:
        check_inspect(args.xnor, path, report)
        check_dump(args.xnor, path, report)
    check_malformed(args.xnor, fixtures / "malformed", report)
    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
