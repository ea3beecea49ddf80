#!/usr/bin/env python3
"""Decode and prompt speed of xnor against llama.cpp on SmolLM2-135M, in the same run (issue 15).

Interleaved rounds on the same machine, so load that comes and goes hits both sides:
  - llama.cpp: `llama-bench -m SOURCE.gguf -p P -n N -t T -r 1 -o json` on the model's own Q4_1 file;
  - xnor on the same source GGUF (`xnor bench SOURCE.gguf`), and on each converted .xnor given.
Each row is the median over the rounds of tokens per second; the ratio is against llama.cpp's
median in the same run.

  tools/speed_bench.py [--xnor-model M.xnor ...] [--threads 1,2] [-p 128] [-n 32] [--rounds 5] [--json OUT]

The default .xnor is out/smollm2.calibrated.xnor, which tools/demo writes.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from xnortools import markdown
from xnortools.cli import Xnor, parse_json
from xnortools.paths import LLAMA_BUILD, ROOT, SMOLLM2_FILE, SMOLLM2_PACKAGE, VENV, llama_binary

SOURCE = VENV / "lib" / "python3.11" / "site-packages" / SMOLLM2_PACKAGE / SMOLLM2_FILE


def llama_bench(threads: int, p: int, n: int) -> dict[str, float]:
    env = dict(os.environ, LD_LIBRARY_PATH=str(LLAMA_BUILD))
    out = subprocess.run([str(llama_binary("llama-bench")), "-m", str(SOURCE), "-p", str(p), "-n", str(n), "-t", str(threads),
                          "-r", "1", "-o", "json"], capture_output=True, env=env, timeout=1800, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        sys.exit(f"llama-bench failed: {out.stderr.decode()[-400:]}")
    rates = {}
    for test in json.loads(out.stdout):
        rates["pp" if test["n_prompt"] > 0 else "tg"] = float(test["avg_ts"])
    return rates


def xnor_bench(xnor: Xnor, model: Path, threads: int, p: int, n: int) -> dict[str, float]:
    r = xnor.run(["bench", model, "-p", p, "-n", n, "-t", threads, "-r", 1, "--json"], timeout=3600)
    if r.returncode != 0:
        sys.exit(f"xnor bench {model} failed: {r.describe_failure()}")
    result = parse_json(r.stdout)
    return {"pp": result["pp_tokens_per_s"], "tg": result["tg_tokens_per_s"], "rss": result["peak_rss_bytes"]}


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
    subjects = [("llama.cpp Q4_1", None)] + [("xnor, source Q4_1 GGUF", SOURCE)] + [(f"xnor {m.name}", m) for m in models]
    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        samples: dict[str, list[dict]] = {name: [] for name, _ in subjects}
        for _ in range(args.rounds):
            for name, model in subjects:
                samples[name].append(llama_bench(threads, args.p, args.n) if model is None else xnor_bench(xnor, model, threads, args.p, args.n))
        anchor = {k: statistics.median(s[k] for s in samples["llama.cpp Q4_1"]) for k in ("pp", "tg")}
        for name, _ in subjects:
            pp = statistics.median(s["pp"] for s in samples[name])
            tg = statistics.median(s["tg"] for s in samples[name])
            rss = max((s.get("rss", 0) for s in samples[name]), default=0)
            rows.append({"name": name, "threads": threads, "pp": pp, "tg": tg, "pp_ratio": pp / anchor["pp"],
                         "tg_ratio": tg / anchor["tg"], "peak_rss_mib": rss / 2**20 if rss else None})
    print(markdown.table(["subject", "threads", f"pp{args.p} t/s", "× llama.cpp", f"tg{args.n} t/s", "× llama.cpp", "peak RSS MiB"], rows,
                         lambda r: [str(r["threads"]), markdown.number(r["pp"]), markdown.number(r["pp_ratio"]),
                                    markdown.number(r["tg"]), markdown.number(r["tg_ratio"]),
                                    markdown.number(r["peak_rss_mib"]) if r["peak_rss_mib"] else ""]))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
