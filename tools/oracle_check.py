#!/usr/bin/env python3
"""Compare the xnor CLI with the reference implementations on every fixture.

    .venv/bin/python tools/oracle_check.py --xnor .build/release/xnor [--fixtures fixtures] [-k WORD]

Oracles (computed here, at test time, never stored; see DESIGN.md "Oracles"):
  GGUF         gguf-py: GGUFReader for metadata and tensor tables, gguf.quants.dequantize for values
  safetensors  the safetensors library (safe_open with numpy), the header for byte offsets
  BF16 / F8    safetensors/dtypes.reference/*.npy, made by tools/gen_fixtures.py from the bit definitions

Checks, one output line each ("PASS ..." or "FAIL ...: why"):
  - `xnor inspect PATH` and `xnor inspect PATH --json` succeed on every valid fixture, and the JSON
    matches the oracle (format, version, alignment, config, metadata, metadata_types, tensors);
  - `xnor dump PATH TENSOR -o OUT.npy` gives float32 values bit-identical to the oracle's;
  - the same on zstd-compressed copies (offsets refer to the decompressed stream);
  - every file in malformed/EXPECT.json is refused: exit status exactly 1 within 10 s, exactly one
    line on stderr that names the file and contains the expected word.
The last line is exactly "N passed, N failed"; the exit status is 1 if anything failed.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT
from gguf import GGUFValueType as VT
from safetensors import safe_open

from xnortools.arrays import safetensors_header
from xnortools.cli import Run, Xnor, parse_json
from xnortools.paths import FIXTURES
from xnortools.report import Report

VALID_TIMEOUT = 60.0
MALFORMED_TIMEOUT = 10.0
MALFORMED_DUMP_TENSOR = "a"   # every malformed file's first tensor is called "a"


# --------------------------------------------------------------------------------------------
# Reference models, built from the oracle libraries
# --------------------------------------------------------------------------------------------

@dataclass
class RefTensor:
    name: str
    dtype: str
    shape: list[int]
    offset: int
    nbytes: int
    values: Callable[[], np.ndarray | None]  # None: no oracle for this type (check shape + finite)
    compare: str = "bits"                    # "bits", or "bits-any-nan" (no oracle for NaN payloads)
    ne: list[int] | None = None              # GGUF only
    file: str | None = None                  # HF folders only


@dataclass
class RefModel:
    format: str
    tensors: list[RefTensor]
    metadata: dict[str, Any]
    version: int | None = None
    alignment: int | None = None
    metadata_types: dict[str, str] | None = None    # GGUF: key -> GGUFValueType name
    value_types: dict[str, tuple] = field(default_factory=dict)  # GGUF: key -> (VT, sub VT)
    config: dict | None = None
    ordered: bool = True     # GGUF: our tensor list must be in file order, same as gguf-py's


GGUF_PSEUDO_FIELDS = ("GGUF.version", "GGUF.tensor_count", "GGUF.kv_count")
GGUF_PLAIN_NUMBERS = (QT.F64, QT.I8, QT.I16, QT.I32, QT.I64)


def gguf_tensor_values(t) -> np.ndarray | None:
    shape = tuple(int(d) for d in reversed(t.shape.tolist()))
    data = np.asarray(t.data)
    if t.tensor_type in GGUF_PLAIN_NUMBERS:
        with np.errstate(over="ignore"):   # float64 1e300 -> inf is intended
            return data.astype(np.float32).reshape(shape)
    try:
        return np.asarray(gguf.quants.dequantize(data, t.tensor_type), dtype=np.float32).reshape(shape)
    except NotImplementedError:
        return None


def gguf_reference(path: Path) -> RefModel:
    reader = gguf.GGUFReader(path)
    metadata, types, vtypes = {}, {}, {}
    for key, f in reader.fields.items():
        if key in GGUF_PSEUDO_FIELDS:
            continue
        vtype = f.types[0]
        if vtype == VT.ARRAY:
            sub = VT(int(f.parts[3][0]))      # the declared item type, also for empty arrays
            types[key] = f"ARRAY[{sub.name}]"
            vtypes[key] = (vtype, sub)
        else:
            types[key] = vtype.name
            vtypes[key] = (vtype, None)
        metadata[key] = f.contents()
    tensors = []
    for t in reader.tensors:
        ne = [int(d) for d in t.shape.tolist()]
        tensors.append(RefTensor(
            name=t.name, dtype=t.tensor_type.name, shape=list(reversed(ne)), ne=ne,
            offset=int(t.data_offset), nbytes=int(t.n_bytes),
            values=(lambda t=t: gguf_tensor_values(t))))
    return RefModel(format="gguf", tensors=tensors, metadata=metadata, metadata_types=types,
                    value_types=vtypes, version=int(reader.fields["GGUF.version"].contents()),
                    alignment=int(reader.alignment))


def stored_reference(path: Path, name: str) -> Path:
    return path.with_name(path.stem + ".reference") / f"{name}.npy"


NUMPY_LESS_DTYPES = {"BF16": "bits", "F8_E4M3": "bits-any-nan", "F8_E5M2": "bits-any-nan"}


def safetensors_tensors(path: Path, file_label: str | None = None) -> tuple[list[RefTensor], dict]:
    header_len, header = safetensors_header(path)
    tensors = []
    with safe_open(str(path), framework="numpy") as f:
        metadata = f.metadata() or {}
        for name in f.offset_keys():
            sl = f.get_slice(name)
            begin, end = header[name]["data_offsets"]
            dtype = sl.get_dtype()
            if dtype in NUMPY_LESS_DTYPES:
                values = (lambda ref=stored_reference(path, name): np.load(ref) if ref.exists() else None)
                compare = NUMPY_LESS_DTYPES[dtype]
            else:
                values = (lambda name=name: safetensors_value(path, name))
                compare = "bits"
            tensors.append(RefTensor(name=name, dtype=dtype, shape=list(sl.get_shape()),
                                     offset=8 + header_len + begin, nbytes=end - begin,
                                     values=values, compare=compare, file=file_label))
    return tensors, metadata


def safetensors_value(path: Path, name: str) -> np.ndarray:
    with safe_open(str(path), framework="numpy") as f, np.errstate(over="ignore"):
        return f.get_tensor(name).astype(np.float32)   # float64 1e300 -> inf is intended


def safetensors_reference(path: Path) -> RefModel:
    tensors, metadata = safetensors_tensors(path)
    return RefModel(format="safetensors", tensors=tensors, metadata=metadata, ordered=False)


def hf_shard_files(folder: Path) -> list[str]:
    index = folder / "model.safetensors.index.json"
    if index.exists():
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        return sorted(set(weight_map.values()))
    return ["model.safetensors"]


def hf_reference(folder: Path) -> RefModel:
    tensors, metadata = [], {}
    for shard in hf_shard_files(folder):
        t, m = safetensors_tensors(folder / shard, file_label=shard)
        tensors += t
        metadata.update(m)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    return RefModel(format="hf-folder", tensors=tensors, metadata=metadata, config=config, ordered=False)


def reference_for(path: Path) -> RefModel:
    if path.is_dir():
        return hf_reference(path)
    if path.suffix == ".gguf":
        return gguf_reference(path)
    return safetensors_reference(path)


# --------------------------------------------------------------------------------------------
# Comparing inspect --json with the reference
# --------------------------------------------------------------------------------------------

FLOAT_SPECIALS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
INT_TYPES = (VT.UINT8, VT.INT8, VT.UINT16, VT.INT16, VT.UINT32, VT.INT32, VT.UINT64, VT.INT64)


def same_float(ours: Any, ref: float, ftype) -> bool:
    """Exact float compare via the bit pattern of ftype (np.float32 / np.float64)."""
    if isinstance(ours, bool):
        return False
    if isinstance(ours, str):
        if ours not in FLOAT_SPECIALS:
            return False
        ours = FLOAT_SPECIALS[ours]
    elif not isinstance(ours, (int, float)) or not math.isfinite(ref):
        return False   # finite values are JSON numbers; NaN and infinities are the strings
    with np.errstate(over="ignore"):
        o, r = ftype(ours), ftype(ref)
    if np.isnan(r):
        return bool(np.isnan(o))
    bits = np.uint32 if ftype is np.float32 else np.uint64
    return o.view(bits) == r.view(bits)


def same_scalar(ours: Any, ref: Any, vtype: VT) -> bool:
    if vtype == VT.BOOL:
        return isinstance(ours, bool) and ours == ref
    if vtype == VT.STRING:
        return isinstance(ours, str) and ours == ref
    if vtype == VT.FLOAT32:
        return same_float(ours, ref, np.float32)
    if vtype == VT.FLOAT64:
        return same_float(ours, ref, np.float64)
    if vtype in INT_TYPES:
        return isinstance(ours, int) and not isinstance(ours, bool) and ours == ref
    return False


def gguf_value_problem(key: str, ours: Any, ref: Any, vtype: VT, sub: VT | None) -> str | None:
    if vtype != VT.ARRAY:
        ok = same_scalar(ours, ref, vtype)
    else:
        ok = (isinstance(ours, list) and len(ours) == len(ref)
              and all(same_scalar(o, r, sub) for o, r in zip(ours, ref)))
    return None if ok else f"{key}: ours {short(ours)} vs gguf-py {short(ref)} ({vtype.name})"


def short(v: Any, n: int = 80) -> str:
    s = repr(v)
    return s if len(s) <= n else s[:n] + "..."


def metadata_problems(ours: dict, ref: RefModel) -> list[str]:
    if not isinstance(ours, dict):
        return [f"metadata is {type(ours).__name__}, expected an object"]
    problems = [f"missing key {k!r}" for k in ref.metadata if k not in ours]
    problems += [f"extra key {k!r}" for k in ours if k not in ref.metadata]
    for key, ref_value in ref.metadata.items():
        if key not in ours:
            continue
        if ref.format == "gguf":
            vtype, sub = ref.value_types[key]
            problems.append(gguf_value_problem(key, ours[key], ref_value, vtype, sub))
        elif ours[key] != ref_value:
            problems.append(f"{key}: ours {short(ours[key])} vs {short(ref_value)}")
    return [p for p in problems if p]


def metadata_types_problems(ours: Any, ref: RefModel) -> list[str]:
    if not isinstance(ours, dict):
        return [f"metadata_types is {type(ours).__name__}, expected an object"]
    problems = [f"missing key {k!r}" for k in ref.metadata_types if k not in ours]
    problems += [f"extra key {k!r}" for k in ours if k not in ref.metadata_types]
    problems += [f"{k}: ours {ours[k]!r} vs {v!r}" for k, v in ref.metadata_types.items()
                 if k in ours and ours[k] != v]
    return problems


def tensor_field_problems(o: dict, r: RefTensor) -> list[str]:
    expected = {"name": r.name, "dtype": r.dtype, "shape": r.shape, "offset": r.offset, "nbytes": r.nbytes}
    if r.ne is not None:
        expected["ne"] = r.ne
    if r.file is not None:
        expected["file"] = r.file
    problems = []
    for key, want in expected.items():
        got = o.get(key, "<absent>")
        if got != want or type(got) is not type(want):
            problems.append(f"{r.name}.{key}: ours {short(got)} vs {short(want)}")
    return problems


def tensors_problems(ours: Any, ref: RefModel) -> list[str]:
    if not isinstance(ours, list) or not all(isinstance(t, dict) for t in ours):
        return ["tensors is not a list of objects"]
    names = [t.get("name") for t in ours]
    ref_names = [t.name for t in ref.tensors]
    problems = []
    if ref.ordered:
        if names != ref_names:
            problems.append(f"tensor names/order: ours {short(names)} vs {short(ref_names)}")
    else:
        if sorted(map(str, names)) != sorted(ref_names):
            problems.append(f"tensor names: ours {short(sorted(map(str, names)))} vs {short(sorted(ref_names))}")
        problems += order_problems(ours)
    by_name = {t.get("name"): t for t in ours}
    for r in ref.tensors:
        if r.name in by_name:
            problems += tensor_field_problems(by_name[r.name], r)
    return problems


def order_problems(ours: list[dict]) -> list[str]:
    """Tensors of one file must be listed in file order (non-decreasing offsets)."""
    last: dict[Any, int] = {}
    for t in ours:
        f, off = t.get("file"), t.get("offset")
        if isinstance(off, int) and f in last and off < last[f]:
            return [f"tensor {t.get('name')!r} listed after a tensor at a higher offset (not in file order)"]
        if isinstance(off, int):
            last[f] = off
    return []


def header_problems(ours: dict, ref: RefModel, path: Path) -> list[str]:
    problems = []
    if ours.get("format") != ref.format:
        problems.append(f"format: ours {ours.get('format')!r} vs {ref.format!r}")
    our_path = str(ours.get("path", ""))
    if Path(our_path.rstrip("/")).name != path.name:
        problems.append(f"path: ours {our_path!r} does not end in {path.name!r}")
    if ref.format == "gguf":
        for key in ("version", "alignment"):
            want, got = getattr(ref, key), ours.get(key, "<absent>")
            if got != want or isinstance(got, bool):
                problems.append(f"{key}: ours {got!r} vs {want!r}")
    elif ours.get("version") is not None:
        problems.append(f"version: ours {ours.get('version')!r}, expected none for {ref.format}")
    if ref.config is not None and ours.get("config") != ref.config:
        problems.append(f"config: ours {short(ours.get('config'))} vs config.json {short(ref.config)}")
    return problems


def inspect_json(xnor: Xnor, path: Path) -> tuple[dict | None, str | None]:
    run = xnor.run(["inspect", path, "--json"], VALID_TIMEOUT)
    if run.returncode != 0:
        return None, run.describe_failure()
    try:
        obj = parse_json(run.stdout)
    except (ValueError, UnicodeDecodeError) as e:
        return None, f"stdout is not one JSON object: {e}"
    if not isinstance(obj, dict):
        return None, "stdout is JSON but not an object"
    return obj, None


def check_inspect_text(report: Report, xnor: Xnor, label: str, path: Path):
    run = xnor.run(["inspect", path], VALID_TIMEOUT)
    problem = None
    if run.returncode != 0:
        problem = run.describe_failure()
    elif not run.stdout.strip():
        problem = "printed nothing on stdout"
    report.check(f"inspect {label}", problem)


def check_inspect_json(report: Report, xnor: Xnor, label: str, path: Path, ref: RefModel):
    ours, problem = inspect_json(xnor, path)
    if not report.check(f"inspect --json {label}", problem):
        return
    report.check(f"inspect --json {label}: format/path/version/alignment/config", header_problems(ours, ref, path))
    report.check(f"inspect --json {label}: metadata", metadata_problems(ours.get("metadata"), ref))
    if ref.metadata_types is not None:
        report.check(f"inspect --json {label}: metadata_types",
                     metadata_types_problems(ours.get("metadata_types"), ref))
    report.check(f"inspect --json {label}: tensors", tensors_problems(ours.get("tensors"), ref))


# --------------------------------------------------------------------------------------------
# Comparing dump with the reference
# --------------------------------------------------------------------------------------------

def values_problem(ours: np.ndarray, ref: np.ndarray | None, shape: list[int], compare: str) -> str | None:
    if ours.dtype != np.dtype("<f4"):
        return f"npy dtype is {ours.dtype.str}, expected <f4"
    if list(ours.shape) != list(shape):
        return f"shape {list(ours.shape)}, expected {shape}"
    ours = np.ascontiguousarray(ours).reshape(-1)
    if ref is None:   # no oracle for this type: the values must at least be finite
        bad = np.flatnonzero(~np.isfinite(ours))
        return f"{bad.size} non-finite values (no oracle for this type)" if bad.size else None
    ref = np.ascontiguousarray(ref, dtype=np.float32).reshape(-1)
    if ref.size != ours.size:
        return f"reference has {ref.size} values, ours {ours.size}"
    a, b = ours.view(np.uint32), ref.view(np.uint32)
    differ = a != b
    if compare == "bits-any-nan":
        differ &= ~(np.isnan(ours) & np.isnan(ref))
    bad = np.flatnonzero(differ)
    if bad.size == 0:
        return None
    i = int(bad[0])
    at = [int(x) for x in np.unravel_index(i, shape)] if shape else []
    return (f"{bad.size} of {ours.size} values differ; first at {at}: "
            f"ours {str(ours[i])} (0x{a[i]:08x}) vs reference {str(ref[i])} (0x{b[i]:08x})")


def check_dump(report: Report, xnor: Xnor, label: str, path: Path, t: RefTensor, tmp: Path):
    out = tmp / "dump.npy"
    out.unlink(missing_ok=True)
    run = xnor.run(["dump", path, t.name, "-o", out], VALID_TIMEOUT)
    name = f"dump {label} {t.name} ({t.dtype})"
    if run.returncode != 0:
        report.check(name, run.describe_failure())
        return
    try:
        ours = np.load(out, allow_pickle=False)
    except Exception as e:   # noqa: BLE001 - any unreadable file is a failure to report
        report.check(name, f"cannot read {out.name} as .npy: {e}")
        return
    report.check(name, values_problem(ours, t.values(), t.shape, t.compare))


def check_valid(report: Report, xnor: Xnor, label: str, path: Path, tmp: Path,
                ref_path: Path | None = None, dumps: bool = True):
    """All checks on one valid fixture. ref_path: where the oracle reads (differs for .zst copies)."""
    try:
        ref = reference_for(ref_path or path)
    except Exception as e:   # noqa: BLE001 - a broken fixture is a failed check, not a crash
        report.check(f"oracle {label}", f"reference library cannot read the fixture: {e}")
        return
    check_inspect_text(report, xnor, label, path)
    check_inspect_json(report, xnor, label, path, ref)
    if dumps:
        for t in ref.tensors:
            check_dump(report, xnor, label, path, t, tmp)


def check_zstd(report: Report, xnor: Xnor, fixtures: Path, tmp: Path, selected: Callable[[str], bool]):
    for rel in ("gguf/types.gguf", "safetensors/dtypes.safetensors"):
        if not selected(rel + ".zst"):
            continue
        src = fixtures / rel
        dst = tmp / (src.name + ".zst")
        res = subprocess.run(["zstd", "-q", "-f", str(src), "-o", str(dst)], capture_output=True)
        if not report.check(f"zstd compress {rel}", None if res.returncode == 0 else res.stderr.decode()):
            continue
        check_valid(report, xnor, rel + ".zst", dst, tmp, ref_path=src)


# --------------------------------------------------------------------------------------------
# Malformed files
# --------------------------------------------------------------------------------------------

def names_accepted(path: Path) -> set[str]:
    """Names one of which the error line must contain: the file's name; for a folder, the folder's
    name or the name of a file in it or named by its index (the one that is wrong)."""
    names = {path.name}
    if path.is_dir():
        names |= {p.name for p in path.iterdir()}
        try:
            index = json.loads((path / "model.safetensors.index.json").read_text(encoding="utf-8"))
            names |= {Path(v).name for v in index["weight_map"].values()} | set(index["weight_map"].values())
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
    return names


def refusal_problems(run: Run, path: Path, word: str) -> list[str]:
    if run.returncode is None:
        return [f"did not finish within {MALFORMED_TIMEOUT:g} s"]
    if run.returncode < 0:
        return [f"crashed (signal {-run.returncode})"]
    problems = []
    if run.returncode != 1:
        problems.append(f"exit status {run.returncode}, expected 1")
    text = run.stderr.decode("utf-8", "replace")
    lines = text.splitlines()
    if len(lines) != 1 or not lines[0].strip():
        problems.append(f"stderr has {len(lines)} lines, expected exactly one: {text[:300]!r}")
        return problems
    line = lines[0]
    if not any(n in line for n in names_accepted(path)):
        problems.append(f"error line does not name {path.name!r}: {line!r}")
    if word.lower() not in line.lower():
        problems.append(f"error line lacks {word!r}: {line!r}")
    return problems


def check_malformed(report: Report, xnor: Xnor, fixtures: Path, tmp: Path, selected: Callable[[str], bool]):
    folder = fixtures / "malformed"
    expect_file = folder / "EXPECT.json"
    if not report.check("malformed/EXPECT.json readable", None if expect_file.exists() else "missing"):
        return
    expect = json.loads(expect_file.read_text(encoding="utf-8"))
    out = tmp / "malformed-dump.npy"
    for name, word in expect.items():
        if not selected(f"malformed/{name}"):
            continue
        path = folder / name
        if not path.exists():
            report.check(f"malformed/{name}", "listed in EXPECT.json but missing: run tools/gen_fixtures.py")
            continue
        for args in (["inspect", path], ["inspect", path, "--json"],
                     ["dump", path, MALFORMED_DUMP_TENSOR, "-o", out]):
            out.unlink(missing_ok=True)
            run = xnor.run(args, MALFORMED_TIMEOUT)
            problems = refusal_problems(run, path, word)
            if args[0] == "dump" and out.exists():
                problems.append("a failed dump left its output file behind")
            how = {"inspect": "inspect", "dump": "dump"}[args[0]] + (" --json" if "--json" in args else "")
            report.check(f"refuse {how} {name}", problems)


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def valid_fixtures(fixtures: Path) -> list[tuple[str, Path, bool]]:
    """(label, path, check dumps) for every valid fixture."""
    items = []
    for p in sorted((fixtures / "gguf").glob("*.gguf")):
        items.append((f"gguf/{p.name}", p, True))
    for p in sorted((fixtures / "safetensors").glob("*.safetensors")):
        items.append((f"safetensors/{p.name}", p, True))
    for d in sorted(p for p in (fixtures / "hf").iterdir() if p.is_dir()) if (fixtures / "hf").is_dir() else []:
        items.append((f"hf/{d.name}", d, True))
        for shard in sorted(d.glob("*.safetensors")):   # each shard is a safetensors file too
            items.append((f"hf/{d.name}/{shard.name}", shard, False))
    return items


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xnor", required=True, type=Path, help="the xnor executable to test")
    ap.add_argument("--fixtures", type=Path, default=FIXTURES, help="default: %(default)s")
    ap.add_argument("-k", dest="only", default=None,
                    help="only fixtures whose label contains this (labels: gguf/types.gguf, "
                         "gguf/types.gguf.zst, malformed/st-hole.safetensors, ...)")
    args = ap.parse_args()

    def selected(label: str) -> bool:
        return args.only is None or args.only in label

    report = Report()
    xnor = Xnor(args.xnor.resolve())
    fixtures = args.fixtures.resolve()
    if not report.check("fixtures present", None if (fixtures / "gguf" / "types.gguf").exists()
                        else f"{fixtures} is incomplete: run tools/gen_fixtures.py"):
        print(report.summary())
        return 1
    with tempfile.TemporaryDirectory(prefix="oracle-check-") as tmpname:
        tmp = Path(tmpname)
        for label, path, dumps in valid_fixtures(fixtures):
            if selected(label):
                check_valid(report, xnor, label, path, tmp, dumps=dumps)
        if report.check("zstd CLI installed", None if shutil.which("zstd") else "zstd not found on PATH"):
            check_zstd(report, xnor, fixtures, tmp, selected)
        check_malformed(report, xnor, fixtures, tmp, selected)
    print(report.summary())
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
