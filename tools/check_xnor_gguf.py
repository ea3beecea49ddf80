#!/usr/bin/env python3
"""Check .xnor model files with gguf-py, the reference GGUF reader (formats/xnor-file.md).

    .venv/bin/python tools/check_xnor_gguf.py [--xnor .build/debug/xnor] FILE_OR_FOLDER...

A folder stands for every *.xnor file in it (the Swift tests leave theirs in the folder named by
$XNOR_TEST_OUTPUT_DIR). For each file:
  - gguf-py's GGUFReader opens it without error; it is GGUF v3 with general.alignment = 64;
  - the .xnor keys are there with their types: xnor.format_version (UINT32 = 1), xnor.mode,
    xnor.graph (a JSON object), xnor.source.format, xnor.source.files and xnor.source.sha256
    (as many digests as files), xnor.checksums.sha256 (one "<sha256 hex>  <name>" per tensor, in
    tensor order);
  - every tensor's data bytes, as gguf-py finds them, hash (hashlib) to the recorded SHA-256;
  - `xnor inspect --json` agrees with gguf-py: format "xnor", version, alignment, every metadata
    value and type, every tensor's name, dtype, shape, ne, offset and nbytes, and "graph" equal
    to the parsed xnor.graph; `xnor inspect` (text) succeeds;
  - `xnor dump` of every tensor equals gguf.quants.dequantize (bit for bit) where gguf-py
    dequantizes the type;
  - `xnor inspect --check` exits 0; on a copy with one byte of a tensor flipped it exits 1 with
    one line on stderr that names that tensor.
One line per check ("PASS ..." / "FAIL ...: why"); the last line is "N passed, N failed", and the
exit status is 1 if anything failed or no file was given.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from xnortools.paths import ROOT, VENV  # no third-party imports: safe before the re-exec below

_VENV_PYTHON = VENV / "bin" / "python"
if Path(sys.prefix).resolve() != _VENV_PYTHON.parent.parent.resolve() and _VENV_PYTHON.exists():
    # Run as `tools/check_xnor_gguf.py FILE...`: the oracles live in the repository's venv.
    os.execv(str(_VENV_PYTHON), [str(_VENV_PYTHON), __file__, *sys.argv[1:]])

import numpy as np
import gguf
from gguf import GGUFValueType as VT

import oracle_check as oc  # noqa: E402  (the GGUF oracle: gguf-py's reading of metadata and tensors)
from xnortools.cli import Xnor  # noqa: E402
from xnortools.report import Report  # noqa: E402

FORMAT_VERSION = 1
ALIGNMENT = 64
CHECKSUM_LINE = re.compile(r"^([0-9a-f]{64})  (.*)$", re.S)
HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")
REQUIRED = {
    "general.architecture": (VT.STRING, None),
    "general.alignment": (VT.UINT32, None),
    "xnor.format_version": (VT.UINT32, None),
    "xnor.mode": (VT.STRING, None),
    "xnor.graph": (VT.STRING, None),
    "xnor.source.format": (VT.STRING, None),
    "xnor.source.files": (VT.ARRAY, VT.STRING),
    "xnor.source.sha256": (VT.ARRAY, VT.STRING),
    "xnor.checksums.sha256": (VT.ARRAY, VT.STRING),
}


def field_type(f) -> tuple:
    if f.types[0] == VT.ARRAY:
        return (VT.ARRAY, VT(int(f.parts[3][0])))
    return (f.types[0], None)


def tensor_bytes(path: Path, t) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(int(t.data_offset))
        return fh.read(int(t.n_bytes))


def container_problems(reader: gguf.GGUFReader, path: Path) -> list[str]:
    problems = []
    version = int(reader.fields["GGUF.version"].contents())
    if version != 3:
        problems.append(f"GGUF version {version}, expected 3")
    if int(reader.alignment) != ALIGNMENT:
        problems.append(f"alignment {reader.alignment}, expected {ALIGNMENT}")
    for key, want in REQUIRED.items():
        f = reader.fields.get(key)
        if f is None:
            problems.append(f"missing {key}")
        elif field_type(f) != want:
            problems.append(f"{key} has type {field_type(f)}, expected {want}")
    if problems:
        return problems
    fields = {k: reader.fields[k].contents() for k in REQUIRED}
    if fields["xnor.format_version"] != FORMAT_VERSION:
        problems.append(f"xnor.format_version {fields['xnor.format_version']}, expected {FORMAT_VERSION}")
    if not fields["xnor.mode"]:
        problems.append("xnor.mode is empty")
    try:
        graph = json.loads(fields["xnor.graph"])
        if not isinstance(graph, dict):
            problems.append(f"xnor.graph is JSON but a {type(graph).__name__}, not an object")
    except ValueError as e:
        problems.append(f"xnor.graph is not JSON: {e}")
    files, digests = fields["xnor.source.files"], fields["xnor.source.sha256"]
    if len(files) != len(digests):
        problems.append(f"{len(files)} source files but {len(digests)} source digests")
    problems += [f"xnor.source.sha256[{i}] {d!r} is not 64 lowercase hex digits"
                 for i, d in enumerate(digests) if not HEX_DIGEST.match(d)]
    for t in reader.tensors:
        if int(t.data_offset) % ALIGNMENT:
            problems.append(f"tensor {t.name!r} at offset {t.data_offset}, not a multiple of {ALIGNMENT}")
    return problems


def checksum_problems(reader: gguf.GGUFReader, path: Path) -> list[str]:
    lines = reader.fields["xnor.checksums.sha256"].contents()
    if len(lines) != len(reader.tensors):
        return [f"{len(lines)} checksum entries for {len(reader.tensors)} tensors"]
    problems = []
    for i, (line, t) in enumerate(zip(lines, reader.tensors)):
        m = CHECKSUM_LINE.match(line)
        if not m or m.group(2) != t.name:
            problems.append(f"entry {i} {line[:90]!r} is not '<sha256>  {t.name}'")
            continue
        raw = tensor_bytes(path, t)
        mapped = np.ascontiguousarray(t.data).tobytes()
        if raw != mapped:
            problems.append(f"{t.name}: gguf-py's data differs from the file bytes at its offset")
        actual = hashlib.sha256(raw).hexdigest()
        if actual != m.group(1):
            problems.append(f"{t.name}: data hashes to {actual}, the file records {m.group(1)}")
    return problems


def inspect_problems(ours: dict, ref: oc.RefModel, reader: gguf.GGUFReader) -> list[str]:
    problems = []
    if ours.get("format") != "xnor":
        problems.append(f"format: ours {ours.get('format')!r}, expected 'xnor'")
    for key, want in (("version", ref.version), ("alignment", ref.alignment)):
        if ours.get(key) != want:
            problems.append(f"{key}: ours {ours.get(key)!r} vs gguf-py {want!r}")
    graph = json.loads(reader.fields["xnor.graph"].contents())
    if ours.get("graph") != graph:
        problems.append(f"graph: ours {oc.short(ours.get('graph'))} vs xnor.graph {oc.short(graph)}")
    return problems


def check_damage_is_caught(report: Report, xnor: Xnor, label: str, path: Path,
                           reader: gguf.GGUFReader, tmp: Path):
    victims = [t for t in reader.tensors if int(t.n_bytes) > 0]
    if not victims:
        return
    victim = victims[len(victims) // 2]
    data = bytearray(path.read_bytes())
    at = int(victim.data_offset) + int(victim.n_bytes) // 2
    data[at] ^= 0x01
    damaged = tmp / f"damaged-{path.name}"
    damaged.write_bytes(bytes(data))
    run = xnor.run(["inspect", "--check", damaged], oc.VALID_TIMEOUT)
    problems = []
    if run.returncode != 1:
        problems.append(f"exit status {run.returncode}, expected 1")
    lines = run.stderr.decode("utf-8", "replace").splitlines()
    if len(lines) != 1:
        problems.append(f"stderr has {len(lines)} lines, expected one: {lines[:3]!r}")
    elif f"'{victim.name}'" not in lines[0] or damaged.name not in lines[0]:
        problems.append(f"error line does not name the file and tensor {victim.name!r}: {lines[0]!r}")
    report.check(f"inspect --check {label}: byte flipped in {victim.name!r} is caught", problems)
    damaged.unlink()


def check_file(report: Report, xnor: Xnor, path: Path, tmp: Path):
    label = path.name
    try:
        reader = gguf.GGUFReader(path)
    except Exception as e:   # noqa: BLE001 - any failure of the reference reader is the finding
        report.check(f"gguf-py opens {label}", f"{type(e).__name__}: {e}")
        return
    report.check(f"gguf-py opens {label}", None)
    if not report.check(f"{label}: GGUF v3, alignment 64, .xnor keys and types",
                        container_problems(reader, path)):
        return
    report.check(f"{label}: tensor data matches xnor.checksums.sha256 (hashlib)", checksum_problems(reader, path))

    ref = oc.gguf_reference(path)
    ours, problem = oc.inspect_json(xnor, path)
    if not report.check(f"inspect --json {label}", problem):
        return
    report.check(f"inspect --json {label}: format/version/alignment/graph", inspect_problems(ours, ref, reader))
    report.check(f"inspect --json {label}: metadata", oc.metadata_problems(ours.get("metadata"), ref))
    report.check(f"inspect --json {label}: metadata_types", oc.metadata_types_problems(ours.get("metadata_types"), ref))
    report.check(f"inspect --json {label}: tensors", oc.tensors_problems(ours.get("tensors"), ref))
    oc.check_inspect_text(report, xnor, label, path)
    for t in ref.tensors:
        oc.check_dump(report, xnor, label, path, t, tmp)

    run = xnor.run(["inspect", "--check", path], oc.VALID_TIMEOUT)
    report.check(f"inspect --check {label}", None if run.returncode == 0 else run.describe_failure())
    check_damage_is_caught(report, xnor, label, path, reader, tmp)


def expand(paths: list[Path]) -> list[Path]:
    files = []
    for p in paths:
        files += sorted(p.glob("*.xnor")) if p.is_dir() else [p]
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", type=Path, help=".xnor files, or folders of them")
    ap.add_argument("--xnor", type=Path, default=ROOT / ".build" / "debug" / "xnor",
                    help="the xnor executable (default: %(default)s)")
    args = ap.parse_args()

    report = Report()
    xnor = Xnor(args.xnor.resolve())
    files = expand(args.paths)
    report.check("at least one .xnor file given", None if files else f"no .xnor files in {args.paths}")
    report.check("xnor executable present", None if args.xnor.exists() else f"{args.xnor} not found")
    with tempfile.TemporaryDirectory(prefix="check-xnor-") as tmpname:
        for path in files:
            check_file(report, xnor, path.resolve(), Path(tmpname))
    print(report.summary())
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
