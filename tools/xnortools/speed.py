"""Speed side by side with llama.cpp (issue 15), shared by tools/speed_bench.py (SmolLM2) and
tools/speed_bench_700m.py: one llama-bench or `xnor bench` run per call, rounds interleaved over
the subjects so that load that comes and goes hits every side, medians and ratios per thread count.

Peak RSS is the ru_maxrss of the child (os.wait4) for llama-bench, the figure `xnor bench` reports
of itself (getrusage) for xnor: the same measure of both.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .cli import Xnor, parse_json
from .paths import LLAMA_BUILD, LLAMA_NATIVE, LLAMA_SERVER, MissingTool


class BenchFailed(Exception):
    """A subject that did not run (llama.cpp refusing a model, xnor exiting with an error)."""


@dataclass
class LlamaBuild:
    bin: Path
    label: str

    def tool(self, name: str) -> Path:
        return self.bin / name


def this_machine() -> bytes:
    """What tools/llama-cpp's `machine` writes beside a native build: the processor's model name
    and flags lines of /proc/cpuinfo."""
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    pick = [next((l for l in lines if l.startswith(k)), None) for k in ("model name", "flags")]
    return "".join(l + "\n" for l in pick if l is not None).encode()


def built_here(folder: Path) -> bool:
    """Whether the native build in `folder` was made on this processor (its `machine` stamp)."""
    stamp = folder / "machine"
    return stamp.is_file() and stamp.read_bytes() == this_machine()


def llama_build(log: Callable[[str], None]) -> LlamaBuild:
    """The llama.cpp build to time: the native one when it was built on this processor (it is how
    llama.cpp's users build it), else the portable x86-64-v3 build, said so through `log`."""
    native = LLAMA_NATIVE / "bin"
    if os.access(native / "llama-bench", os.X_OK):
        if built_here(LLAMA_NATIVE):
            return LlamaBuild(native, "native (GGML_NATIVE=ON)")
        log(f"{LLAMA_NATIVE} was built on another processor: timing the portable build (tools/llama-cpp --build-native rebuilds it)")
    else:
        log("no native llama.cpp build: timing the portable x86-64-v3 one, slower than llama.cpp as its users build it "
            "(tools/llama-cpp --build-native makes it)")
    if not os.access(LLAMA_BUILD / "llama-bench", os.X_OK):
        raise MissingTool(f"{LLAMA_BUILD / 'llama-bench'} is missing: run tools/llama-cpp --build (or --build-native)")
    return LlamaBuild(LLAMA_BUILD, "portable x86-64-v3 (GGML_NATIVE=OFF)")


def llama_server_build() -> LlamaBuild:
    """The llama-server that `tools/llama-cpp --build-server` made (native only: there is no
    portable one to fall back on); MissingTool when it is missing or was made on another
    processor, where it may die of an illegal instruction."""
    server = LLAMA_SERVER / "bin"
    if not os.access(server / "llama-server", os.X_OK):
        raise MissingTool(f"{server / 'llama-server'} is missing: run tools/llama-cpp --build-server")
    if not built_here(LLAMA_SERVER):
        raise MissingTool(f"{LLAMA_SERVER} was built on another processor: run tools/llama-cpp --build-server, which rebuilds it")
    return LlamaBuild(server, "native (GGML_NATIVE=ON)")


def run_measured(cmd: list, timeout: float, env: dict | None = None) -> tuple[int | None, bytes, bytes, int]:
    """(exit status or None on timeout, stdout, stderr, peak RSS bytes) of one child; wait4 gives
    the child's own ru_maxrss, where RUSAGE_CHILDREN would give the largest child so far."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        deadline = time.monotonic() + timeout
        status = None
        while True:
            pid, wait_status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                status = os.waitstatus_to_exitcode(wait_status)
                break
            if time.monotonic() > deadline:
                p.kill()
                _, _, usage = os.wait4(p.pid, 0)
                break
            time.sleep(0.05)
        p.returncode = -9 if status is None else status   # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        return status, out.read(), err.read(), usage.ru_maxrss * 1024


def llama_bench(build: LlamaBuild, model: Path, threads: int, p: int, n: int) -> dict[str, float]:
    cmd = [build.tool("llama-bench"), "-m", model, "-p", p, "-n", n, "-t", threads, "-r", 1, "-o", "json"]
    status, out, err, rss = run_measured(cmd, timeout=1800, env=dict(os.environ, LD_LIBRARY_PATH=str(build.bin)))
    if status != 0:
        raise BenchFailed(f"llama-bench {model.name}: {'timed out' if status is None else f'exit status {status}'}: "
                          f"{err.decode('utf-8', 'replace').strip()[-300:]}")
    rates = {"rss": rss}
    for test in json.loads(out):
        rates["pp" if test["n_prompt"] > 0 else "tg"] = float(test["avg_ts"])
    return rates


def xnor_bench(xnor: Xnor, model: Path, threads: int, p: int, n: int) -> dict[str, float]:
    r = xnor.run(["bench", model, "-p", p, "-n", n, "-t", threads, "-r", 1, "--json"], timeout=3600)
    if r.returncode != 0:
        raise BenchFailed(f"xnor bench {model.name}: {r.describe_failure()}")
    result = parse_json(r.stdout)
    return {"pp": result["pp_tokens_per_s"], "tg": result["tg_tokens_per_s"], "rss": result["peak_rss_bytes"]}


@dataclass
class Subject:
    name: str
    run: Callable[[int], dict[str, float]]   # threads -> {"pp", "tg", "rss"}


def interleave(subjects: list[Subject], threads: list[int], rounds: int, anchor: str,
               log: Callable[[str], None]) -> list[dict]:
    """Rounds of every subject in turn, per thread count; one row per (subject, threads): median
    pp and tg, their ratios to the anchor's medians of the same thread count, the largest peak
    RSS. A subject that fails is left out of later rounds and its row says why ("refused")."""
    rows = []
    for t in threads:
        samples: dict[str, list[dict]] = {s.name: [] for s in subjects}
        refused: dict[str, str] = {}
        for r in range(rounds):
            for s in subjects:
                if s.name in refused:
                    continue
                log(f"round {r + 1}/{rounds}, {t} thread(s): {s.name}")
                try:
                    samples[s.name].append(s.run(t))
                except BenchFailed as e:
                    refused[s.name] = str(e)
                    log(f"  failed: {e}")

        def median(name, key):
            return statistics.median(x[key] for x in samples[name]) if samples[name] and name not in refused else None
        base = {k: median(anchor, k) for k in ("pp", "tg")}
        for s in subjects:
            if s.name in refused:
                rows.append({"name": s.name, "threads": t, "refused": refused[s.name]})
                continue
            row = {"name": s.name, "threads": t, "pp": median(s.name, "pp"), "tg": median(s.name, "tg"),
                   "peak_rss_mib": max(x["rss"] for x in samples[s.name]) / 2**20}
            for k in ("pp", "tg"):
                row[f"{k}_ratio"] = row[k] / base[k] if base[k] and row[k] is not None else None
            rows.append(row)
    return rows
