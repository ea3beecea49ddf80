"""Array files: .npy written so that a rerun is byte-identical, safetensors as raw bytes."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np


def save_npy(path: Path, value: np.ndarray) -> None:
    """np.save writes a fixed header for a given dtype and shape; contiguous data and no pickle
    make the file a function of the values alone."""
    np.save(path, np.ascontiguousarray(value), allow_pickle=False)


def safetensors_header(path: Path) -> tuple[int, dict]:
    """(header length in bytes, the parsed JSON header, __metadata__ included)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return n, json.loads(f.read(n))


def read_safetensors(path: Path) -> tuple[list[tuple[str, str, list[int], bytes]], dict]:
    """[(name, dtype, shape, payload bytes)] in file order, and the __metadata__ dict."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors = sorted(header.items(), key=lambda item: item[1]["data_offsets"][0])
    return [(k, v["dtype"], v["shape"], body[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in tensors], metadata


def write_safetensors(path: Path, tensors: list[tuple[str, str, list[int], bytes]], metadata: dict | None = None):
    """The inverse of read_safetensors: any dtype string and payload, as given (tests write
    malformed files with it too)."""
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(payload)]}
        offset += len(payload)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for *_, payload in tensors:
            f.write(payload)
