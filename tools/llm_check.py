#!/usr/bin/env python3
"""The LLM path through the CLI, against independent references (issue 6).

For every checkpoint in fixtures/llm (and the demo model in fixtures/demo):
  1. `xnor run FOLDER --tokens ... -o out.npy` and the same from each GGUF of the case match
     transformers' float64 logits (ref_float.npy, or ref_gguf / ref_dequantized_* for a GGUF;
     ref_bitnet.npy for a packed BitNet folder, whose BitLinear quantizes activations)
     to 1e-4 relative;
  2. `xnor convert` (default mode) writes a .xnor that `xnor run` runs, and `xnor verify --json`
     passes its per-op check; its KL divergence, same-top-1 share and perplexities against the
     source equal what numpy computes from the two models' logits as `xnor run` wrote them;
  3. the demo model (fixtures/demo) converts and verifies on its held-out prompts, and greedy
     decoding with the KV cache (`xnor run --n-predict`) gives transformers' greedy ids
     (fixtures/demo/tiny-llama/greedy_ids.txt).
Prints one line per check and `N passed, N failed`; exit 1 on any failure.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from xnortools.cli import Xnor
from xnortools.compare import log_softmax, relative_error
from xnortools.paths import ROOT
from xnortools.report import Report

LLM = ROOT / "fixtures" / "llm"
DEMO = ROOT / "fixtures" / "demo" / "tiny-llama"


def reference_of(case: Path, source: Path) -> Path:
    # A packed BitNet folder defines transformers' BitLinear / AutoBitLinear (int8 activations
    # per token): its reference is that model's logits, not the float product of ref_float.
    # Its F32 model.gguf holds codes × γ with no activation quantization (llama.cpp's float
    # product), so ref_float stays the GGUF's reference.
    if source.is_dir() and json.loads((case / "config.json").read_text()).get("quantization_config", {}).get("quant_method") == "bitnet":
        return case / "ref_bitnet.npy"
    if source.is_dir() or source.name == "model.gguf":
        return case / "ref_gguf.npy" if source.name == "model.gguf" and (case / "ref_gguf.npy").exists() else case / "ref_float.npy"
    quantization = source.name[len("model."):-len(".gguf")]
    return case / f"ref_dequantized_{quantization}.npy"


def run_logits(xnor: Xnor, model: Path, tokens: str, out: Path) -> tuple[np.ndarray | None, str | None]:
    r = xnor.run(["run", model, "--tokens", tokens, "-o", out, "--force"], timeout=300)
    if r.returncode != 0:
        return None, r.describe_failure()
    return np.load(out), None


def check_metrics(report: Report, label: str, verify: dict, ours: np.ndarray, source: np.ndarray, tokens: list[int]):
    lm = verify.get("language_model_against_source")
    if lm is None:
        report.check(f"{label} verify reports LM metrics", "no language_model_against_source in --json")
        return
    lp, lq = log_softmax(source), log_softmax(ours)
    kl = (np.exp(lp) * (lp - lq)).sum(axis=-1)
    same = 100.0 * float((source.argmax(-1) == ours.argmax(-1)).mean())
    nll_p = -np.mean([lp[t, tokens[t + 1]] for t in range(len(tokens) - 1)])
    nll_q = -np.mean([lq[t, tokens[t + 1]] for t in range(len(tokens) - 1)])
    expected = {"kl mean": kl.mean(), "kl max": kl.max(), "kl p99": np.percentile(kl, 99), "kl median": np.median(kl),
                "same top-1 %": same, "ppl source": np.exp(nll_p), "ppl ours": np.exp(nll_q)}
    got = {"kl mean": lm["kl_divergence"]["mean"], "kl max": lm["kl_divergence"]["max"], "kl p99": lm["kl_divergence"]["p99"],
           "kl median": lm["kl_divergence"]["median"], "same top-1 %": lm["same_top1_percent"],
           "ppl source": lm["perplexity_reference"], "ppl ours": lm["perplexity_ours"]}
    problems = [f"{k}: ours {got[k]:.9g}, numpy {expected[k]:.9g}" for k in expected
                if not np.isclose(got[k], expected[k], rtol=1e-5, atol=1e-6)]
    report.check(f"{label} verify's KL, top-1 and perplexity equal numpy's on the run outputs", problems)


def check_case(report: Report, xnor: Xnor, case: Path, work: Path):
    name = case.name
    tokens = [int(t) for t in np.load(case / "tokens.npy")]
    token_text = ",".join(map(str, tokens))
    for source in [case] + sorted(case.glob("*.gguf")):
        label = f"{name}/{source.name if source != case else '(folder)'}"
        reference = reference_of(case, source)
        ours, failure = run_logits(xnor, source, token_text, work / f"{name}-{source.name}.npy")
        if failure:
            report.check(f"{label} run", failure)
            continue
        error = relative_error(ours, np.load(reference))
        report.check(f"{label} run matches {reference.name} (relative {error:.2e})", None if error <= 1e-4 else f"relative error {error:.3g} > 1e-4")
    converted = work / f"{name}.xnor"
    r = xnor.run(["convert", case, "-o", converted, "--quiet", "--force"], timeout=300)
    if not report.check(f"{name} convert", None if r.returncode == 0 else r.describe_failure()):
        return
    ours, failure = run_logits(xnor, converted, token_text, work / f"{name}-xnor.npy")
    if not report.check(f"{name} .xnor runs", failure):
        return
    r = xnor.run(["verify", converted, "--source", case, "--tokens", token_text, "--json"], timeout=600)
    if not report.check(f"{name} verify exit 0", None if r.returncode == 0 else r.describe_failure()):
        return
    verify = json.loads(r.stdout)
    report.check(f"{name} verify per-op check", None if verify["ops_passed"] else "ops_passed is false")
    if "last_hidden_state" in [c["output"] for c in verify["against_source"]]:
        return  # an encoder: no next-token metrics
    source_logits = np.load(work / f"{name}-{case.name}.npy")
    check_metrics(report, name, verify, ours, source_logits, tokens)


def check_gemma_w1a8(report: Report, xnor: Xnor, case: Path, work: Path):
    """Gemma from both sources converts in w1a8, verifies, and runs within cosine 0.999 per
    position of the simulated reference (sim_gguf_w1a8 for a GGUF that llama.cpp reads as
    another model than the folder)."""
    tokens = ",".join(str(int(t)) for t in np.load(case / "tokens.npy"))
    for source in [case, case / "model.gguf"]:
        label = f"{case.name}/{source.name if source != case else '(folder)'} w1a8"
        converted = work / f"{case.name}-{source.name}.w1a8.xnor"
        r = xnor.run(["convert", source, "-o", converted, "--mode", "w1a8", "--quiet", "--force"], timeout=300)
        if not report.check(f"{label} convert", None if r.returncode == 0 else r.describe_failure()):
            continue
        r = xnor.run(["verify", converted, "--source", source, "--tokens", tokens, "--json"], timeout=600)
        report.check(f"{label} verify", None if r.returncode == 0 and json.loads(r.stdout)["ops_passed"] else r.describe_failure())
        ours, failure = run_logits(xnor, converted, tokens, work / f"{case.name}-{source.name}-w1a8.npy")
        if not report.check(f"{label} runs", failure):
            continue
        sim = case / "sim_gguf_w1a8.npy" if source != case and (case / "sim_gguf_w1a8.npy").exists() else case / "sim_w1a8.npy"
        reference = np.load(sim)
        cosine = float(np.min(np.sum(ours * reference, -1) / (np.linalg.norm(ours, axis=-1) * np.linalg.norm(reference, axis=-1))))
        report.check(f"{label} follows {sim.name} (min cosine {cosine:.6f})", None if cosine >= 0.999 else f"min cosine {cosine} < 0.999")


def check_outputs_checked_first(report: Report, xnor: Xnor, work: Path):
    """convert checks every name it would write before writing any (issue 7)."""
    out = work / "first.xnor"
    (work / "first.xnor.zst").write_bytes(b"the user's file")
    r = xnor.run(["convert", LLM / "llama", "-o", out, "--compress", "zstd", "--quiet"], timeout=300)
    problems = []
    if r.returncode != 1 or b"first.xnor.zst" not in r.stderr:
        problems.append(f"expected exit 1 naming first.xnor.zst: {r.describe_failure()}")
    if out.exists():
        problems.append("first.xnor was written although first.xnor.zst was refused")
    if (work / "first.xnor.zst").read_bytes() != b"the user's file":
        problems.append("the existing .zst was changed")
    report.check("convert refuses an existing OUT.xnor.zst before writing OUT.xnor", problems)


def check_demo(report: Report, xnor: Xnor, work: Path):
    # tools/demo's job: convert the demo model, verify it on the held-out prompts.
    converted = work / "demo.xnor"
    r = xnor.run(["convert", DEMO, "-o", converted, "--quiet"], timeout=300)
    if report.check("demo convert", None if r.returncode == 0 else r.describe_failure()):
        r = xnor.run(["verify", converted, "--source", DEMO, "--prompt-ids", DEMO / "prompt-ids.txt", "--json"], timeout=900)
        if report.check("demo verify on the held-out prompts", None if r.returncode == 0 else r.describe_failure()):
            verify = json.loads(r.stdout)
            lm = verify["language_model_against_source"]
            report.check(f"demo verify covers the 4 prompts ({lm['positions']} positions) and passes its per-op check",
                         None if verify["ops_passed"] and lm["positions"] == 4 * 48 else f"ops_passed {verify['ops_passed']}, positions {lm['positions']}")
    expected = [int(t) for t in (DEMO / "greedy_ids.txt").read_text().strip().split(",")]
    prompt = (DEMO / "prompt-ids.txt").read_text().splitlines()[0]
    count = len(expected) - len(prompt.split(","))
    r = xnor.run(["run", DEMO, "--tokens", prompt, "--n-predict", count], timeout=600)
    if not report.check("demo greedy decoding runs", None if r.returncode == 0 else r.describe_failure()):
        return
    line = next((l for l in r.stdout.decode().splitlines() if l.startswith("generated: ")), "generated: ")
    generated = [int(t) for t in line[len("generated: "):].split(",") if t]
    report.check(f"demo greedy decoding with the KV cache gives transformers' {count} ids",
                 None if prompt.split(",") + [str(t) for t in generated] == [str(t) for t in expected]
                 else f"ours {generated}, transformers {expected[-count:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xnor", type=Path, default=ROOT / ".build" / "debug" / "xnor")
    parser.add_argument("--only", nargs="+", metavar="CASE", help="check only these fixtures/llm cases (no demo)")
    args = parser.parse_args()
    xnor = Xnor(args.xnor)
    report = Report()
    with tempfile.TemporaryDirectory() as work:
        for case in sorted(p for p in LLM.iterdir() if (p / "config.json").exists()):
            if not args.only or case.name in args.only:
                check_case(report, xnor, case, Path(work))
                if case.name.startswith("gemma"):
                    check_gemma_w1a8(report, xnor, case, Path(work))
        if not args.only:
            check_demo(report, xnor, Path(work))
            check_outputs_checked_first(report, xnor, Path(work))
    print(report.summary())
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
