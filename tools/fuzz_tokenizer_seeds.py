#!/usr/bin/env python3
"""Seeds for the tokenizer fuzz targets, small enough for libFuzzer's max_len.

    tools/fuzz_tokenizer_seeds.py tokgguf DIR   GGUF vocabularies (gpt2 BPE, llama SPM, t5 UGM, bert
                                                WPM) built from fixtures/tokenizers with gguf-py
    tools/fuzz_tokenizer_seeds.py tokmodel DIR  the sentencepiece fixtures without their 240 KB
                                                precompiled normalization map
"""
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "tokenizers"


def varint(data, i):
    value = shift = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def encode_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def fields(data):
    """(number, wire type, raw field bytes, payload) of a protobuf message."""
    i = 0
    while i < len(data):
        start = i
        tag, i = varint(data, i)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            _, i = varint(data, i)
            payload = None
        elif wire == 2:
            n, i = varint(data, i)
            payload = data[i:i + n]
            i += n
        elif wire == 5:
            i += 4
            payload = None
        elif wire == 1:
            i += 8
            payload = None
        yield number, wire, data[start:i], payload


def without_charsmap(model: bytes) -> bytes:
    out = bytearray()
    for number, wire, raw, payload in fields(model):
        if number == 3 and wire == 2:
            inner = b"".join(r for n, w, r, _ in fields(payload) if n != 2)
            out += encode_varint(3 << 3 | 2) + encode_varint(len(inner)) + inner
        else:
            out += raw
    return bytes(out)


def pieces(model: bytes):
    """(piece, score, type) of a ModelProto."""
    import struct
    result = []
    for number, wire, raw, payload in fields(model):
        if number != 1 or wire != 2:
            continue
        text, score, kind = "", 0.0, 1
        for n, w, r, p in fields(payload):
            if n == 1:
                text = p.decode("utf-8")
            elif n == 2:
                score = struct.unpack("<f", r[-4:])[0]
            elif n == 3:
                kind, _ = varint(r, 1)
        result.append((text, score, kind))
    return result


def gguf_seeds(out: Path):
    import gguf

    def write(name, model, pre, tokens, types, scores=None, merges=None, extra=None):
        w = gguf.GGUFWriter(str(out / name), "llama")
        w.add_tokenizer_model(model)
        if pre:
            w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types(types)
        if scores is not None:
            w.add_token_scores(scores)
        if merges is not None:
            w.add_token_merges(merges)
        for key, value in (extra or {}).items():
            if isinstance(value, bool):
                w.add_bool(key, value)
            else:
                w.add_uint32(key, value)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()

    for folder, pre in [("bpe-bytelevel", "gpt-2"), ("bpe-digits", "smollm")]:
        j = json.load(open(FIXTURES / folder / "tokenizer.json", encoding="utf-8"))
        vocab = sorted(j["model"]["vocab"].items(), key=lambda kv: kv[1])
        tokens = [t for t, _ in vocab]
        special = {a["content"] for a in j["added_tokens"]}
        types = [3 if t in special else 1 for t in tokens]
        merges = [m if isinstance(m, str) else " ".join(m) for m in j["model"]["merges"]]
        write(f"{folder}.gguf", "gpt2", pre, tokens, types, merges=merges, extra={"tokenizer.ggml.eos_token_id": 0})
        write(f"{folder}-llama3.gguf", "gpt2", "llama-bpe", tokens, types, merges=merges,
              extra={"tokenizer.ggml.bos_token_id": 0, "tokenizer.ggml.add_bos_token": True})
    for name, model in [("spm-bpe", "llama"), ("spm-unigram", "t5")]:
        p = pieces((FIXTURES / name / "tokenizer.model").read_bytes())
        write(f"{name}.gguf", model, "default", [t for t, _, _ in p], [k for _, _, k in p], scores=[s for _, s, _ in p],
              extra={"tokenizer.ggml.unknown_token_id": 0, "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2})
    lines = (FIXTURES / "bert-vocab" / "vocab.txt").read_text(encoding="utf-8").splitlines()
    tokens = [t[2:] if t.startswith("##") else ("\u2581" + t if not t.startswith("[") else t) for t in lines]
    seen, unique = set(), []
    for t in tokens:
        unique.append(t if t not in seen else t + "\u2581dup")
        seen.add(unique[-1])
    write("bert.gguf", "bert", "bert-bge", unique, [3 if t.startswith("[") else 1 for t in unique],
          extra={"tokenizer.ggml.unknown_token_id": 1, "tokenizer.ggml.seperator_token_id": 3, "tokenizer.ggml.bos_token_id": 2})


def main():
    target, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    if target == "tokmodel":
        for name in ["spm-bpe", "spm-unigram"]:
            (out / f"{name}.model").write_bytes(without_charsmap((FIXTURES / name / "tokenizer.model").read_bytes()))
    elif target == "tokgguf":
        gguf_seeds(out)
    else:
        sys.exit(f"unknown target {target}")


if __name__ == "__main__":
    main()
