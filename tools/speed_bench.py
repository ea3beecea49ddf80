#!/usr/bin/env python3
"""Decode and prompt speed of xnor against llama.cpp on SmolLM2-135M, in the same run (issue 15).

Interleaved rounds on the same machine, so load that comes and goes hits both sides:
  - llama.cpp: `llama-bench -m SOURCE.gguf -p P -n N -t T -r 1 -o json` on the model's own Q4_1 file;
  - xnor on the same source GGUF (`xnor bench SOURCE.gguf`), and on each converted .xnor given.
Each row is the median over the rounds of tokens per second; the ratio is against llama.cpp's
median in the same run. llama.cpp is timed from its native build (`tools/llama-cpp
--build-native`) when there is one for this processor, else from the portable build; the line
under the table says which.

  tools/speed_bench.py [--xnor-model M.xnor ...] [--threads 1,2] [-p 128] [-n 32] [--rounds 5] [--json OUT]

The default .xnor is out/smollm2.calibrated.xnor, which tools/demo writes. The 700M-shape model
has its own script, tools/speed_bench_700m.py.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from xnortools import markdown
from xnortools.cli import Xnor
from xnortools.paths import ROOT, SMOLLM2_FILE, SMOLLM2_PACKAGE, VENV
from xnortools.speed import Subject, interleave, llama_bench, llama_build, xnor_bench

SOURCE = VENV / "lib" / "python3.11" / "site-packages" / SMOLLM2_PACKAGE / SMOLLM2_FILE


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xnor", type=Path, default=ROOT / ".build" / "release" / "xnor")
    parser.add_argument("--xnor-model", type=Path, action="append", help="a converted .xnor (repeatable)")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("-p", type=int, default=128)
    parser.add_argument("-n", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    models = args.xnor_model or [ROOT / "out" / "smollm2.calibrated.xnor"]
    for model in models:
        if not model.exists():
            sys.exit(f"{model} is missing: run tools/demo (it writes the default conversion), or give --xnor-model")
    xnor = Xnor(args.xnor)
    build = llama_build(log)
    anchor = "llama.cpp Q4_1"
    subjects = [Subject(anchor, lambda t: llama_bench(build, SOURCE, t, args.p, args.n))]
    subjects += [Subject(name, lambda t, m=model: xnor_bench(xnor, m, t, args.p, args.n))
                 for name, model in [("xnor, source Q4_1 GGUF", SOURCE)] + [(f"xnor {m.name}", m) for m in models]]
    rows = interleave(subjects, [int(t) for t in args.threads.split(",")], args.rounds, anchor, log)
    print(markdown.table(["subject", "threads", f"pp{args.p} t/s", "× llama.cpp", f"tg{args.n} t/s", "× llama.cpp", "peak RSS MiB"], rows,
                         lambda r: [str(r["threads"]), markdown.number(r["pp"]), markdown.number(r["pp_ratio"]),
                                    markdown.number(r["tg"]), markdown.number(r["tg_ratio"]),
                                    markdown.number(r["peak_rss_mib"])]))
    print(f"\nllama.cpp build: {build.label}, {build.bin}; {args.rounds} round(s), medians")
    if args.json:
        args.json.write_text(json.dumps({"llama_cpp_build": build.label, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
