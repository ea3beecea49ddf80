#!/usr/bin/env python3
"""Writes the ONNX import fixtures: fixtures/onnx/import/ (valid models and what the onnx
package reads from them) and fixtures/onnx/malformed/ (models each broken in one way).

    .venv/bin/python tools/gen_onnx_import_fixtures.py

Deterministic: fixed seeds and fixed protobuf serialization, so a rerun rewrites the same
bytes. The expected values come from the onnx package itself (onnx.load and
onnx.numpy_helper.to_array), never from our Swift code:

- import/EXPECTED.json: for each model, its metadata, graph inputs and outputs, nodes with
  their attributes (floats as float32 bit patterns), and each initializer's dtype, shape,
  where its bytes are, and two .npy files: the element bits (uint8/16/32/64 view of the
  array, compared byte for byte) and the values as float32 (what `xnor dump` writes).
- malformed/EXPECT.json: model file -> a lowercase phrase the error must contain.
"""

import json
import os
import shutil
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from xnortools import paths

ROOT = str(paths.ROOT)
BASE = os.path.join(ROOT, "fixtures", "onnx")
IMPORT = os.path.join(BASE, "import")
MALFORMED = os.path.join(BASE, "malformed")
OUTSIDE = os.path.join(BASE, "outside")

# ONNX data type -> our ScalarType name (the safetensors dtype strings).
DTYPE_NAMES = {
    TensorProto.FLOAT: "F32", TensorProto.UINT8: "U8", TensorProto.INT8: "I8", TensorProto.UINT16: "U16",
    TensorProto.INT16: "I16", TensorProto.INT32: "I32", TensorProto.INT64: "I64", TensorProto.BOOL: "BOOL",
    TensorProto.FLOAT16: "F16", TensorProto.DOUBLE: "F64", TensorProto.UINT32: "U32", TensorProto.UINT64: "U64",
    TensorProto.BFLOAT16: "BF16", TensorProto.FLOAT8E4M3FN: "F8_E4M3", TensorProto.FLOAT8E5M2: "F8_E5M2",
}
OPSET = 17


def rng(seed):
    return np.random.default_rng(seed)


def random_values(r, dtype, shape):
    """Random values of every ONNX dtype we map, as the numpy/ml_dtypes array onnx expects."""
    np_dtype = helper.tensor_dtype_to_np_dtype(dtype)
    if dtype == TensorProto.BOOL:
        return r.integers(0, 2, size=shape).astype(bool)
    if dtype in (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16,
                 TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E5M2):
        return (r.standard_normal(size=shape) * 3).astype(np.float32).astype(np_dtype)
    info = np.iinfo(np_dtype)
    return r.integers(info.min, info.max, size=shape, dtype=np_dtype, endpoint=True)


def bits_view(array):
    width = array.dtype.itemsize
    return array.copy(order="C").view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[width])


def save(model, path):
    """Serializes deterministically, without onnx.save's external-data handling."""
    with open(path, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))


# --- protobuf wire encoding, for what the onnx package cannot write (unpacked fields) ---

def varint(value):
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, wire_type, payload):
    tag = varint(number << 3 | wire_type)
    if wire_type == 2:
        return tag + varint(len(payload)) + payload
    return tag + payload


def unpacked_tensor(name, data_type, dims, data_field, values, encoding):
    """A TensorProto whose typed field is written one element per tag (unpacked)."""
    out = b"".join(field(1, 0, varint(d)) for d in dims)
    out += field(2, 0, varint(data_type))
    out += field(8, 2, name.encode())
    for v in values:
        if encoding == "fixed32":
            out += field(data_field, 5, struct.pack("<f", v))
        elif encoding == "fixed64":
            out += field(data_field, 1, struct.pack("<d", v))
        else:
            out += field(data_field, 0, varint(int(v)))
    return out


# --- valid models ---

def mlp_raw():
    """An MLP whose weights are raw_data, plus one raw initializer of every dtype we map."""
    r = rng(1)
    w1 = r.standard_normal((5, 7)).astype(np.float32)
    b1 = r.standard_normal((7,)).astype(np.float32)
    w2t = r.standard_normal((3, 7)).astype(np.float32)
    b2 = r.standard_normal((3,)).astype(np.float32)
    inits = [
        numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(b1, "b1"),
        numpy_helper.from_array(w2t, "W2t"), numpy_helper.from_array(b2, "b2"),
        numpy_helper.from_array(np.array(0.25, dtype=np.float32), "scalar_f32"),
        numpy_helper.from_array(np.zeros((0, 3), dtype=np.float32), "empty_f32"),
        numpy_helper.from_array(np.array([2, -1], dtype=np.int64), "shape_i64"),
    ]
    for i, dtype in enumerate(DTYPE_NAMES):
        shape = [(i % 3) + 1, (i % 4) + 2]
        arr = random_values(r, dtype, shape)
        inits.append(helper.make_tensor(f"raw_{DTYPE_NAMES[dtype].lower()}", dtype, shape,
                                        bits_view(arr).tobytes(), raw=True))
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["h"], name="fc1"),
        helper.make_node("Add", ["h", "b1"], ["h1"], name="fc1_bias"),
        helper.make_node("Relu", ["h1"], ["h2"]),  # no name: shown by op and output
        helper.make_node("Gemm", ["h2", "W2t", "b2"], ["logits"], name="fc2", alpha=0.5, beta=1.0, transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
        helper.make_node("Reshape", ["probs", "shape_i64"], ["flat"], name="reshape"),
    ]
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 5]),
        # Listed as an input too, as IR < 4 required: it is an initializer, not an input.
        helper.make_tensor_value_info("W1", TensorProto.FLOAT, [5, 7]),
    ]
    outputs = [
        helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 3]),
        helper.make_tensor_value_info("flat", TensorProto.FLOAT, [None, None]),
    ]
    value_info = [helper.make_tensor_value_info("h", TensorProto.FLOAT, ["batch", None])]
    graph = helper.make_graph(nodes, "mlp_raw", inputs, outputs, inits, value_info=value_info)
    model = helper.make_model(graph, producer_name="xnorkit-fixtures", producer_version="1.0",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    model.doc_string = "An MLP with raw_data weights."
    helper.set_model_props(model, {"author": "xnorkit", "purpose": "import test"})
    onnx.checker.check_model(model)
    return model


def attributes_model():
    """Every attribute kind the IR holds, an If with subgraphs that read an outer value, a
    node in a custom domain with an omitted optional input, and a Constant with a tensor."""
    r = rng(2)
    const_value = helper.make_tensor("const_value", TensorProto.FLOAT, [2, 2], [1.5, -2.0, 0.0, 3.25])
    then_init = numpy_helper.from_array(np.array([1.0, 2.0, 3.0], dtype=np.float32), "then_offset")
    then_graph = helper.make_graph(
        [helper.make_node("Add", ["y", "then_offset"], ["then_out"], name="then_add")],
        "then_branch", [], [helper.make_tensor_value_info("then_out", TensorProto.FLOAT, [3])], [then_init])
    else_graph = helper.make_graph(
        [helper.make_node("Neg", ["y"], ["else_out"], name="else_neg")],
        "else_branch", [], [helper.make_tensor_value_info("else_out", TensorProto.FLOAT, [3])])
    nodes = [
        helper.make_node("Constant", [], ["c"], name="const", value=const_value),
        helper.make_node("Identity", ["x"], ["y"], name="ident"),
        helper.make_node("If", ["cond"], ["z"], name="branch", then_branch=then_graph, else_branch=else_graph),
        helper.make_node(
            "Everything", ["y", "", "c"], ["w", ""], name="every_kind", domain="xnorkit.test",
            an_int=-7, a_float=0.1, a_string="héllo\n\"quoted\"",
            some_ints=[0, -1, 2**40], some_floats=[1e-5, -0.0, 3.4028235e38, 1.4e-45, float("inf"), -2.5],
            some_strings=["a", "", "ü"],
            a_tensor=helper.make_tensor("attr_tensor", TensorProto.INT64, [3], [1, -2, 3])),
        helper.make_node("Cast", ["w"], ["w_f16"], name="cast", to=TensorProto.FLOAT16),
        helper.make_node("Gelu", ["y"], ["g"], name="gelu", domain="ai.onnx", approximate="tanh"),
    ]
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [3]),
        helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
    ]
    outputs = [
        helper.make_tensor_value_info("z", TensorProto.FLOAT, [3]),
        helper.make_tensor_value_info("w_f16", TensorProto.FLOAT16, ["n", None]),
        helper.make_tensor_value_info("g", TensorProto.FLOAT, None),  # rank unknown
    ]
    graph = helper.make_graph(nodes, "attributes", inputs, outputs,
                              [numpy_helper.from_array(r.standard_normal(4).astype(np.float32), "unused")])
    model = helper.make_model(graph, producer_name="xnorkit-fixtures", producer_version="1.0",
                              opset_imports=[helper.make_opsetid("", 20), helper.make_opsetid("xnorkit.test", 1)])
    model.ir_version = 9
    return model


def typed_fields_model():
    """Initializers in the typed fields (float_data, int32_data, int64_data, double_data,
    uint64_data) as onnx writes them (packed), plus the same fields written unpacked."""
    r = rng(3)
    inits = []
    for dtype in DTYPE_NAMES:
        shape = [2, 3]
        arr = random_values(r, dtype, shape)
        if dtype in (TensorProto.BFLOAT16, TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E5M2):
            values = arr.astype(np.float32).flatten().tolist()  # make_tensor converts to bits
        else:
            values = arr.flatten().tolist()
        tensor = helper.make_tensor(f"typed_{DTYPE_NAMES[dtype].lower()}", dtype, shape, values, raw=False)
        assert not tensor.HasField("raw_data")
        inits.append(tensor)
    nodes = [helper.make_node("Identity", ["typed_f32"], ["out"], name="ident")]
    graph = helper.make_graph(nodes, "typed_fields", [], [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 3])], inits)
    model = helper.make_model(graph, producer_name="xnorkit-fixtures", opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    data = model.SerializeToString(deterministic=True)
    # Protobuf merges repeated occurrences of a message field: a second GraphProto (field 7)
    # appended to the file adds its initializers to the graph.
    unpacked = [
        unpacked_tensor("unpacked_f32", TensorProto.FLOAT, [4], 4, [1.5, -0.0, 1e-30, -7.25], "fixed32"),
        unpacked_tensor("unpacked_i8", TensorProto.INT8, [2, 2], 5, [-128, 127, -1, 0], "varint"),
        unpacked_tensor("unpacked_f16", TensorProto.FLOAT16, [3], 5, [0x3C00, 0xC000, 0x7BFF], "varint"),
        unpacked_tensor("unpacked_bool", TensorProto.BOOL, [3], 5, [1, 0, 1], "varint"),
        unpacked_tensor("unpacked_i64", TensorProto.INT64, [3], 7, [-(2**63), 2**63 - 1, -5], "varint"),
        unpacked_tensor("unpacked_f64", TensorProto.DOUBLE, [2], 10, [1e300, -2.5e-300], "fixed64"),
        unpacked_tensor("unpacked_u64", TensorProto.UINT64, [2], 11, [2**64 - 1, 3], "varint"),
        unpacked_tensor("unpacked_u32", TensorProto.UINT32, [2], 11, [2**32 - 1, 0], "varint"),
    ]
    fragment = b"".join(field(5, 2, t) for t in unpacked)
    data += field(7, 2, fragment)
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model)
    return data


def external_model(folder):
    """Weights in one external data file; the last tensor's entry has no length (to the end)."""
    r = rng(4)
    arrays = {
        "ext_w": r.standard_normal((16, 8)).astype(np.float32),
        "ext_f16": r.standard_normal((8,)).astype(np.float16),
        "ext_i64": np.array([3, -1, 7], dtype=np.int64),
        "ext_tail": r.standard_normal((5,)).astype(np.float32),
    }
    inits = [numpy_helper.from_array(a, n) for n, a in arrays.items()]
    inits.append(numpy_helper.from_array(np.array([1.0, 2.0], dtype=np.float32), "inline_small"))
    nodes = [helper.make_node("MatMul", ["x", "ext_w"], ["y"], name="mm")]
    graph = helper.make_graph(nodes, "external", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])], inits)
    model = helper.make_model(graph, producer_name="xnorkit-fixtures", opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    data_name = "external.data"
    blob = bytearray()
    for tensor in model.graph.initializer:
        if tensor.name == "inline_small":
            continue
        raw = tensor.raw_data
        while len(blob) % 16:
            blob.append(0)  # aligned offsets, as onnx writes for larger tensors
        entries = {"location": data_name, "offset": str(len(blob))}
        if tensor.name != "ext_tail":
            entries["length"] = str(len(raw))
        blob += raw
        tensor.ClearField("raw_data")
        tensor.data_location = TensorProto.EXTERNAL
        for k, v in entries.items():
            entry = tensor.external_data.add()
            entry.key, entry.value = k, v
    with open(os.path.join(folder, data_name), "wb") as f:
        f.write(bytes(blob))
    save(model, os.path.join(folder, "external.onnx"))


def describe(path):
    """What onnx reads from the model at `path`, for EXPECTED.json."""
    folder = os.path.dirname(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    with open(path, "rb") as f:
        file_bytes = f.read()
    model = onnx.load(path, load_external_data=False)
    g = model.graph
    init_names = {t.name for t in g.initializer}

    def value(v):
        t = v.type.tensor_type
        shape = None
        if t.HasField("shape"):
            shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]
        return {"name": v.name, "dtype": DTYPE_NAMES.get(t.elem_type), "shape": shape}

    def attribute(a):
        kind = helper.get_attribute_value(a)
        out = {"name": a.name}
        if a.type == onnx.AttributeProto.FLOAT:
            out.update(type="float", f32bits=struct.unpack("<I", struct.pack("<f", a.f))[0])
        elif a.type == onnx.AttributeProto.FLOATS:
            out.update(type="floats", f32bits=[struct.unpack("<I", struct.pack("<f", x))[0] for x in a.floats])
        elif a.type == onnx.AttributeProto.INT:
            out.update(type="int", value=a.i)
        elif a.type == onnx.AttributeProto.INTS:
            out.update(type="ints", value=list(a.ints))
        elif a.type == onnx.AttributeProto.STRING:
            out.update(type="string", value=a.s.decode())
        elif a.type == onnx.AttributeProto.STRINGS:
            out.update(type="strings", value=[s.decode() for s in a.strings])
        elif a.type == onnx.AttributeProto.TENSOR:
            arr = numpy_helper.to_array(a.t)
            out.update(type="tensor", dtype=DTYPE_NAMES[a.t.data_type], shape=list(arr.shape),
                       hex=bits_view(arr).tobytes().hex())
        elif a.type == onnx.AttributeProto.GRAPH:
            out.update(type="graph", name=a.g.name, nodes=[n.name for n in a.g.node],
                       initializers=[t.name for t in a.g.initializer])
        else:
            raise ValueError(kind)
        return out

    npy_folder = os.path.join(folder, stem + ".expected")
    os.makedirs(npy_folder, exist_ok=True)
    initializers = []
    for i, t in enumerate(g.initializer):
        arr = numpy_helper.to_array(t, base_dir=folder)
        bits_file = f"{stem}.expected/{i}.bits.npy"
        f32_file = f"{stem}.expected/{i}.f32.npy"
        np.save(os.path.join(folder, bits_file), bits_view(arr))
        with np.errstate(over="ignore"):  # float64 beyond float32's range becomes inf, as in dump
            np.save(os.path.join(folder, f32_file), arr.astype(np.float32).copy(order="C"))
        entry = {"name": t.name, "dtype": DTYPE_NAMES[t.data_type], "shape": [int(d) for d in t.dims],
                 "nbytes": arr.nbytes, "bits": bits_file, "float32": f32_file, "offset": None, "file": None}
        if t.data_location == TensorProto.EXTERNAL:
            info = {e.key: e.value for e in t.external_data}
            entry.update(offset=int(info.get("offset", "0")), file=info["location"])
        elif t.HasField("raw_data") and len(t.raw_data) > 0:
            at = file_bytes.find(t.raw_data)
            # Only a unique match is an oracle for the offset; the bytes test covers the rest.
            if at >= 0 and file_bytes.find(t.raw_data, at + 1) < 0:
                entry["offset"] = at
        initializers.append(entry)

    op_counts = {}
    for n in g.node:
        op_counts[n.op_type] = op_counts.get(n.op_type, 0) + 1
    return {
        "producer_name": model.producer_name,
        "producer_version": model.producer_version,
        "ir_version": model.ir_version,
        "opsets": [{"domain": o.domain, "version": o.version} for o in model.opset_import],
        "metadata_props": {p.key: p.value for p in model.metadata_props},
        "graph_name": g.name,
        "inputs": [value(v) for v in g.input if v.name not in init_names],
        "outputs": [value(v) for v in g.output],
        "value_info": [value(v) for v in g.value_info],
        "nodes": [{"name": n.name, "op_type": n.op_type, "domain": n.domain, "inputs": list(n.input),
                   "outputs": list(n.output), "attributes": [attribute(a) for a in n.attribute]} for n in g.node],
        "op_counts": op_counts,
        "initializers": initializers,
    }


# --- malformed models ---

def external_variant(entries, dims=(4,), data_type=TensorProto.FLOAT):
    """A one-node model whose weight 'w' has the given external_data entries."""
    w = TensorProto()
    w.name = "w"
    w.data_type = data_type
    w.dims.extend(dims)
    w.data_location = TensorProto.EXTERNAL
    for k, v in entries:
        e = w.external_data.add()
        e.key, e.value = k, v
    node = helper.make_node("Identity", ["w"], ["y"], name="ident")
    graph = helper.make_graph([node], "bad_external", [], [helper.make_tensor_value_info("y", data_type, list(dims))], [w])
    model = helper.make_model(graph, producer_name="xnorkit-fixtures", opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model


def graph_variant(nodes, inputs=("x",), outputs=("y",), inits=()):
    graph = helper.make_graph(
        nodes, "bad_graph",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2]) for n in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2]) for n in outputs], list(inits))
    model = helper.make_model(graph, producer_name="xnorkit-fixtures", opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model


def write_malformed():
    expect = {}
    good = mlp_raw().SerializeToString(deterministic=True)

    def put(name, model_or_bytes, phrase):
        data = model_or_bytes if isinstance(model_or_bytes, bytes) else model_or_bytes.SerializeToString(deterministic=True)
        with open(os.path.join(MALFORMED, name), "wb") as f:
            f.write(data)
        expect[name] = phrase

    # Truncations: inside the W1 raw_data, inside a tag, and one byte short of the end.
    w1 = numpy_helper.to_array(onnx.load_from_string(good).graph.initializer[0]).tobytes()
    at = good.find(w1)
    put("truncated-in-weights.onnx", good[: at + 10], "not a valid onnx protobuf")
    put("truncated-last-byte.onnx", good[:-1], "not a valid onnx protobuf")
    put("truncated-header.onnx", good[:3], "not a valid onnx protobuf")
    put("garbage.onnx", bytes(range(0xF0, 0x100)) * 4, "not a valid onnx protobuf")

    # External data that escapes or is not a plain file in the folder.
    with open(os.path.join(MALFORMED, "ext.data"), "wb") as f:
        f.write(np.arange(8, dtype=np.float32).tobytes())  # 32 bytes
    # A file outside malformed/ for the escapes to point at; the symlinked folder points at its
    # folder (a sibling, not a parent, so that nothing walking fixtures/ can loop).
    os.makedirs(OUTSIDE, exist_ok=True)
    with open(os.path.join(OUTSIDE, "outside.data"), "wb") as f:
        f.write(np.arange(4, dtype=np.float32).tobytes())  # 16 bytes
    for link, target in [("ext-link.data", "ext.data"), ("linked-dir", "../outside")]:
        path = os.path.join(MALFORMED, link)
        if os.path.lexists(path):
            os.remove(path)
        os.symlink(target, path)
    os.makedirs(os.path.join(MALFORMED, "a-directory"), exist_ok=True)
    with open(os.path.join(MALFORMED, "a-directory", "README"), "w") as f:
        f.write("A folder that an external data location names (it must be a file).\n")

    put("ext-absolute.onnx", external_variant([("location", "/nonexistent/outside.data")]), "absolute path")
    put("ext-dotdot.onnx", external_variant([("location", "../outside/outside.data")]), "leaves the model's folder")
    put("ext-symlink-dir.onnx", external_variant([("location", "linked-dir/outside.data")]), "leaves the model's folder")
    put("ext-symlink-file.onnx", external_variant([("location", "ext-link.data")]), "symbolic link")
    put("ext-directory.onnx", external_variant([("location", "a-directory")]), "directory")
    put("ext-missing.onnx", external_variant([("location", "no-such-file.data")]), "cannot open")
    put("ext-ort-marker.onnx", external_variant([("location", "*/_ORT_MEM_ADDR_/*"), ("offset", "0"), ("length", "16")]), "_ort_mem_addr_")
    put("ext-empty-location.onnx", external_variant([("location", "")]), "empty location")
    put("ext-no-location.onnx", external_variant([("offset", "0")]), "no 'location'")
    put("ext-past-end.onnx", external_variant([("location", "ext.data"), ("offset", "24"), ("length", "16")]), "past the end")
    put("ext-offset-past-end.onnx", external_variant([("location", "ext.data"), ("offset", "40")]), "past the end")
    put("ext-offset-wraps.onnx", external_variant([("location", "ext.data"), ("offset", "16"), ("length", str(2**63 - 8))]), "past the end")
    put("ext-offset-not-decimal.onnx", external_variant([("location", "ext.data"), ("offset", "0x10")]), "not a non-negative decimal")
    put("ext-length-negative.onnx", external_variant([("location", "ext.data"), ("length", "-16")]), "not a non-negative decimal")
    put("ext-length-mismatch.onnx", external_variant([("location", "ext.data"), ("offset", "0"), ("length", "32")]), "does not match")
    put("ext-duplicate-key.onnx", external_variant([("location", "ext.data"), ("location", "ext.data")]), "appears twice")

    # Tensors whose data does not fit their dims and type.
    def raw_tensor(nbytes, dims=(2, 3), data_type=TensorProto.FLOAT):
        t = TensorProto()
        t.name, t.data_type = "w", data_type
        t.dims.extend(dims)
        t.raw_data = bytes(range(nbytes))
        return t

    ident = [helper.make_node("Identity", ["w"], ["y"], name="ident")]
    put("raw-short.onnx", graph_variant(ident, inputs=(), inits=[raw_tensor(20)]), "raw_data has 20 bytes")
    put("raw-long.onnx", graph_variant(ident, inputs=(), inits=[raw_tensor(28)]), "raw_data has 28 bytes")
    short = helper.make_tensor("w", TensorProto.FLOAT, [2, 3], [1.0] * 6)
    del short.float_data[5:]
    put("typed-count.onnx", graph_variant(ident, inputs=(), inits=[short]), "float_data has 5 values")
    wrong_field = helper.make_tensor("w", TensorProto.FLOAT, [2], [1.0, 2.0])
    wrong_field.ClearField("float_data")
    wrong_field.int64_data.extend([1, 2])
    put("typed-wrong-field.onnx", graph_variant(ident, inputs=(), inits=[wrong_field]), "int64_data")
    bad_int8 = TensorProto()
    bad_int8.name, bad_int8.data_type = "w", TensorProto.INT8
    bad_int8.dims.append(2)
    bad_int8.int32_data.extend([5, 300])
    put("int8-out-of-range.onnx", graph_variant(ident, inputs=(), inits=[bad_int8]), "does not fit")
    string_tensor = helper.make_tensor("w", TensorProto.STRING, [1], [b"text"])
    put("dtype-string.onnx", graph_variant(ident, inputs=(), inits=[string_tensor]), "string (8) is not supported")
    unknown = raw_tensor(8, dims=(2,))
    unknown.data_type = 99
    put("dtype-unknown.onnx", graph_variant(ident, inputs=(), inits=[unknown]), "unknown type (99)")
    negative = raw_tensor(0, dims=(2,))
    del negative.dims[:]
    negative.dims.extend([-1, 2])
    put("dims-negative.onnx", graph_variant(ident, inputs=(), inits=[negative]), "negative dimension")
    overflow = raw_tensor(0, dims=(2,))
    del overflow.dims[:]
    overflow.dims.extend([2**40, 2**40])
    put("dims-overflow.onnx", graph_variant(ident, inputs=(), inits=[overflow]), "overflow")

    # Graphs that break the IR's rules.
    put("graph-cycle.onnx", graph_variant([
        helper.make_node("Add", ["x", "d"], ["c"], name="add_first"),
        helper.make_node("Relu", ["c"], ["d"], name="relu_second"),
        helper.make_node("Identity", ["d"], ["y"], name="out"),
    ]), "cycle or out-of-order node")
    put("graph-undefined-input.onnx", graph_variant([
        helper.make_node("Add", ["x", "nowhere"], ["y"], name="add"),
    ]), "undefined input 'nowhere'")
    put("graph-duplicate-output.onnx", graph_variant([
        helper.make_node("Relu", ["x"], ["y"], name="first"),
        helper.make_node("Neg", ["x"], ["y"], name="second"),
    ]), "already produced")
    put("graph-output-undefined.onnx", graph_variant([
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
    ]), "never produced")
    put("graph-sparse-initializer.onnx", (lambda m: (m.graph.sparse_initializer.add().values.CopyFrom(
        helper.make_tensor("sv", TensorProto.FLOAT, [1], [1.0])), m)[1])(graph_variant(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")])), "sparse")
    no_graph = helper.make_model(helper.make_graph([], "g", [], []), producer_name="xnorkit-fixtures")
    no_graph.ClearField("graph")
    put("no-graph.onnx", no_graph, "has no graph")

    with open(os.path.join(MALFORMED, "EXPECT.json"), "w") as f:
        json.dump(dict(sorted(expect.items())), f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    for folder in (IMPORT, MALFORMED, OUTSIDE):
        if os.path.isdir(folder):
            shutil.rmtree(folder)
        os.makedirs(folder)

    save(mlp_raw(), os.path.join(IMPORT, "mlp_raw.onnx"))
    save(attributes_model(), os.path.join(IMPORT, "attributes.onnx"))
    with open(os.path.join(IMPORT, "typed_fields.onnx"), "wb") as f:
        f.write(typed_fields_model())
    external_model(IMPORT)

    expected = {}
    for name in sorted(os.listdir(IMPORT)):
        if name.endswith(".onnx"):
            expected[name] = describe(os.path.join(IMPORT, name))
    with open(os.path.join(IMPORT, "EXPECTED.json"), "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write("\n")

    write_malformed()
    print(f"wrote {len(expected)} models to {os.path.relpath(IMPORT, ROOT)} and "
          f"{len(json.load(open(os.path.join(MALFORMED, 'EXPECT.json'))))} to {os.path.relpath(MALFORMED, ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
