#!/usr/bin/env python3
"""The demo model's tokenizer: fixtures/demo/tiny-llama/tokenizer.json, built with HF `tokenizers`.

The model reads bytes (token id = byte value, no BOS/EOS), so the tokenizer is byte-level BPE over
GPT-2's 256 byte characters with no merges: the ByteLevel pre-tokenizer maps each byte to its
character (no regex split, no prefix space), BPE finds each character as one token, and the
ByteLevel decoder maps the characters back to bytes. Checks that HF tokenizers encodes every prompt
of fixtures/demo/greedy_text.json to its prompt_ids and decodes them back; with --xnor, that
`xnor tokenize --ids-only` gives the same ids.

    .venv/bin/python tools/gen_demo_tokenizer.py [--xnor .build/release/xnor]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

from tokenizers import Tokenizer, decoders, models, pre_tokenizers

from xnortools.paths import FIXTURES

MODEL = FIXTURES / "demo" / "tiny-llama"


def byte_characters() -> list[str]:
    """GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68
    bytes take U+0100 upwards in byte order."""
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    shifted = iter(range(256, 256 + 256 - len(kept)))
    return [chr(b) if b in kept else chr(next(shifted)) for b in range(256)]


def build() -> Tokenizer:
    byte_char = byte_characters()
    assert set(byte_char) == set(pre_tokenizers.ByteLevel.alphabet())
    vocab = {byte_char[b]: b for b in range(256)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xnor", help="also check `xnor tokenize` on the prompts")
    args = parser.parse_args()
    tokenizer = build()
    path = MODEL / "tokenizer.json"
    tokenizer.save(str(path))
    tokenizer = Tokenizer.from_file(str(path))     # check what was written, not the object
    cases = json.loads((FIXTURES / "demo" / "greedy_text.json").read_text())["cases"]
    texts = [(c["prompt"], c["prompt_ids"]) for c in cases]
    beyond_ascii = " héllo ✓ \x01\x7f\t\n  end"    # multi-byte, control and leading-space bytes (argv takes no NUL)
    texts.append((beyond_ascii, list(beyond_ascii.encode())))
    failed = 0
    for text, expected in texts:
        ids = tokenizer.encode(text).ids
        problems = []
        if ids != expected:
            problems.append(f"HF ids {ids} != {expected}")
        if tokenizer.decode(ids) != text:
            problems.append(f"HF decodes to {tokenizer.decode(ids)!r}")
        if args.xnor:
            p = subprocess.run([args.xnor, "tokenize", str(MODEL), "--text", text, "--ids-only"], capture_output=True, text=True)
            got = [int(x) for x in p.stdout.strip().strip("[]").split(",") if x.strip()] if p.returncode == 0 else p.stderr.strip()
            if got != expected:
                problems.append(f"xnor tokenize gives {got}")
        print(f"{'FAIL' if problems else 'PASS'} {text!r}" + (": " + "; ".join(problems) if problems else ""))
        failed += bool(problems)
    print(f"wrote {path.relative_to(FIXTURES.parent)}; {len(texts) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
