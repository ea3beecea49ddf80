#!/usr/bin/env python3
"""Seeds of the LLM fuzz targets (tools/fuzz llmconfig ggufmodel xnormodel).

    fuzz_llm_seeds.py llmconfig OUT            one byte (the shard, as FuzzLLMConfig picks it) + config.json
    fuzz_llm_seeds.py ggufmodel OUT            every fixtures/llm/*/model.gguf shrunk to a few KB
    fuzz_llm_seeds.py xnormodel OUT XNOR       those GGUFs converted by XNOR, in every mode

The fixture GGUFs are 170-370 KB, nearly all tensor data the builders never look at, while
libFuzzer mutates every byte alike and tools/fuzz cuts inputs at 64 KiB. So each is rewritten
with its metadata (tokenizer arrays dropped) and tensors of the same names and types at
shapes divided by eight: every fixture has hidden 64, intermediate and vocab 128, head_dim 16
or 32, and these map to 8, 16, 2 or 4 (the head count stays, so the shapes still agree). The
data are small random values.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from xnortools.paths import ROOT

LLM = ROOT / "fixtures" / "llm"

# The order FuzzLLMConfig.swift's `cases` has: the first byte of a seed picks the shard.
CONFIG_CASES = ["llama", "llama_tied_linear", "mistral", "qwen2", "qwen3", "bitnet", "bitnet_packed",
                "bitnet_packed_autobitlinear", "bert"]

# Every dimension of the fixtures' tensors, and what it becomes.
SHRINK = {64: 8, 128: 16, 32: 4, 16: 2, 8: 1, 2: 2, 1: 1}
SHRUNK_KEYS = ["embedding_length", "feed_forward_length", "vocab_size", "context_length", "attention.key_length",
               "attention.value_length", "rope.dimension_count"]


def llmconfig(out: Path):
    for index, case in enumerate(CONFIG_CASES):
        (out / f"config_{case}.json").write_bytes(bytes([index]) + (LLM / case / "config.json").read_bytes())


def shrink(source: Path, target: Path):
    import gguf
    reader = gguf.GGUFReader(str(source))
    architecture = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(str(target), architecture)
    for key, field in reader.fields.items():
        if key.startswith(("GGUF.", "tokenizer.")) or key == "general.architecture":
            continue
        kind, value = field.types[0], field.contents()
        if key.removeprefix(architecture + ".") in SHRUNK_KEYS:
            value = SHRINK[value]
        if key == "general.alignment":
            writer.add_custom_alignment(value)
        else:
            writer.add_key_value(key, value, kind, sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)
    rng = np.random.default_rng(len(architecture))
    for t in reader.tensors:
        shape = [SHRINK[int(d)] for d in reversed(t.shape.tolist())]
        values = (1 + 0.1 * rng.standard_normal(shape) if "norm" in t.name or t.name == "rope_freqs.weight"
                  else 0.5 * rng.standard_normal(shape)).astype(np.float32)
        kind = t.tensor_type
        if kind == gguf.GGMLQuantizationType.F32:
            writer.add_tensor(t.name, values)
        elif kind == gguf.GGMLQuantizationType.F16:
            writer.add_tensor(t.name, values.astype(np.float16))
        elif kind == gguf.GGMLQuantizationType.BF16:
            bits = (values.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)
            writer.add_tensor(t.name, bits.reshape(shape[:-1] + [shape[-1] * 2]), raw_dtype=kind)
        else:
            raise SystemExit(f"{source}: tensor {t.name} of type {kind.name} is not shrunk here")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def ggufmodel(out: Path) -> list[Path]:
    written = []
    for source in sorted(LLM.glob("*/model.gguf")):
        target = out / f"tiny_{source.parent.name}.gguf"
        shrink(source, target)
        written.append(target)
    return written


def xnormodel(out: Path, xnor: str):
    with tempfile.TemporaryDirectory() as folder:
        for source in ggufmodel(Path(folder)):
            modes = ["w1a1", "w1a8", "w1.58a8"] if "llama" in source.name or "bert" in source.name else [None]
            for mode in modes:
                target = out / f"{source.stem}{'_' + mode if mode else ''}.xnor"
                subprocess.run([xnor, "convert", source, "-o", target, "--force", "--quiet"] + (["--mode", mode] if mode else []),
                               check=True)
    # A packed BitNet folder with every projection kept: they stay uint8 codes + γ in the file
    # (I8 [N/4, K] and packed_ternary in the graph JSON), the only seed that reaches that loader path.
    subprocess.run([xnor, "convert", LLM / "bitnet_packed", "-o", out / "bitnet_packed_kept.xnor", "--keep", "blk.*",
                    "--force", "--quiet"], check=True)


def main() -> int:
    what, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    if what == "llmconfig":
        llmconfig(out)
    elif what == "ggufmodel":
        ggufmodel(out)
    elif what == "xnormodel":
        xnormodel(out, sys.argv[3])
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
