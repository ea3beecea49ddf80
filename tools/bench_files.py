#!/usr/bin/env python3
"""Files for tools/bench-readers, and the gguf-py side of its dequantization benchmark.

`bench_files.py DIR SIZE_GB` writes small and multi-GB (sparse) safetensors and GGUF files
and a Q4_K tensor; `bench_files.py --dequant FILE TENSOR REPEAT` times gguf.quants.dequantize.
"""
import json
import os
import struct
import sys
import time

import numpy as np
import gguf


def sparse_safetensors(path, total_bytes):
    # Tensors of 256 MiB F16 each; the data stays a hole in the file.
    per = 256 << 20
    header, offset, i = {}, 0, 0
    while offset < total_bytes:
        n = min(per, total_bytes - offset)
        header[f"layer.{i}.weight"] = {"dtype": "F16", "shape": [n // 2 // 4096, 4096] if n % 8192 == 0 else [n // 2],
                                       "data_offsets": [offset, offset + n]}
        offset += n
        i += 1
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.truncate(8 + len(text) + offset)


def sparse_gguf(path, total_bytes):
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_uint32("llama.block_count", 32)
    writer.add_array("tokenizer.ggml.tokens", [f"tok{i}" for i in range(32000)])
    per = 256 << 20
    count = max(1, total_bytes // per)
    for i in range(count):
        # Q4_K: 144 bytes per 256 elements.
        rows = per // 144
        writer.add_tensor_info(f"blk.{i}.w", [rows, 144], np.dtype(np.uint8), rows * 144, raw_dtype=gguf.GGMLQuantizationType.Q4_K)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    end = writer.fout[0].tell()
    writer.close()
    align = 32
    data_start = (end + align - 1) // align * align
    padded = (per // 144 * 144 + align - 1) // align * align
    with open(path, "r+b") as f:
        f.truncate(data_start + padded * count)


def q4k_file(path):
    rng = np.random.default_rng(0)
    rows, cols = 4096, 4096
    blocks = rows * cols // 256
    raw = rng.integers(0, 256, size=(blocks, 144), dtype=np.uint8)
    scales = rng.uniform(0.001, 0.05, size=(blocks, 2)).astype(np.float16)
    raw[:, 0:4] = scales.view(np.uint8).reshape(blocks, 4)
    writer = gguf.GGUFWriter(path, "bench")
    writer.add_tensor("q4k", raw.reshape(rows, cols // 256 * 144), raw_dtype=gguf.GGMLQuantizationType.Q4_K)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def time_dequant(path, name, repeat):
    reader = gguf.GGUFReader(path)
    tensor = next(t for t in reader.tensors if t.name == name)
    data = np.array(tensor.data)
    gguf.quants.dequantize(data, tensor.tensor_type)
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = gguf.quants.dequantize(data, tensor.tensor_type)
        seconds.append(time.perf_counter() - start)
    median = sorted(seconds)[len(seconds) // 2]
    gb = out.size * 4 / 1e9
    print(f"{name} gguf-py {out.size} elements: median {median * 1000:.1f} ms, {gb / median:.2f} GB/s of float32 output (numpy + gguf-py, {repeat} runs)")


if __name__ == "__main__":
    if sys.argv[1] == "--dequant":
        time_dequant(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        work, size_gb = sys.argv[1], float(sys.argv[2])
        total = int(size_gb * (1 << 30))
        sparse_safetensors(os.path.join(work, "small.safetensors"), 32 << 20)
        sparse_safetensors(os.path.join(work, "big.safetensors"), total)
        sparse_gguf(os.path.join(work, "small.gguf"), 256 << 20)
        sparse_gguf(os.path.join(work, "big.gguf"), total)
        q4k_file(os.path.join(work, "q4k.gguf"))
