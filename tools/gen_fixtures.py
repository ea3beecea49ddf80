#!/usr/bin/env python3
"""Generate the small model files under fixtures/ that the tests and tools/oracle_check.py use.

Deterministic: every random value comes from a fixed seed, so running this twice writes
byte-identical files. Uses only numpy, gguf (gguf-py) and safetensors.

    .venv/bin/python tools/gen_fixtures.py [--out fixtures]

Writes:
  gguf/         valid GGUF files written by gguf-py's GGUFWriter (metadata of every value type,
                every tensor type, v2, alignments 1, 32 and 64)
  safetensors/  dtypes.safetensors (every dtype, a scalar, an empty tensor) and, for the dtypes
                numpy cannot hold (BF16, F8_*), reference float32 values in dtypes.reference/*.npy;
                header-grammar.json: header texts at the edges of JSON's grammar with the verdict
                of safetensors (serde_json) on each
  hf/           Hugging Face folders: tiny-llama (sharded, with an index), tiny-single
  malformed/    bad files, each broken in one named way, and EXPECT.json, which maps each file
                (or folder) name to a lowercase word the error message must contain

Reference values for the valid files are NOT stored (except the BF16/F8 ones above): the oracle
script computes them at test time with gguf-py and safetensors.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import struct
from pathlib import Path

import numpy as np
import gguf
import safetensors.numpy
from gguf import GGMLQuantizationType as QT
from gguf import GGUFValueType as VT
from xnortools.paths import ROOT



def rng_for(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def u16_bits(values) -> np.ndarray:
    return np.array(values, dtype=np.uint16)


def u32_bits_as_f32(values) -> np.ndarray:
    return np.array(values, dtype=np.uint32).view(np.float32)


def random_f16_scales(rng: np.random.Generator, shape) -> np.ndarray:
    """Finite float16 values with magnitude in [0.001, 2] and a random sign."""
    mag = rng.uniform(0.001, 2.0, size=shape)
    sign = np.where(rng.integers(0, 2, size=shape) == 1, -1.0, 1.0)
    return (mag * sign).astype(np.float16)


# --------------------------------------------------------------------------------------------
# GGUF files written with gguf-py
# --------------------------------------------------------------------------------------------

class FixtureGGUFWriter(gguf.GGUFWriter):
    """GGUFWriter that can also write an empty array (gguf-py refuses; the format allows it)."""

    def _pack_val(self, val, vtype, add_vtype, sub_type=None):
        if vtype == VT.ARRAY and sub_type is not None and len(val) == 0:
            out = self._pack("I", vtype) if add_vtype else b""
            return out + self._pack("I", sub_type) + self._pack("Q", 0)
        return super()._pack_val(val, vtype, add_vtype, sub_type=sub_type)


def write_gguf(path: Path, kvs, tensors, alignment=None, endianess=gguf.GGUFEndian.LITTLE):
    """kvs: list of (key, value, VT, subtype or None); tensors: list of (name, array, raw_dtype)."""
    w = FixtureGGUFWriter(path, arch="test", endianess=endianess)
    if alignment is not None:
        w.add_custom_alignment(alignment)
    for key, value, vtype, sub in kvs:
        w.add_key_value(key, value, vtype, sub_type=sub)
    for name, array, raw_dtype in tensors:
        if raw_dtype is None:
            w.add_tensor(name, array)
        else:
            w.add_tensor(name, array, raw_dtype=raw_dtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def metadata_kvs():
    f32_specials = [0.5, -1.25, 0.1, float("inf"), float("-inf"), float("nan"), -0.0, 1e-45]
    f64_specials = [0.1, -2.5, 5e-324, float("inf"), float("nan"), -0.0, 1.7976931348623157e308]
    kvs = [
        ("general.name", "metadata fixture", VT.STRING, None),
        ("test.uint8", 255, VT.UINT8, None),
        ("test.int8", -128, VT.INT8, None),
        ("test.uint16", 65535, VT.UINT16, None),
        ("test.int16", -32768, VT.INT16, None),
        ("test.uint32", 4294967295, VT.UINT32, None),
        ("test.int32", -2147483648, VT.INT32, None),
        ("test.float32", 0.1, VT.FLOAT32, None),
        ("test.float32.pi", math.pi, VT.FLOAT32, None),
        ("test.float32.max", 3.4028234663852886e38, VT.FLOAT32, None),
        ("test.float32.subnormal", 1e-45, VT.FLOAT32, None),
        ("test.float32.negzero", -0.0, VT.FLOAT32, None),
        ("test.float32.inf", float("inf"), VT.FLOAT32, None),
        ("test.float32.neginf", float("-inf"), VT.FLOAT32, None),
        ("test.float32.nan", float("nan"), VT.FLOAT32, None),
        ("test.bool.true", True, VT.BOOL, None),
        ("test.bool.false", False, VT.BOOL, None),
        ("test.string", "hello", VT.STRING, None),
        ("test.string.utf8", "h\u00e9llo w\u00f6rld \u2014 \u65e5\u672c\u8a9e \U0001F642", VT.STRING, None),
        ("test.string.escapes", "quote \" backslash \\ newline \n tab \t nul \x00 bell \x07 del \x7f /",
         VT.STRING, None),
        ("test.string.empty", "", VT.STRING, None),
        ("test.uint64", 2**64 - 1, VT.UINT64, None),
        ("test.uint64.2p53plus1", 2**53 + 1, VT.UINT64, None),
        ("test.int64", -2**63, VT.INT64, None),
        ("test.int64.max", 2**63 - 1, VT.INT64, None),
        ("test.float64", 0.1, VT.FLOAT64, None),
        ("test.float64.subnormal", 5e-324, VT.FLOAT64, None),
        ("test.float64.nan", float("nan"), VT.FLOAT64, None),
        ("test.float64.neginf", float("-inf"), VT.FLOAT64, None),
        ("test.array.uint8", [0, 1, 127, 128, 255], VT.ARRAY, VT.UINT8),
        ("test.array.int8", [-128, -1, 0, 1, 127], VT.ARRAY, VT.INT8),
        ("test.array.uint16", [0, 1, 65535], VT.ARRAY, VT.UINT16),
        ("test.array.int16", [-32768, 0, 32767], VT.ARRAY, VT.INT16),
        ("test.array.uint32", [0, 4294967295], VT.ARRAY, VT.UINT32),
        ("test.array.int32", [-2147483648, 0, 2147483647], VT.ARRAY, VT.INT32),
        ("test.array.float32", f32_specials, VT.ARRAY, VT.FLOAT32),
        ("test.array.bool", [True, False, True], VT.ARRAY, VT.BOOL),
        ("test.array.string", ["a", "", "\u65e5\u672c", "with \"quote\"", "tab\there"], VT.ARRAY, VT.STRING),
        ("test.array.uint64", [0, 2**53 + 1, 2**64 - 1], VT.ARRAY, VT.UINT64),
        ("test.array.int64", [-2**63, -1, 2**63 - 1], VT.ARRAY, VT.INT64),
        ("test.array.float64", f64_specials, VT.ARRAY, VT.FLOAT64),
        ("test.array.empty.int32", [], VT.ARRAY, VT.INT32),
        ("test.array.empty.string", [], VT.ARRAY, VT.STRING),
        ("test.array.long", list(range(-50, 50)), VT.ARRAY, VT.INT32),
    ]
    return kvs


def small_tensors():
    return [
        ("tensor.f32", np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5, None),
        ("tensor.i32", np.array([-7, 0, 7, 2**31 - 1], dtype=np.int32), None),
    ]


def gen_gguf_metadata(out: Path):
    path = out / "gguf" / "metadata.gguf"
    write_gguf(path, metadata_kvs(), small_tensors())
    # GGUF v2 has the same layout as v3 (v3 only added big-endian files): patch the version.
    data = bytearray(path.read_bytes())
    assert struct.unpack_from("<I", data, 4)[0] == 3
    struct.pack_into("<I", data, 4, 2)
    (out / "gguf" / "metadata-v2.gguf").write_bytes(bytes(data))


def odd_sized_tensors(seed: int):
    """Tensors whose byte sizes are not multiples of any alignment, so padding matters."""
    r = rng_for(seed)
    q = gguf.quants.quantize(r.standard_normal((1, 32)).astype(np.float32), QT.Q8_0)  # 34 bytes
    return [
        ("odd.f32", r.standard_normal(3).astype(np.float32), None),          # 12 bytes
        ("odd.f16", r.standard_normal(5).astype(np.float16), None),          # 10 bytes
        ("odd.q8_0", q, QT.Q8_0),
        ("odd.f64", r.standard_normal((3, 1)).astype(np.float64), None),     # 24 bytes
        ("odd.i8", r.integers(-128, 128, size=7, dtype=np.int8), None),      # 7 bytes
    ]


def gen_gguf_alignments(out: Path):
    for alignment, seed in ((1, 101), (32, 132), (64, 164)):
        kvs = [("general.name", f"alignment {alignment}", VT.STRING, None)]
        write_gguf(out / "gguf" / f"alignment-{alignment}.gguf", kvs, odd_sized_tensors(seed),
                   alignment=alignment)


# Byte offsets of the float16 fields (d, dmin, m) inside one block of each block type
# (see the dequantize_blocks functions in gguf/quants.py).
F16_FIELDS = {
    QT.Q4_0: [0], QT.Q4_1: [0, 2], QT.Q5_0: [0], QT.Q5_1: [0, 2], QT.Q8_0: [0],
    QT.Q2_K: [80, 82], QT.Q3_K: [108], QT.Q4_K: [0, 2], QT.Q5_K: [0, 2], QT.Q6_K: [208],
    QT.TQ1_0: [52], QT.TQ2_0: [64], QT.Q1_0: [0],
}


def random_blocks(rng: np.random.Generator, qtype: QT, shape) -> np.ndarray:
    """Valid random blocks for a tensor of numpy shape `shape`: random quant bytes and random
    finite scales. Returns uint8 with the byte shape gguf-py expects (last dim in bytes)."""
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    assert shape[-1] % block_size == 0
    n_blocks = int(np.prod(shape)) // block_size
    blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for off in F16_FIELDS.get(qtype, []):
        blocks[:, off:off + 2] = random_f16_scales(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
    if qtype == QT.MXFP4:
        # e8m0 exponent byte: keep d * 12 finite and not tiny
        blocks[:, 0] = rng.integers(100, 150, size=n_blocks, dtype=np.uint8)
    return blocks.reshape(*shape[:-1], shape[-1] // block_size * type_size)


def random_finite_bf16_bits(rng: np.random.Generator, shape) -> np.ndarray:
    bits = rng.integers(0, 65536, size=shape, dtype=np.uint16)
    bits[(bits & 0x7F80) == 0x7F80] &= 0xBFFF   # exponent all ones (inf/NaN) -> a finite value
    return bits


def special_f32() -> np.ndarray:
    return u32_bits_as_f32([
        0x00000000, 0x80000000, 0x7F800000, 0xFF800000,  # +0, -0, +inf, -inf
        0x7FC00000, 0xFFC00000, 0x7FC12345, 0x7F800001,  # quiet NaNs (with payload), signalling NaN
        0x00000001, 0x807FFFFF, 0x7F7FFFFF, 0x3F800000,  # subnormals, max, 1
    ])


def special_f16() -> np.ndarray:
    # only quiet NaNs: the float16 -> float32 conversion of a signalling NaN depends on the CPU
    return u16_bits([
        0x0000, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7E01, 0x7FFF,
        0x0001, 0x83FF, 0x7BFF, 0x3C00,
    ]).view(np.float16)


def special_bf16_bits() -> np.ndarray:
    return u16_bits([
        0x0000, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0xFFC0, 0x7FC1, 0x7F81,
        0x0001, 0x807F, 0x7F7F, 0x3F80,
    ])


def special_f64() -> np.ndarray:
    return np.array([
        0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e300, 1e-50, 5e-324,
        1.0 + 2.0**-24,           # tie: rounds to even (1.0)
        1.0 + 3 * 2.0**-24,       # tie: rounds to even (1 + 2^-22)
        3.4028235677973366e38,    # halfway between float32 max and 2^128: rounds to inf
    ], dtype=np.float64)


def with_specials(values: np.ndarray, specials: np.ndarray) -> np.ndarray:
    flat = values.reshape(-1).copy()
    flat[:specials.size] = specials
    return flat.reshape(values.shape)


def types_tensors():
    r = rng_for(2024)
    shape = (3, 512)
    t = []

    def normal(s=shape):
        return r.standard_normal(s).astype(np.float32)

    t.append(("f32", with_specials(normal(), special_f32()), None))
    t.append(("f16", with_specials(normal().astype(np.float16), special_f16()), None))
    t.append(("bf16", gguf.quants.quantize(normal(), QT.BF16), QT.BF16))
    bf16_raw = with_specials(random_finite_bf16_bits(r, shape), special_bf16_bits())
    t.append(("bf16.raw", bf16_raw.view(np.uint8).reshape(shape[0], -1), QT.BF16))
    t.append(("f64", with_specials(r.standard_normal(shape) * 1e3, special_f64()), None))
    t.append(("i8", r.integers(-128, 128, size=shape, dtype=np.int8), None))
    t.append(("i16", r.integers(-2**15, 2**15, size=shape, dtype=np.int16), None))
    t.append(("i32", with_specials(r.integers(-2**31, 2**31, size=shape, dtype=np.int32),
                                   np.array([-2**31, 2**31 - 1, 16777217, -16777217], dtype=np.int32)), None))
    t.append(("i64", with_specials(r.integers(-2**63, 2**63 - 1, size=shape, dtype=np.int64),
                                   np.array([-2**63, 2**63 - 1, 2**53 + 1, 16777217], dtype=np.int64)), None))
    # block types gguf-py can quantize: quantize random floats, and also store random raw blocks
    for qtype in (QT.Q8_0, QT.Q4_0, QT.Q4_1, QT.Q5_0, QT.Q5_1, QT.TQ1_0, QT.TQ2_0, QT.MXFP4):
        name = qtype.name.lower()
        t.append((name, gguf.quants.quantize(normal(), qtype), qtype))
        t.append((name + ".raw", random_blocks(r, qtype, shape), qtype))
    # block types gguf-py can only dequantize (or not even that: Q1_0): random valid blocks
    for qtype in (QT.Q2_K, QT.Q3_K, QT.Q4_K, QT.Q5_K, QT.Q6_K, QT.Q1_0):
        t.append((qtype.name.lower(), random_blocks(r, qtype, shape), qtype))
    # other ranks
    t.append(("q4_k.3d", random_blocks(r, QT.Q4_K, (2, 3, 256)), QT.Q4_K))
    t.append(("q8_0.3d", gguf.quants.quantize(normal((2, 2, 64)), QT.Q8_0), QT.Q8_0))
    t.append(("f32.3d", normal((2, 3, 4)), None))
    t.append(("f16.4d", normal((2, 1, 3, 4)).astype(np.float16), None))
    t.append(("f32.1d", normal((64,)), None))
    t.append(("q6_k.1d", random_blocks(r, QT.Q6_K, (256,)), QT.Q6_K))
    t.append(("q4_0.1row", gguf.quants.quantize(normal((1, 64)), QT.Q4_0), QT.Q4_0))
    return t


def gen_gguf_types(out: Path):
    kvs = [("general.name", "every tensor type", VT.STRING, None)]
    write_gguf(out / "gguf" / "types.gguf", kvs, types_tensors())


# --------------------------------------------------------------------------------------------
# safetensors written by hand (numpy has no bf16 / float8)
# --------------------------------------------------------------------------------------------

def st_bytes(header, data: bytes, declared_len: int | None = None, pad: bool = True) -> bytes:
    """A safetensors file: u64 LE header length, JSON header (object or raw str/bytes), data."""
    if isinstance(header, (dict, list)):
        raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    elif isinstance(header, str):
        raw = header.encode("utf-8")
    else:
        raw = bytes(header)
    if pad:
        raw += b" " * (-len(raw) % 8)
    n = len(raw) if declared_len is None else declared_len
    return struct.pack("<Q", n) + raw + data


def st_layout(entries, metadata=None):
    """entries: list of (name, dtype string, shape, raw bytes). Returns (header dict, data)."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = bytearray()
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return header, bytes(data)


def e4m3fn_to_f32(b: int) -> np.float32:
    s, e, m = b >> 7, (b >> 3) & 0xF, b & 7
    if e == 0xF and m == 7:
        return np.uint32(0x7FC00000 | (s << 31)).view(np.float32)
    v = (m / 8.0) * 2.0**-6 if e == 0 else (1.0 + m / 8.0) * 2.0**(e - 7)
    return np.float32(math.copysign(v, -1.0 if s else 1.0))


def e5m2_to_f32(b: int) -> np.float32:
    s, e, m = b >> 7, (b >> 2) & 0x1F, b & 3
    if e == 0x1F:
        if m == 0:
            return np.float32(-np.inf if s else np.inf)
        return np.uint32(0x7FC00000 | (s << 31) | (m << 21)).view(np.float32)
    v = (m / 4.0) * 2.0**-14 if e == 0 else (1.0 + m / 4.0) * 2.0**(e - 15)
    return np.float32(math.copysign(v, -1.0 if s else 1.0))


def gen_safetensors_dtypes(out: Path):
    r = rng_for(7)
    s = (4, 8)
    ints = lambda lo, hi, dt, sp: with_specials(r.integers(lo, hi, size=s, dtype=dt), np.array(sp, dtype=dt))
    bf16 = with_specials(random_finite_bf16_bits(r, s), special_bf16_bits())
    f8 = np.arange(256, dtype=np.uint8).reshape(16, 16)
    entries = [
        ("bool", "BOOL", (2, 5), r.integers(0, 2, size=(2, 5), dtype=np.uint8)),
        ("u8", "U8", (16, 16), np.arange(256, dtype=np.uint8).reshape(16, 16)),
        ("i8", "I8", (16, 16), np.arange(-128, 128, dtype=np.int8).reshape(16, 16)),
        ("u16", "U16", s, ints(0, 2**16, np.uint16, [0, 65535])),
        ("i16", "I16", s, ints(-2**15, 2**15, np.int16, [-32768, 32767])),
        ("u32", "U32", s, ints(0, 2**32, np.uint32, [0, 2**32 - 1, 16777217])),
        ("i32", "I32", s, ints(-2**31, 2**31, np.int32, [-2**31, 2**31 - 1, -16777217])),
        ("u64", "U64", s, ints(0, 2**64 - 1, np.uint64, [0, 2**64 - 1, 2**53 + 1])),
        ("i64", "I64", s, ints(-2**63, 2**63 - 1, np.int64, [-2**63, 2**63 - 1, 2**53 + 1])),
        ("f16", "F16", s, with_specials(r.standard_normal(s).astype(np.float16), special_f16())),
        ("bf16", "BF16", s, bf16),
        ("f32", "F32", s, with_specials(r.standard_normal(s).astype(np.float32), special_f32())),
        ("f64", "F64", s, with_specials(r.standard_normal(s), special_f64())),
        ("f8_e4m3", "F8_E4M3", (16, 16), f8),
        ("f8_e5m2", "F8_E5M2", (16, 16), f8),
        ("scalar_f32", "F32", (), np.array(3.25, dtype=np.float32)),
        ("empty_f32", "F32", (0, 4), np.zeros((0, 4), dtype=np.float32)),
    ]
    entries = [(n, d, sh, np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes())
               for n, d, sh, a in entries]
    metadata = {"format": "np", "fixture": "dtypes", "unicode": "\u65e5\u672c\u8a9e \u2713"}
    header, data = st_layout(entries, metadata)
    (out / "safetensors" / "dtypes.safetensors").write_bytes(st_bytes(header, data))

    ref = out / "safetensors" / "dtypes.reference"
    ref.mkdir(parents=True, exist_ok=True)
    np.save(ref / "bf16.npy", (bf16.astype(np.uint32) << 16).view(np.float32))
    np.save(ref / "f8_e4m3.npy", np.array([e4m3fn_to_f32(b) for b in range(256)], dtype=np.float32).reshape(16, 16))
    np.save(ref / "f8_e5m2.npy", np.array([e5m2_to_f32(b) for b in range(256)], dtype=np.float32).reshape(16, 16))


def header_grammar_cases():
    """(name, header bytes, data length): JSON grammar edges in a safetensors header.

    Duplicate tensor names are left out on purpose: safetensors keeps the last, we refuse them
    (an ambiguous file), which SafetensorsReaderTests checks on its own."""
    t = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}'
    x = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":%s}}'
    cases = [
        ("plain", '{"a":%s}' % t, 4),
        ("empty object", "{}", 0),
        ("surrounding whitespace", ' \t\r\n{"a":\t%s}\n  ' % t, 4),
        ("unknown member", '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":[1,{"y":null,"z":[true,false,"s"]}]}}', 4),
        ("unknown key escaped", '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"\\u0078":1}}', 4),
        ("member named twice", '{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4),
        ("member named twice, escaped", '{"a":{"dtype":"F32","\\u0064type":"F32","shape":[1],"data_offsets":[0,4]}}', 4),
        ("dtype missing", '{"a":{"shape":[1],"data_offsets":[0,4]}}', 4),
        ("dtype escaped", '{"a":{"dtype":"\\u0046\\u0033\\u0032","shape":[1],"data_offsets":[0,4]}}', 4),
        ("dtype lowercase", '{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}', 4),
        ("tensor null", '{"a":null}', 0),
        ("shape null", '{"a":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}', 4),
        ("shape float", '{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', 4),
        ("shape exponent", '{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}', 4),
        ("shape minus zero", '{"a":{"dtype":"F32","shape":[-0],"data_offsets":[0,0]}}', 0),
        ("shape 2^64", '{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]}}', 4),
        ("shape leading zero", '{"a":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}', 4),
        ("offsets three", '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}', 4),
        ("offsets empty", '{"a":{"dtype":"F32","shape":[1],"data_offsets":[]}}', 4),
        ("offsets minus zero", '{"a":{"dtype":"F32","shape":[1],"data_offsets":[-0,4]}}', 4),
        ("metadata", '{"__metadata__":{"k":"v","format":"pt"},"a":%s}' % t, 4),
        ("metadata key twice keeps the last", '{"__metadata__":{"k":"1","k":"2"},"a":%s}' % t, 4),
        ("metadata twice", '{"__metadata__":{"k":"1"},"__metadata__":{"j":"2"},"a":%s}' % t, 4),
        ("metadata key escaped", '{"__metadata\\u005f_":{"k":"v"},"a":%s}' % t, 4),
        ("metadata null", '{"__metadata__":null,"a":%s}' % t, 4),
        ("metadata empty", '{"__metadata__":{},"a":%s}' % t, 4),
        ("metadata array", '{"__metadata__":[],"a":%s}' % t, 4),
        ("metadata number", '{"__metadata__":{"k":1},"a":%s}' % t, 4),
        ("top-level array", "[]", 0),
        ("escapes in a name", '{"\\u00e9\\n\\/\\"\\\\\\b\\f\\r\\t":%s}' % t, 4),
        ("upper-case hex escape", '{"\\u00E9":%s}' % t, 4),
        ("surrogate pair", '{"\\ud83d\\ude00":%s}' % t, 4),
        ("lone leading surrogate", '{"\\ud800":%s}' % t, 4),
        ("lone trailing surrogate", '{"\\udc00":%s}' % t, 4),
        ("leading surrogate then non-surrogate", '{"\\ud800\\u0041":%s}' % t, 4),
        ("lone surrogate in a skipped value", x % '"\\ud800"', 4),
        ("invalid escape", '{"a\\x":%s}' % t, 4),
        ("short hex escape", '{"a\\u12":%s}' % t, 4),
        ("empty name", '{"":%s}' % t, 4),
        ("control character in a name", '{"a\x01":%s}' % t, 4),
        ("escaped NUL in a name", '{"a\\u0000":%s}' % t, 4),
        ("trailing comma in the object", '{"a":%s,}' % t, 4),
        ("trailing comma in an array", '{"a":{"dtype":"F32","shape":[1,],"data_offsets":[0,4]}}', 4),
        ("missing colon", '{"a" %s}' % t, 4),
        ("missing comma", '{"a":%s "b":%s}' % (t, t), 4),
        ("single-quoted key", "{'a':%s}" % t, 4),
        ("NUL after the object", '{"a":%s}\x00' % t, 4),
        ("data after the object", '{"a":%s}{}' % t, 4),
        ("form feed as whitespace", '{"a":\x0c%s}' % t, 4),
        ("no-break space as whitespace", '{"a":\u00a0%s}' % t, 4),
        ("byte order mark", '\ufeff{"a":%s}' % t, 4),
        ("nesting 127", x % ("[" * 125 + "]" * 125), 4),
        ("nesting 128", x % ("[" * 126 + "]" * 126), 4),
        ("skipped integer past 64 bits", x % "123456789012345678901234567890", 4),
        ("skipped integer past a double", x % ("1" + "0" * 400), 4),
        ("skipped 1e999", x % "1e999", 4),
        ("skipped 1e-999", x % "1e-999", 4),
        ("skipped long fraction", x % ("1." + "0" * 400), 4),
        ("skipped -0.0e-0", x % "-0.0e-0", 4),
        ("skipped 1E+2", x % "1E+2", 4),
        ("skipped 1.", x % "1.", 4),
        ("skipped .5", x % ".5", 4),
        ("skipped +1", x % "+1", 4),
        ("skipped -", x % "-", 4),
        ("skipped 1e", x % "1e", 4),
        ("skipped NaN", x % "NaN", 4),
        ("skipped Infinity", x % "Infinity", 4),
        ("skipped tru", x % "tru", 4),
        ("skipped nulll", x % "nulll", 4),
        ("unterminated string", '{"a', 0),
        ("unterminated object", '{"a":%s' % t, 4),
        ("empty header", "", 0),
    ]
    out = [(name, text.encode("utf-8"), n) for name, text, n in cases]
    out += [
        ("four-byte UTF-8 name", '{"\U0001F600":'.encode("utf-8") + t.encode() + b"}", 4),
        ("overlong UTF-8 in a name", b'{"\xc0\xaf":' + t.encode() + b"}", 4),
        ("encoded surrogate in a name", b'{"\xed\xa0\x80":' + t.encode() + b"}", 4),
        ("invalid UTF-8 in a skipped string", (x % '"\xff"').encode("latin-1"), 4),
        ("truncated UTF-8 in a name", b'{"\xe2\x82":' + t.encode() + b"}", 4),
    ]
    return out


def gen_safetensors_header_grammar(out: Path):
    """header-grammar.json: each header with what safetensors (Rust, serde_json) makes of it."""
    import base64
    from safetensors import safe_open

    scratch = out / "safetensors" / ".grammar-probe.safetensors"
    results = []
    for name, header, data_len in header_grammar_cases():
        scratch.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * data_len)
        try:
            with safe_open(str(scratch), "np") as f:
                metadata = f.metadata()  # a Rust HashMap: its order changes from run to run
                verdict = {"accepted": True, "tensors": sorted(f.keys()),
                           "metadata": None if metadata is None else dict(sorted(metadata.items()))}
        except Exception:
            verdict = {"accepted": False}
        results.append({"name": name, "header_base64": base64.b64encode(header).decode(), "data_bytes": data_len, **verdict})
    scratch.unlink()
    write_json(out / "safetensors" / "header-grammar.json", results)


# --------------------------------------------------------------------------------------------
# Hugging Face folders
# --------------------------------------------------------------------------------------------

def llama_config(hidden, inter, layers, heads, kv_heads, vocab, tie, dtype):
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "intermediate_size": inter,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": hidden // heads,
        "vocab_size": vocab,
        "max_position_embeddings": 128,
        "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": tie,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": dtype,
    }


def llama_weights(cfg, seed, dtype):
    r = rng_for(seed)
    h, i, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    kv = cfg["num_key_value_heads"] * cfg["head_dim"]

    def lin(n, k):
        return (r.standard_normal((n, k)) * 0.02).astype(dtype)

    def norm():
        return (1.0 + 0.1 * r.standard_normal(h)).astype(np.float32)

    w = {"model.embed_tokens.weight": lin(v, h)}
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        w[p + "input_layernorm.weight"] = norm()
        w[p + "self_attn.q_proj.weight"] = lin(h, h)
        w[p + "self_attn.k_proj.weight"] = lin(kv, h)
        w[p + "self_attn.v_proj.weight"] = lin(kv, h)
        w[p + "self_attn.o_proj.weight"] = lin(h, h)
        w[p + "post_attention_layernorm.weight"] = norm()
        w[p + "mlp.gate_proj.weight"] = lin(i, h)
        w[p + "mlp.up_proj.weight"] = lin(i, h)
        w[p + "mlp.down_proj.weight"] = lin(h, i)
    w["model.norm.weight"] = norm()
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = lin(v, h)
    return w


def write_json(path: Path, obj, indent=2):
    path.write_text(json.dumps(obj, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")


def save_safetensors(tensors: dict, path: Path, metadata: dict):
    """safetensors.numpy.save_file, then the header's __metadata__ keys put in sorted order: the
    library keeps them in a hash map, so their order changes from run to run."""
    safetensors.numpy.save_file(tensors, str(path), metadata=metadata)
    data = bytearray(path.read_bytes())
    (n,) = struct.unpack_from("<Q", data)
    header = json.loads(data[8:8 + n])
    if "__metadata__" in header:
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert len(raw) <= n and not data[8 + len(raw):8 + n].strip(), "header changed size"
    data[8:8 + n] = raw + b" " * (n - len(raw))
    path.write_bytes(bytes(data))


def write_sharded(folder: Path, cfg, shards: list[dict], shard_metadata: list[dict]):
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "config.json", cfg)
    n = len(shards)
    weight_map, total = {}, 0
    for k, (tensors, meta) in enumerate(zip(shards, shard_metadata), start=1):
        fname = f"model-{k:05d}-of-{n:05d}.safetensors"
        save_safetensors(tensors, folder / fname, meta)
        for name, arr in tensors.items():
            weight_map[name] = fname
            total += arr.nbytes
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    write_json(folder / "model.safetensors.index.json", index)


def gen_hf(out: Path):
    cfg = llama_config(64, 128, 2, 4, 2, 256, tie=False, dtype="float16")
    w = llama_weights(cfg, seed=11, dtype=np.float16)
    first = {k: v for k, v in w.items() if k.startswith(("model.embed_tokens.", "model.layers.0."))}
    second = {k: v for k, v in w.items() if k not in first}
    write_sharded(out / "hf" / "tiny-llama", cfg, [first, second],
                  [{"format": "pt", "fixture.shard1": "first"}, {"format": "pt", "fixture.shard2": "second"}])

    single = out / "hf" / "tiny-single"
    single.mkdir(parents=True, exist_ok=True)
    cfg1 = llama_config(32, 64, 1, 2, 2, 128, tie=True, dtype="float32")
    write_json(single / "config.json", cfg1)
    save_safetensors(llama_weights(cfg1, seed=12, dtype=np.float32), single / "model.safetensors", {"format": "pt"})


# --------------------------------------------------------------------------------------------
# Malformed files, written by hand with struct
# --------------------------------------------------------------------------------------------

def g_str(s) -> bytes:
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


SCALAR_FMT = {VT.UINT8: "<B", VT.INT8: "<b", VT.UINT16: "<H", VT.INT16: "<h", VT.UINT32: "<I",
              VT.INT32: "<i", VT.FLOAT32: "<f", VT.BOOL: "<B", VT.UINT64: "<Q", VT.INT64: "<q",
              VT.FLOAT64: "<d"}


def g_val(vtype: VT, value) -> bytes:
    if vtype == VT.STRING:
        return g_str(value)
    return struct.pack(SCALAR_FMT[vtype], value)


def g_kv(key, vtype: int, payload: bytes) -> bytes:
    return g_str(key) + struct.pack("<I", vtype) + payload


def g_kv_val(key, vtype: VT, value) -> bytes:
    return g_kv(key, vtype, g_val(vtype, value))


def g_kv_arr(key, sub: VT, values, length: int | None = None) -> bytes:
    n = len(values) if length is None else length
    return g_kv(key, VT.ARRAY, struct.pack("<IQ", sub, n) + b"".join(g_val(sub, v) for v in values))


def g_tinfo(name, ne, ggml_type: int, offset: int, n_dims: int | None = None) -> bytes:
    nd = len(ne) if n_dims is None else n_dims
    return (g_str(name) + struct.pack("<I", nd) + b"".join(struct.pack("<Q", d) for d in ne)
            + struct.pack("<IQ", ggml_type, offset))


def g_file(kvs, infos, data: bytes, alignment=32, magic=b"GGUF", version=3,
           n_tensors=None, n_kv=None, parts_out=None) -> bytes:
    """Assemble a GGUF file from encoded kvs / tensor infos; `parts_out` gets (label, start, end)."""
    parts = [("magic", magic), ("version", struct.pack("<I", version)),
             ("tensor_count", struct.pack("<Q", len(infos) if n_tensors is None else n_tensors)),
             ("kv_count", struct.pack("<Q", len(kvs) if n_kv is None else n_kv))]
    parts += [(f"kv{i}", kv) for i, kv in enumerate(kvs)]
    parts += [(f"tinfo{i}", ti) for i, ti in enumerate(infos)]
    head = sum(len(p) for _, p in parts)
    parts.append(("padding", b"\0" * (-head % alignment)))
    parts.append(("data", data))
    pos = 0
    for label, p in parts:
        if parts_out is not None:
            parts_out.append((label, pos, pos + len(p)))
        pos += len(p)
    return b"".join(p for _, p in parts)


F32, Q8_0_ID, Q4_0_ID = int(QT.F32), int(QT.Q8_0), int(QT.Q4_0)


def f32_bytes(n, start=0.0) -> bytes:
    return (np.arange(n, dtype=np.float32) + np.float32(start)).tobytes()


def base_kvs():
    return [g_kv_val("general.architecture", VT.STRING, "test"),
            g_kv_val("test.name", VT.STRING, "malformed base file"),
            g_kv_arr("test.array", VT.INT32, [1, 2, 3])]


def base_data() -> bytes:
    """a: F32[8] at 0 (32 B), b: Q8_0[32] at 32 (34 B, padded to 64), c: F32[8] at 96 (32 B)."""
    q = gguf.quants.quantize(np.linspace(-1, 1, 32, dtype=np.float32).reshape(1, 32), QT.Q8_0).tobytes()
    return f32_bytes(8) + q + b"\0" * 30 + f32_bytes(8, 100.0)


def base_infos():
    return [g_tinfo("a", [8], F32, 0), g_tinfo("b", [32], Q8_0_ID, 32), g_tinfo("c", [8], F32, 96)]


def base_gguf(parts_out=None, **kw) -> bytes:
    args = dict(kvs=base_kvs(), infos=base_infos(), data=base_data())
    args.update(kw)
    return g_file(args.pop("kvs"), args.pop("infos"), args.pop("data"), parts_out=parts_out, **args)


def gguf_truncations() -> dict[str, bytes]:
    parts = []
    full = base_gguf(parts_out=parts)
    where = {label: (s, e) for label, s, e in parts}
    kv1_s = where["kv1"][0]                    # "test.name" = "malformed base file"
    kv2_e = where["kv2"][1]                    # test.array: 3 int32 at the end
    ti0_s, ti0_e = where["tinfo0"]
    data_s = where["data"][0]
    cuts = sorted({
        0, 2, 4, 6, 8, 12, 16, 20, 24,          # header fields
        24 + 4, 24 + 8 + 5,                     # inside the first key's length, inside its text
        kv1_s + 8 + len("test.name") + 2,       # inside a value type
        kv1_s + 8 + len("test.name") + 4 + 8 + 3,  # inside a string value
        kv2_e - 6,                              # inside an array's items
        ti0_s + 3, ti0_s + 9,                   # tensor info: name length, name
        ti0_s + 8 + 1 + 2, ti0_s + 8 + 1 + 4 + 4,  # n_dims, ne[0]
        ti0_e - 10, ti0_e - 4,                  # type, offset
        where["padding"][0], where["padding"][0] + 1,  # end of tensor infos, inside padding
        data_s, data_s + 10, data_s + 50, len(full) - 1,  # inside tensor data
    })
    assert where["padding"][1] > where["padding"][0] + 1
    return {f"gguf-truncated-at-{n}.gguf": full[:n] for n in cuts}


def gguf_malformed(out: Path) -> dict[str, str]:
    """Writes the malformed GGUF files; returns name -> expected error word."""
    expect: dict[str, str] = {}
    files: dict[str, bytes] = {}

    def bad(name, data, word):
        files[name] = data
        expect[name] = word

    for name, data in gguf_truncations().items():
        bad(name, data, "end of file")

    base = base_gguf()
    bad("gguf-bad-magic.gguf", b"GGUX" + base[4:], "magic")
    bad("gguf-version-1.gguf", base_gguf(version=1), "version")
    bad("gguf-version-4.gguf", base_gguf(version=4), "version")
    bad("gguf-tensor-count-huge.gguf", base_gguf(n_tensors=2**64 - 1), "count")
    bad("gguf-kv-count-huge.gguf", base_gguf(n_kv=2**64 - 2), "count")

    kvs = base_kvs()
    kvs[1] = g_str("test.name") + struct.pack("<IQ", VT.STRING, 2**40) + b"malformed base file"
    bad("gguf-string-length-past-end.gguf", base_gguf(kvs=kvs), "length")
    kvs = base_kvs()
    kvs[1] = struct.pack("<Q", 2**62) + b"test.name" + struct.pack("<I", VT.STRING) + g_str("x")
    bad("gguf-key-length-huge.gguf", base_gguf(kvs=kvs), "length")
    kvs = base_kvs()
    kvs[2] = g_kv_arr("test.array", VT.INT32, [1, 2, 3], length=2**62)
    bad("gguf-array-length-huge.gguf", base_gguf(kvs=kvs), "array")
    kvs = base_kvs()
    depth = 20000  # an array of an array of ... : a reader must refuse it, not recurse until it crashes
    kvs.append(g_str("test.nested") + struct.pack("<I", VT.ARRAY)
               + struct.pack("<IQ", VT.ARRAY, 1) * depth + struct.pack("<IQ", VT.INT32, 0))
    bad("gguf-array-nesting-deep.gguf", base_gguf(kvs=kvs), "array")
    kvs = base_kvs()
    kvs.append(g_kv("test.unknown_value_type", 13, struct.pack("<I", 0)))
    bad("gguf-unknown-value-type.gguf", base_gguf(kvs=kvs), "type")
    kvs = base_kvs()
    kvs.append(g_kv_val("test.name", VT.STRING, "again"))
    bad("gguf-duplicate-key.gguf", base_gguf(kvs=kvs), "duplicate")
    kvs = base_kvs()
    kvs[1] = g_kv_val(b"test.\xff\xfename", VT.STRING, "bad key")
    bad("gguf-key-invalid-utf8.gguf", base_gguf(kvs=kvs), "utf-8")

    for align, name in ((0, "gguf-alignment-0.gguf"), (48, "gguf-alignment-48.gguf")):
        kvs = base_kvs() + [g_kv_val("general.alignment", VT.UINT32, align)]
        bad(name, base_gguf(kvs=kvs), "alignment")
    kvs = base_kvs() + [g_kv_val("general.alignment", VT.UINT64, 32)]
    bad("gguf-alignment-wrong-type.gguf", base_gguf(kvs=kvs), "alignment")

    def with_info(i, info, data=None):
        infos = base_infos()
        infos[i] = info
        return base_gguf(infos=infos, **({} if data is None else {"data": data}))

    bad("gguf-ndims-5.gguf", with_info(0, g_tinfo("a", [8, 1, 1, 1, 1], F32, 0)), "dimensions")
    bad("gguf-dim-product-overflow.gguf", with_info(0, g_tinfo("a", [2**32, 2**32, 2**32], F32, 0)), "overflow")
    # Found by FuzzGGUF: a zero dim makes the count 0 in ne order, but the other dims' product
    # overflows (in shape order the product overflowed before reaching the zero).
    bad("gguf-fuzz-zero-dim-overflow.gguf", with_info(0, g_tinfo("a", [42949672961, 0, 5312, 2**56], F32, 0)), "overflow")
    bad("gguf-unknown-type-id.gguf", with_info(0, g_tinfo("a", [8], 99, 0)), "type")
    bad("gguf-removed-type-id.gguf", with_info(0, g_tinfo("a", [8], 4, 0)), "type")       # was Q4_2
    bad("gguf-removed-type-id-33.gguf", with_info(0, g_tinfo("a", [8], 33, 0)), "type")   # was Q4_0_8_8
    bad("gguf-misaligned-offset.gguf", with_info(0, g_tinfo("a", [4], F32, 4)), "align")
    bad("gguf-offset-wraps.gguf", with_info(0, g_tinfo("a", [8], F32, 2**64 - 32)), "offset")
    bad("gguf-offset-past-end.gguf", with_info(0, g_tinfo("a", [8], F32, 4096)), "end of file")
    bad("gguf-overlapping-tensors.gguf", with_info(0, g_tinfo("a", [16], F32, 0)), "overlap")
    bad("gguf-duplicate-tensor-name.gguf", with_info(1, g_tinfo("a", [32], Q8_0_ID, 32)), "duplicate")
    bad("gguf-ne0-not-multiple-of-block.gguf", with_info(0, g_tinfo("a", [33], Q4_0_ID, 0)), "block")
    bad("gguf-tensor-name-invalid-utf8.gguf", with_info(0, g_tinfo(b"\xc0\xaf", [8], F32, 0)), "utf-8")
    bad("gguf-big-endian.gguf", big_endian_gguf(out), "big-endian")

    for name, data in files.items():
        (out / "malformed" / name).write_bytes(data)
    return expect


def big_endian_gguf(out: Path) -> bytes:
    """A big-endian file exactly as gguf-py writes it (endianess=BIG)."""
    tmp = out / "malformed" / ".big-endian.tmp"
    kvs = [("general.name", "big endian", VT.STRING, None), ("test.u32", 7, VT.UINT32, None)]
    write_gguf(tmp, kvs, [("a", np.arange(8, dtype=np.float32), None)], endianess=gguf.GGUFEndian.BIG)
    data = tmp.read_bytes()
    tmp.unlink()
    return data


def st_base_entries():
    return [("a", "F32", [4], f32_bytes(4)), ("b", "I32", [2], np.array([1, -1], dtype=np.int32).tobytes())]


def st_malformed(out: Path) -> dict[str, str]:
    expect: dict[str, str] = {}
    header, data = st_layout(st_base_entries(), {"format": "pt"})   # a: [0,16], b: [16,24]
    full = st_bytes(header, data)
    hlen = struct.unpack_from("<Q", full)[0]

    def bad(name, content, word):
        (out / "malformed" / name).write_bytes(content)
        expect[name] = word

    def patched(**changes):
        h = json.loads(json.dumps(header))
        for tname, fields in changes.items():
            h[tname].update(fields)
        return h

    for n in sorted({0, 4, 7, 8, 8 + 5, 8 + hlen - 1, 8 + hlen, 8 + hlen + 10, len(full) - 1}):
        bad(f"st-truncated-at-{n}.safetensors", full[:n], "end of file")
    bad("st-header-size-huge.safetensors", st_bytes(header, data, declared_len=2**63), "header")
    bad("st-header-past-end.safetensors", st_bytes(header, data, declared_len=1000), "end of file")
    bad("st-header-size-zero.safetensors", struct.pack("<Q", 0) + data, "json")
    bad("st-not-json.safetensors", st_bytes("this is not json {", data), "json")
    bad("st-header-not-object.safetensors", st_bytes("[1, 2, 3]", data), "object")
    bad("st-header-invalid-utf8.safetensors",
        st_bytes(b'{"a\xff":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', data[:16]), "utf-8")
    bad("st-hole.safetensors", st_bytes(patched(b={"data_offsets": [20, 28]}), data[:16] + b"\0" * 12), "hole")
    bad("st-overlap.safetensors", st_bytes(patched(b={"data_offsets": [8, 16]}), data[:16]), "overlap")
    bad("st-trailing-bytes.safetensors", st_bytes(header, data + b"\0" * 8), "trailing")
    bad("st-buffer-short.safetensors", st_bytes(header, data[:20]), "end of file")
    bad("st-bad-dtype.safetensors", st_bytes(patched(a={"dtype": "F7"}), data), "dtype")
    h = patched()
    del h["a"]["dtype"]
    bad("st-dtype-missing.safetensors", st_bytes(h, data), "dtype")
    bad("st-shape-mismatch.safetensors", st_bytes(patched(a={"shape": [5]}), data), "shape")
    bad("st-negative-dim.safetensors", st_bytes(patched(a={"shape": [-4]}), data), "shape")
    bad("st-shape-overflow.safetensors",
        st_bytes(patched(a={"shape": [2**32, 2**32, 2**32]}), data), "overflow")
    bad("st-offsets-reversed.safetensors", st_bytes(patched(a={"data_offsets": [16, 0]}), data), "offset")
    bad("st-negative-offset.safetensors", st_bytes(patched(a={"data_offsets": [-16, 16]}), data), "offset")
    bad("st-offset-not-integer.safetensors", st_bytes(patched(a={"data_offsets": [0.5, 16]}), data), "offset")
    h = patched()
    h["__metadata__"] = {"format": 1}
    bad("st-metadata-not-string.safetensors", st_bytes(h, data), "metadata")
    raw = ('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},'
           '"a":{"dtype":"I32","shape":[2],"data_offsets":[16,24]}}')
    bad("st-duplicate-name.safetensors", st_bytes(raw, data), "duplicate")
    return expect


def hf_malformed(out: Path) -> dict[str, str]:
    expect: dict[str, str] = {}
    cfg = llama_config(8, 16, 1, 2, 2, 16, tie=True, dtype="float32")
    a = {"a": np.arange(4, dtype=np.float32)}
    b = {"b": np.arange(2, dtype=np.float32)}

    def folder(name, shard_names, weight_map, word, index_text=None):
        d = out / "malformed" / name
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        write_json(d / "config.json", cfg)
        for fname, tensors in shard_names.items():
            save_safetensors(tensors, d / fname, {"format": "pt"})
        if index_text is None:
            index_text = json.dumps({"metadata": {"total_size": 24}, "weight_map": weight_map}, indent=2) + "\n"
        (d / "model.safetensors.index.json").write_text(index_text, encoding="utf-8")
        expect[name] = word

    # In each folder the index entry for tensor "a" is the broken one (oracle_check dumps "a").
    s1, s2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
    # the escaping shard really exists, one level up, so only a path check can refuse it
    save_safetensors(a, out / "malformed" / "outside-shard.safetensors", {"format": "pt"})
    folder("hf-shard-outside-folder", {s1: b}, {"a": "../outside-shard.safetensors", "b": s1}, "outside")
    folder("hf-tensor-not-in-shard", {s1: a, s2: b}, {"a": s2, "b": s2}, "not found")
    folder("hf-missing-shard-file", {s1: b}, {"a": s2, "b": s1}, "not found")
    folder("hf-index-not-json", {s1: a, s2: b}, None, "json", index_text="{ weight_map: oops\n")
    return expect


def gen_malformed(out: Path):
    # this folder holds only generated files: start empty so no stale file survives a change
    shutil.rmtree(out / "malformed", ignore_errors=True)
    (out / "malformed").mkdir(parents=True)
    expect = {}
    expect.update(gguf_malformed(out))
    expect.update(st_malformed(out))
    expect.update(hf_malformed(out))
    write_json(out / "malformed" / "EXPECT.json", dict(sorted(expect.items())))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "fixtures", help="fixtures folder (default: %(default)s)")
    args = ap.parse_args()
    out: Path = args.out
    for sub in ("gguf", "safetensors", "hf", "malformed"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    gen_gguf_metadata(out)
    gen_gguf_alignments(out)
    gen_gguf_types(out)
    gen_safetensors_dtypes(out)
    gen_safetensors_header_grammar(out)
    gen_hf(out)
    gen_malformed(out)
    print(f"fixtures written to {out}")


if __name__ == "__main__":
    main()
