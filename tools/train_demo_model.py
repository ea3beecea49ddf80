#!/usr/bin/env python3
"""Train the demo model shipped in fixtures/demo/tiny-llama/ (issue 6, section 5).

A byte-level LlamaForCausalLM (vocab 256: token id = byte value, no tokenizer) trained from
scratch on the CPU, on text every Debian machine has: the licence texts under
/usr/share/common-licenses/ (regular files in sorted order; the GFDL, GPL and LGPL symlinks are
skipped because they only repeat GFDL-1.3, GPL-3 and LGPL-3). The last 5% of the bytes are held
out as validation text.

    .venv-gen/bin/python tools/train_demo_model.py [--steps N] [--out fixtures/demo]

Deterministic: fixed seeds, one thread, torch.use_deterministic_algorithms(True), fixed step
count (no wall-clock stopping). About 4-6 minutes of one CPU thread.

Writes (under --out, default fixtures/demo):
  tiny-llama/config.json, tiny-llama/model.safetensors   save_pretrained, bfloat16 weights
  tiny-llama/prompt-ids.txt    4 lines of 48 comma-separated byte ids from the validation text
  tiny-llama/ref_float.npy     float64 logits [48, 256] of the first prompt line (transformers,
                               saved bf16 weights converted to float64, eager attention)
  tiny-llama/greedy_ids.txt    one line: the first prompt followed by 32 greedily decoded ids
  README.md                    what the model is and the figures of this run
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import numpy as np
import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM
from xnortools.paths import ROOT

LICENSES = Path("/usr/share/common-licenses")

SEED = 1234
CONTEXT = 128
BATCH = 16
PEAK_LR = 3e-3
MIN_LR_RATIO = 0.1
WARMUP = 40
WEIGHT_DECAY = 0.1
DEFAULT_STEPS = 720
VAL_FRACTION = 0.05
PROMPT_LEN = 48
N_PROMPTS = 4
N_GREEDY = 32
MAX_FOLDER_BYTES = int(2.5 * 1024 * 1024)


def set_determinism() -> None:
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)


def load_text() -> tuple[bytes, list[str]]:
    names = []
    parts = []
    for p in sorted(LICENSES.iterdir(), key=lambda p: p.name):
        if p.is_symlink() or not p.is_file():
            continue
        names.append(p.name)
        parts.append(p.read_bytes())
    return b"\n".join(parts), names


def make_config() -> LlamaConfig:
    return LlamaConfig(
        vocab_size=256,
        hidden_size=128,
        intermediate_size=352,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        rms_norm_eps=1e-6,
        hidden_act="silu",
    )


def lr_at(step: int, steps: int) -> float:
    """Linear warm-up, then cosine from PEAK_LR down to MIN_LR_RATIO * PEAK_LR."""
    if step < WARMUP:
        return PEAK_LR * (step + 1) / WARMUP
    t = (step - WARMUP) / max(1, steps - WARMUP)
    return PEAK_LR * (MIN_LR_RATIO + (1 - MIN_LR_RATIO) * 0.5 * (1 + math.cos(math.pi * t)))


@torch.no_grad()
def eval_loss(model: LlamaForCausalLM, data: torch.Tensor, max_windows: int | None = None) -> float:
    """Mean next-byte cross-entropy (nats) over consecutive non-overlapping CONTEXT+1 windows."""
    model.eval()
    n = (len(data) - 1) // CONTEXT
    if max_windows is not None:
        n = min(n, max_windows)
    total, count = 0.0, 0
    for start in range(0, n, 32):
        idx = torch.arange(start, min(n, start + 32)) * CONTEXT
        x = torch.stack([data[i : i + CONTEXT] for i in idx.tolist()])
        y = torch.stack([data[i + 1 : i + 1 + CONTEXT] for i in idx.tolist()])
        logits = model(input_ids=x).logits.float()
        total += torch.nn.functional.cross_entropy(
            logits.reshape(-1, 256), y.reshape(-1), reduction="sum"
        ).item()
        count += y.numel()
    model.train()
    return total / count


def pick_prompts(val: bytes) -> list[list[int]]:
    """N_PROMPTS windows of PROMPT_LEN bytes spread over the validation text, each starting at
    the beginning of a line."""
    prompts = []
    for i in range(N_PROMPTS):
        pos = len(val) * i // N_PROMPTS
        nl = val.find(b"\n", pos)
        start = nl + 1 if nl >= 0 else pos
        # start on a line that begins with a letter (skips blank lines, indentation and the
        # rows of asterisks around MPL-2.0's disclaimer)
        while start < len(val) and not chr(val[start]).isalpha():
            nl = val.find(b"\n", start)
            start = nl + 1 if nl >= 0 else len(val)
        if start + PROMPT_LEN > len(val):
            start = len(val) - PROMPT_LEN
        prompts.append(list(val[start : start + PROMPT_LEN]))
    return prompts


def show(ids: list[int]) -> str:
    return bytes(ids).decode("latin-1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--out", type=Path, default=ROOT / "fixtures" / "demo")
    args = ap.parse_args()
    steps = args.steps

    set_determinism()
    text, names = load_text()
    n_val = int(len(text) * VAL_FRACTION)
    train_bytes, val_bytes = text[:-n_val], text[-n_val:]
    train = torch.tensor(list(train_bytes), dtype=torch.long)
    val = torch.tensor(list(val_bytes), dtype=torch.long)
    print(f"text: {len(text)} bytes from {len(names)} files ({', '.join(names)})")
    print(f"train {len(train_bytes)} bytes, validation {len(val_bytes)} bytes (last {VAL_FRACTION:.0%})")

    config = make_config()
    config._attn_implementation = "sdpa"
    model = LlamaForCausalLM(config)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params}")

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "embed" not in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}],
        lr=PEAK_LR, betas=(0.9, 0.95), eps=1e-8,
    )
    gen = torch.Generator().manual_seed(SEED)
    offsets = torch.arange(CONTEXT + 1)

    t0 = time.time()
    recent = []
    for step in range(steps):
        lr = lr_at(step, steps)
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, len(train) - CONTEXT - 1, (BATCH,), generator=gen)
        chunk = train[starts[:, None] + offsets[None, :]]
        x, y = chunk[:, :-1], chunk[:, 1:]
        logits = model(input_ids=x).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 256), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        recent.append(loss.item())
        recent = recent[-50:]
        if step % 25 == 0 or step == steps - 1:
            el = time.time() - t0
            print(f"step {step:5d}/{steps}  loss {loss.item():.4f}  avg50 {sum(recent)/len(recent):.4f}"
                  f"  lr {lr:.2e}  {el:6.1f}s", flush=True)
    train_seconds = time.time() - t0
    print(f"trained {steps} steps in {train_seconds:.1f}s")

    # Save in bfloat16.
    folder = args.out / "tiny-llama"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    model.to(torch.bfloat16)
    model.save_pretrained(folder, safe_serialization=True)
    gc = folder / "generation_config.json"
    if gc.exists():
        gc.unlink()  # the folder is config.json + model.safetensors (+ our reference files)

    # Reload exactly what was saved; losses are measured with the bf16 weights in float32.
    saved = LlamaForCausalLM.from_pretrained(folder, dtype=torch.bfloat16, attn_implementation="eager")
    for n, p in saved.named_parameters():
        assert p.dtype == torch.bfloat16, (n, p.dtype)
    m32 = saved.to(torch.float32)
    train_loss = eval_loss(m32, train, max_windows=256)
    val_loss = eval_loss(m32, val)
    val_ppl = math.exp(val_loss)
    bits = val_loss / math.log(2)
    print(f"final (bf16 weights): train loss {train_loss:.4f} nats/byte (first 256 windows), "
          f"validation loss {val_loss:.4f} nats/byte = {bits:.3f} bits/byte, "
          f"validation perplexity per byte {val_ppl:.3f}")

    # Prompts from the validation text.
    prompts = pick_prompts(val_bytes)
    (folder / "prompt-ids.txt").write_text("".join(",".join(map(str, p)) + "\n" for p in prompts))

    # float64 reference logits of the first prompt.
    m64 = saved.to(torch.float64)
    m64.eval()
    with torch.no_grad():
        ref = m64(input_ids=torch.tensor([prompts[0]])).logits[0].numpy().astype(np.float64)
    assert ref.shape == (PROMPT_LEN, 256) and ref.dtype == np.float64
    np.save(folder / "ref_float.npy", ref)
    with torch.no_grad():
        ids = list(prompts[0])
        for _ in range(N_GREEDY):
            nxt = int(m64(input_ids=torch.tensor([ids])).logits[0, -1].argmax())
            ids.append(nxt)
        g = m64.generate(torch.tensor([prompts[0]]), max_new_tokens=N_GREEDY, do_sample=False,
                         eos_token_id=None, pad_token_id=0, min_new_tokens=N_GREEDY)
        if g[0].tolist() != ids:
            print("note: model.generate differs from the full-recompute greedy loop:",
                  g[0].tolist()[PROMPT_LEN:])
    (folder / "greedy_ids.txt").write_text(",".join(map(str, ids)) + "\n")
    prompt_text = show(prompts[0])
    cont_text = show(ids[PROMPT_LEN:])
    print(f"greedy: prompt {prompt_text!r}\n        continuation {cont_text!r}")

    for p in prompts[1:]:
        print(f"prompt: {show(p)!r}")

    size = sum(f.stat().st_size for f in folder.iterdir())
    print(f"folder {folder}: {size} bytes")
    assert size < MAX_FOLDER_BYTES, f"{folder} is {size} bytes, over {MAX_FOLDER_BYTES}"

    cfg_text = (folder / "config.json").read_text()
    readme = f"""# Demo model: tiny-llama

A byte-level Llama (`LlamaForCausalLM`) trained from scratch on the CPU by
`tools/train_demo_model.py`, so that the figures of `xnor verify` on it mean something (a trained
model has peaked, structured softmaxes, unlike random weights). Regenerate it with

    .venv-gen/bin/python tools/train_demo_model.py

(torch {torch.__version__.split('+')[0]}, transformers {transformers.__version__}; fixed seeds, one thread,
deterministic algorithms, a fixed number of steps).

## Model

- Tokens are bytes: vocab 256, token id = byte value, no tokenizer.
- hidden 128, 4 layers, 4 attention heads, 2 KV heads (head dim 32), intermediate 352 (SiLU
  gated MLP), RMSNorm eps 1e-6, RoPE theta 10000, max positions 256, untied `lm_head`;
  {n_params} parameters.
- Weights are bfloat16 (`model.safetensors`, written by `save_pretrained`).

## Training

- Text: the regular files under `/usr/share/common-licenses/` in sorted order, joined by a
  newline; the `GFDL`, `GPL` and `LGPL` symlinks are skipped (they repeat GFDL-1.3, GPL-3 and
  LGPL-3). Files: {', '.join(names)}.
- {len(text)} bytes in all; the last {VAL_FRACTION:.0%} ({len(val_bytes)} bytes, the end of
  MPL-2.0) is held out as validation text, the rest ({len(train_bytes)} bytes) is training text.
- {steps} steps of AdamW (betas 0.9/0.95, weight decay {WEIGHT_DECAY} on the matrices), batch
  {BATCH} x {CONTEXT} bytes of context at random offsets, learning rate {PEAK_LR:g} after
  {WARMUP} warm-up steps, cosine decay to {MIN_LR_RATIO * PEAK_LR:g}, gradient clipping 1.0,
  float32; about 5 minutes of one CPU thread.

Final losses, measured with the saved bfloat16 weights (next-byte cross-entropy over
non-overlapping {CONTEXT}-byte windows):

| | nats/byte | bits/byte | perplexity per byte |
|---|---|---|---|
| train (first 256 windows) | {train_loss:.4f} | {train_loss / math.log(2):.3f} | {math.exp(train_loss):.3f} |
| validation | {val_loss:.4f} | {bits:.3f} | {val_ppl:.3f} |

## Files in `tiny-llama/`

- `config.json`, `model.safetensors`: the model.
- `prompt-ids.txt`: {N_PROMPTS} sequences of {PROMPT_LEN} byte ids from the validation text, one
  per line, comma-separated (for `xnor verify --prompt-ids`).
- `ref_float.npy`: float64 logits `[{PROMPT_LEN}, 256]` of the first prompt from transformers
  (the saved bf16 weights converted with `model.to(torch.float64)`, eager attention).
- `greedy_ids.txt`: one line, the first prompt followed by the {N_GREEDY} ids transformers
  decodes greedily (float64).

The first prompt is

    {prompt_text!r}

and greedy decoding continues it with

    {cont_text!r}
"""
    (args.out / "README.md").write_text(readme)
    print("config.json:\n" + cfg_text)


if __name__ == "__main__":
    main()
