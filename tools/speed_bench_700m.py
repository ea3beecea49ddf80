#!/usr/bin/env python3
"""Decode and prompt speed of xnor against llama.cpp on the 700M-shape model, in the same run
(issue 15's first target).

The model: tools/gen_bench_llm.py --gguf (hidden 1536, 24 layers, ffn 4096, 24 heads, vocab
32000, random exactly-ternary projections), one F16 GGUF in llama.cpp's llama architecture that
both sides read. What is missing is made first and cached in --dir (default /tmp/bench-700m; the
F16 file is about 1.5 GB, the rest about 2 GB):
  - llama.cpp: `llama-quantize --token-embedding-type q8_0 --output-tensor-type q8_0 F16.gguf
    OUT.gguf TYPE` for TQ2_0, TQ1_0, Q1_0 and Q4_0;
  - xnor: `xnor convert F16.gguf -o OUT.xnor --output-type q8_0 --token-embedding-type q8_0` with
    w1.58a8 and w1a1, and the fidelity issue's formats at about 1.25 and 2.25 bits per weight,
    b1g64 and b2g128 with a8 activations, rotated (--rotate) as a calibrated conversion is, so
    that the online Hadamard before each down projection is timed too. Round to nearest stands
    in for the calibration, which changes the weights' values, not the work.
Each output sits beside a .cmd file holding the command that made it: a changed command remakes it
(a changed tool does not: delete the folder after a change of the .xnor format).

Then rounds of `llama-bench -p P -n N -t T -r 1` on each llama.cpp file and `xnor bench -p P -n N
-t T -r 1 --json` on each conversion, interleaved, so that load that comes and goes hits every
side; each row is the median over the rounds, its ratios against TQ2_0's medians of the same
run, beside the issue's targets. llama.cpp is timed from its native build (`tools/llama-cpp
--build-native`) when there is one for this processor, else from the portable build; the line
under the table says which.

  .venv/bin/python tools/speed_bench_700m.py [--dir /tmp/bench-700m] [--threads 2] [-p 128] [-n 32]
                                             [--rounds 5] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from xnortools import markdown
from xnortools.cli import Xnor
from xnortools.paths import ROOT, TOOLS
from xnortools.speed import Subject, interleave, llama_bench, llama_build, xnor_bench

# llama.cpp's types, bits per weight of their blocks (ggml's block sizes: TQ2_0 66 bytes per
# 256, TQ1_0 54 per 256, Q1_0 18 per 128, Q4_0 18 per 32)
LLAMA_TYPES = {"TQ2_0": 2.0625, "TQ1_0": 1.6875, "Q1_0": 1.125, "Q4_0": 4.5}
ANCHOR = "llama.cpp TQ2_0"


@dataclass
class Conversion:
    name: str
    args: list[str]
    # the targets, as ratios to TQ2_0 (a llama.cpp subject's name: its ratio)
    pp_target: float | str | None = None
    tg_target: float | str | None = None


CONVERSIONS = [
    Conversion("w1.58a8", ["--mode", "w1.58a8"], pp_target=2.0, tg_target=1.5),
    Conversion("w1a1", ["--mode", "w1a1"], pp_target=6.0, tg_target=2.5),
    Conversion("b1g64", ["--mode", "w1a8", "--weight-format", "b1g64", "--rotate"], tg_target="llama.cpp Q1_0"),
    Conversion("b2g128", ["--mode", "w1a8", "--weight-format", "b2g128", "--rotate"], tg_target=ANCHOR),
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make(out: Path, cmd: list, env: dict | None = None) -> str | None:
    """Runs `cmd` to write `out` unless `out` exists beside a .cmd of the same command; returns
    None when `out` is there, else why not (the tail of the tool's stderr)."""
    cmd = [str(c) for c in cmd]
    stamp = out.with_name(out.name + ".cmd")
    if out.exists() and stamp.exists() and stamp.read_text() == " ".join(cmd):
        return None
    out.unlink(missing_ok=True)
    log(f"making {out.name}: {' '.join(cmd)}")
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, env=env)
    if r.returncode != 0 or not out.exists():
        out.unlink(missing_ok=True)
        return f"exit status {r.returncode}: {r.stderr.decode('utf-8', 'replace').strip()[-300:]}"
    stamp.write_text(" ".join(cmd))
    return None


def target_cell(target, ratio: float | None, rows_by_name: dict) -> str:
    """'≥ 1.5 ✓' (or ✗); a target given as a llama.cpp subject is that subject's ratio."""
    if target is None:
        return ""
    if isinstance(target, str):
        anchor_row = rows_by_name.get(target)
        if anchor_row is None or anchor_row.get("tg_ratio") is None:
            return f"≥ {target.removeprefix('llama.cpp ')} (not measured)"
        label, target = target.removeprefix("llama.cpp "), anchor_row["tg_ratio"]
        prefix = f"≥ {label} ({target:.3f})"
    else:
        prefix = f"≥ {target:g}"
    if ratio is None:
        return prefix
    return f"{prefix} {'✓' if ratio >= target else '✗'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xnor", type=Path, default=ROOT / ".build" / "release" / "xnor")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-700m"), help="where the models are made and cached")
    parser.add_argument("--threads", default="2", help="comma-separated thread counts")
    parser.add_argument("-p", type=int, default=128)
    parser.add_argument("-n", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    xnor = Xnor(args.xnor)
    if not os.access(args.xnor, os.X_OK):
        sys.exit(f"{args.xnor} is missing: swift build -c release --product xnor")
    build = llama_build(log)
    args.dir.mkdir(parents=True, exist_ok=True)

    source = args.dir / "model.f16.gguf"
    refused: dict[str, str] = {}
    if (why := make(source, [sys.executable, TOOLS / "gen_bench_llm.py", source, "--gguf"])) is not None:
        sys.exit(f"tools/gen_bench_llm.py --gguf failed: {why}")

    notes = []
    subjects, sizes, bits = [], {}, {}
    env = dict(os.environ, LD_LIBRARY_PATH=str(build.bin))
    for qtype, bpw in LLAMA_TYPES.items():
        name, out = f"llama.cpp {qtype}", args.dir / f"model.{qtype.lower()}.gguf"
        why = make(out, [build.tool("llama-quantize"), "--token-embedding-type", "q8_0", "--output-tensor-type", "q8_0",
                         source, out, qtype, os.cpu_count() or 1], env=env)
        if why is not None:
            refused[name] = f"llama-quantize: {why}"
            continue
        sizes[name], bits[name] = out.stat().st_size, bpw
        subjects.append(Subject(name, lambda t, m=out: llama_bench(build, m, t, args.p, args.n)))

    help_text = xnor.run(["convert", "--help"], timeout=60).stdout.decode()
    kept = ["--output-type", "q8_0", "--token-embedding-type", "q8_0"]
    if "--output-type" not in help_text:
        kept = []
        notes.append("this xnor has no `convert --output-type`: its output projection and token embedding stay F16")
    targets = {}
    for c in CONVERSIONS:
        name, out = f"xnor {c.name}", args.dir / f"model.{c.name}.xnor"
        report = out.with_suffix(".report.json")
        why = make(out, [args.xnor, "convert", source, "-o", out, *c.args, *kept, "--report", report, "--force", "--quiet"])
        if why is not None:
            refused[name] = f"xnor convert: {why}"
            continue
        sizes[name] = out.stat().st_size
        bits[name] = json.loads(report.read_text()).get("bits_per_weight")
        targets[name] = c
        subjects.append(Subject(name, lambda t, m=out: xnor_bench(xnor, m, t, args.p, args.n)))

    if ANCHOR not in {s.name for s in subjects}:
        notes.append(f"{ANCHOR} did not run: no ratios")
    rows = interleave(subjects, [int(t) for t in args.threads.split(",")], args.rounds, ANCHOR, log)
    rows += [{"name": name, "threads": "-", "refused": why} for name, why in refused.items()]
    for r in rows:
        r["file_mib"] = sizes[r["name"]] / 2**20 if r["name"] in sizes else None
        r["bits_per_weight"] = bits.get(r["name"])

    def cells(r):
        by_name = {x["name"]: x for x in rows if x["threads"] == r["threads"]}
        c = targets.get(r["name"])
        return [str(r["threads"]), markdown.number(r["bits_per_weight"]), markdown.number(r["file_mib"], 1),
                markdown.number(r["pp"], 2), markdown.number(r["pp_ratio"]),
                target_cell(c and c.pp_target, r["pp_ratio"], by_name),
                markdown.number(r["tg"], 2), markdown.number(r["tg_ratio"]),
                target_cell(c and c.tg_target, r["tg_ratio"], by_name),
                markdown.number(r["peak_rss_mib"], 1)]

    print(markdown.table(["subject", "threads", "bits/weight", "file MiB", f"pp{args.p} t/s", "× TQ2_0", "target",
                          f"tg{args.n} t/s", "× TQ2_0", "target", "peak RSS MiB"], rows, cells))
    print(f"\nllama.cpp build: {build.label}, {build.bin}; {args.rounds} round(s), medians. "
          f"bits/weight: of the projections, scales included; token_embd and output are Q8_0"
          f"{'' if kept else ' on the llama.cpp side'}.")
    for note in notes:
        print(f"note: {note}")
    if args.json:
        args.json.write_text(json.dumps({"llama_cpp_build": build.label, "notes": notes, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
