#!/usr/bin/env python3
"""Fidelity of 1-bit conversions on SmolLM2-135M against llama.cpp's low-bit types (issue 14).

Every row is measured in this run, on the same held-out text and chunks:
  - llama.cpp anchors: `llama-quantize --allow-requantize` (token embeddings and output at Q8_0,
    as our converter keeps them) then `llama-perplexity --kl-divergence` against the source's
    logits. Bits per weight are those of the quantized block matrices in the written file,
    after llama-quantize's fallbacks (rows that are not multiples of 256 fall back).
  - xnor conversions: `xnor convert` with each configuration's options, then
    `xnor perplexity --kl-divergence SOURCE`. Bits per weight come from convert's --json
    report: planes and scales of the converted matrices, scales at their stored size.
Calibration text (--calibrate) and the scored text are different files.

  tools/fidelity_bench.py [--configs NAME,...] [--anchors TYPE,...] [--chunks N] [--json OUT]

Prints a markdown table: bits per weight, PPL ratio, mean KLD, same-top, convert seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from xnortools import markdown
from xnortools.cli import Xnor, parse_json
from xnortools.markdown import number
from xnortools.paths import FIXTURES, ROOT, VENV, SMOLLM2_PACKAGE, SMOLLM2_FILE, llama_binary, LLAMA_BUILD

GGUF = VENV / "lib" / "python3.11" / "site-packages" / SMOLLM2_PACKAGE / SMOLLM2_FILE
EVAL_TEXT = FIXTURES / "text" / "xz-history.txt"
# Calibration: Debian's licence texts, which the scored text does not contain.
CALIBRATION_FILES = ["GPL-3", "Apache-2.0", "GFDL-1.3", "MPL-2.0", "LGPL-2.1", "GPL-2", "Artistic"]

# name → convert options (after SOURCE -o OUT); the script puts its calibration text in place of
# CALIB.
CONFIGS: dict[str, list[str]] = {
    "w1a8": ["--mode", "w1a8"],
    "w1.58a8": ["--mode", "w1.58a8"],
    "b3g192 rtn": ["--mode", "w1a8", "--weight-format", "b3g192"],
    "b3g192 rotated rtn": ["--mode", "w1a8", "--weight-format", "b3g192", "--rotate"],
    "b3g192 rotated gptq": ["--mode", "w1a8", "--weight-format", "b3g192", "--rotate", "--calibrate", "CALIB"],
    "b2g128 rotated gptq": ["--mode", "w1a8", "--weight-format", "b2g128", "--rotate", "--calibrate", "CALIB"],
    "b1g64 rotated gptq": ["--mode", "w1a8", "--weight-format", "b1g64", "--rotate", "--calibrate", "CALIB"],
    "bits 3.25": ["--mode", "w1a8", "--rotate", "--calibrate", "CALIB", "--bits", "3.25"],
    "bits 2.25": ["--mode", "w1a8", "--rotate", "--calibrate", "CALIB", "--bits", "2.25"],
    "bits 1.25": ["--mode", "w1a8", "--rotate", "--calibrate", "CALIB", "--bits", "1.25"],
}
ANCHORS = ["Q4_0", "Q2_K", "TQ2_0", "TQ1_0", "Q1_0"]


def run(cmd: list, timeout: float = 7200) -> subprocess.CompletedProcess:
    env = dict(os.environ, LD_LIBRARY_PATH=str(LLAMA_BUILD))
    return subprocess.run([str(c) for c in cmd], capture_output=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)


def llama_figures(text: str) -> dict:
    """The summary llama-perplexity --kl-divergence prints."""
    def grab(pattern: str) -> float | None:
        m = re.search(pattern, text)
        return float(m.group(1)) if m else None
    return {
        "ppl_q": grab(r"Mean PPL\(Q\)\s*:\s*([0-9.eE+-]+)"),
        "ppl_base": grab(r"Mean PPL\(base\)\s*:\s*([0-9.eE+-]+)"),
        "ppl_ratio": grab(r"Mean PPL\(Q\)/PPL\(base\)\s*:\s*([0-9.eE+-]+)"),
        "kld": grab(r"Mean\s+KLD:\s*([0-9.eE+-]+)"),
        "same_top": grab(r"Same top p:\s*([0-9.eE+-]+)"),
    }


def block_bits(path: Path) -> float:
    """Bits per weight of the 2-D block matrices (blk.*.weight) of a GGUF."""
    sys.path.insert(0, str(VENV))
    import gguf  # noqa: E402
    reader = gguf.GGUFReader(str(path))
    bits = weights = 0
    for t in reader.tensors:
        if t.name.startswith("blk.") and t.name.endswith(".weight") and len(t.shape) == 2:
            bits += int(t.n_bytes) * 8
            weights += int(t.n_elements)
    return bits / weights


def anchor(kind: str, work: Path, text: Path, ctx: int, chunks: int, base_logits: Path) -> dict:
    out = work / f"anchor-{kind}.gguf"
    started = time.monotonic()
    q = run([llama_binary("llama-quantize"), "--allow-requantize", "--token-embedding-type", "q8_0",
             "--output-tensor-type", "q8_0", GGUF, out, kind])
    seconds = time.monotonic() - started
    if q.returncode != 0:
        last = (q.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1]
        return {"name": f"llama.cpp {kind}", "refused": last[:160]}
    p = run([llama_binary("llama-perplexity"), "-m", out, "-f", text, "-c", ctx, "--chunks", chunks,
             "--kl-divergence-base", base_logits, "--kl-divergence", "-t", os.cpu_count() or 1])
    figures = llama_figures(p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace"))
    row = {"name": f"llama.cpp {kind}", "bits": block_bits(out), "convert_seconds": seconds, **figures}
    out.unlink(missing_ok=True)
    return row


def ours(name: str, options: list[str], xnor: Xnor, work: Path, text: Path, ctx: int, chunks: int,
         calibration: Path) -> dict:
    out = work / "model.xnor"
    report_path = work / "report.json"
    args = ["convert", GGUF, "-o", out, "--force", "--quiet", "--report", report_path] + options
    if "--calibrate" in options:
        args[args.index("--calibrate") + 1] = calibration
    started = time.monotonic()
    c = xnor.run(args, timeout=7200)
    seconds = time.monotonic() - started
    if c.returncode != 0:
        return {"name": name, "refused": c.describe_failure()}
    report = parse_json(report_path.read_bytes())
    p = xnor.run(["perplexity", out, "-f", text, "--ctx", ctx, "--chunks", chunks, "--kl-divergence", GGUF, "--json"],
                 timeout=7200)
    if p.returncode != 0:
        return {"name": name, "refused": p.describe_failure()}
    kl = parse_json(p.stdout)["kl_divergence"]
    return {"name": name, "bits": report.get("bits_per_weight"), "convert_seconds": seconds,
            "ppl_q": kl["ppl_q"]["value"], "ppl_base": kl["ppl_base"]["value"], "ppl_ratio": kl["ppl_ratio"]["value"],
            "kld": kl["kld_mean"]["value"], "same_top": kl["same_top_p"]["value"] * 100, "options": options}


def table(rows: list[dict]) -> str:
    return markdown.table(["conversion", "bits/weight", "PPL ratio", "mean KLD", "same top %", "convert s"], rows, lambda r: [
        number(r.get("bits"), 2), number(r.get("ppl_ratio")), number(r.get("kld")), number(r.get("same_top"), 2),
        number(r.get("convert_seconds"), 0)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xnor", type=Path, default=ROOT / ".build" / "release" / "xnor")
    parser.add_argument("--text", type=Path, default=EVAL_TEXT)
    parser.add_argument("--ctx", type=int, default=256)
    parser.add_argument("--chunks", type=int, default=7)
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names of CONFIGS, or NAME=OPTIONS with the options space-separated")
    parser.add_argument("--anchors", default=",".join(ANCHORS), help="llama.cpp types, or '' for none")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()

    xnor = Xnor(args.xnor)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="xnor-fidelity-") as tmp:
        work = Path(tmp)
        calibration = work / "calibration.txt"
        calibration.write_text("\n\n".join(Path("/usr/share/common-licenses", f).read_text() for f in CALIBRATION_FILES))
        anchors = [a for a in args.anchors.split(",") if a]
        if anchors:
            base_logits = work / "base.kld"
            b = run([llama_binary("llama-perplexity"), "-m", GGUF, "-f", args.text, "-c", args.ctx, "--chunks",
                     args.chunks, "--kl-divergence-base", base_logits, "-t", os.cpu_count() or 1])
            if b.returncode != 0:
                print(f"llama-perplexity on the source failed: {b.stderr.decode(errors='replace')[-300:]}", file=sys.stderr)
                return 1
            for kind in anchors:
                rows.append(anchor(kind, work, args.text, args.ctx, args.chunks, base_logits))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
        for item in [c for c in args.configs.split(",") if c]:
            name, _, given = item.partition("=")
            options = given.split() if given else CONFIGS[name]
            rows.append(ours(name, options, xnor, work, args.text, args.ctx, args.chunks, calibration))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(f"SmolLM2-135M-Instruct (Q4_1 source), {args.text.name}, {args.chunks} chunks of {args.ctx} tokens")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
