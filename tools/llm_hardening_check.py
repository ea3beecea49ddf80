#!/usr/bin/env python3
"""Bad input to the LLM path under a 4 GB address-space limit (issue 12).

The sibling of tools/hardening_check.py, with its runner: every command runs with RLIMIT_AS =
4 GB, a 20 s timeout and TMPDIR pointed at an empty folder, and must end with the exit status
it expects, without a signal, with one stderr line (for exit 1) naming the file and the field
or key, and leave nothing in TMPDIR. Inputs are copies of fixtures/llm and fixtures/demo edited
here: config.json as JSON, safetensors by rewriting the header, GGUF and .xnor files (GGUF too)
through gguf-py's GGUFReader and GGUFWriter, with the .xnor tensor checksums recomputed so the
edit is the only thing wrong. Each edit is read back before it is used.

The cases are the reproductions of issue 12, by its sections:
  1. signals: KV cache capacity (--ctx-size, an edited `capacity`), a token embedding of 0 rows,
     logits produced by a Shape node, --prompt-ids files (3 GB sparse, 200 MB of lines, 1 GB of
     NULs), SIGXFSZ under RLIMIT_FSIZE;
  2. exit 0 with NaN: bad floats in config.json, GGUF keys, rope_freqs and edited .xnor graphs
     and tensors; verify on NaN and --min-cosine nan; what convert writes but no run accepts
     (max_position_embeddings 0/-1, context_length 0, embeddings and q_proj of the wrong dtype);
     ambiguous sources (duplicate keys, colliding tensor names, an untied model without
     lm_head, qwen3 without q_norm); verify against another source; options that do not apply;
  3. outputs: --force onto the command's own input (checksums compared), path aliases of -o and
     --report, a report in a missing folder or a full disk (a small tmpfs; nothing may be left), -o '';
  4. memory: a packed BitNet checkpoint of 16 MB (made by a child process, `--make`) converted and
     run within 64 MiB + 4 bytes per input byte; --random-tokens 2^20 on a 128-token context;
     a 10 MB prompt line; verify with 10^6 sequences;
  5. error lines: GGUF errors name the GGUF key, a NaN weight names its tensor, an
     out-of-vocabulary id names the file and line, a CRLF prompt file is accepted, a BERT
     position past 128 is called a position;
  6. the source run of a packed BitNet checkpoint matches transformers' BitLinear (ref_bitnet.npy)
     to 1e-4 of the largest logit.
Prints one line per check and `N passed, N failed`; exit 1 on any failure.
"""
from __future__ import annotations

import hashlib
import json
import math
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from hardening_check import Limited, command_line, make_in_child  # the limited runner, options, child makers
from xnortools.arrays import read_safetensors, write_safetensors
from xnortools.paths import ROOT
from xnortools.report import Report

LLM = ROOT / "fixtures" / "llm"
DEMO = ROOT / "fixtures" / "demo" / "tiny-llama"


class ConstructionError(Exception):
    """An input was not built as the case needs: the case itself is wrong, not the binary."""


def expect(condition: bool, what: str):
    if not condition:
        raise ConstructionError(what)


# --------------------------------------------------------------------------------------------
# Inputs: folders, safetensors, GGUF and .xnor edits
# --------------------------------------------------------------------------------------------

def copy_folder(source: Path, target: Path) -> Path:
    """The model files of a Hugging Face folder (config.json and the safetensors)."""
    target.mkdir(parents=True)
    for name in ["config.json", "model.safetensors"]:
        shutil.copy(source / name, target / name)
    return target


def edit_config(folder: Path, edit) -> Path:
    path = folder / "config.json"
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config, indent=1))
    return folder


def config_folder(work: Path, name: str, case: str, edit) -> Path:
    return edit_config(copy_folder(LLM / case, work / name), edit)


def edit_safetensors(folder: Path, edit) -> Path:
    """`edit(list of (name, dtype, shape, bytes))` returns the new list."""
    path = folder / "model.safetensors"
    tensors, metadata = read_safetensors(path)
    write_safetensors(path, edit(tensors), metadata)
    return folder


def retype(name: str, dtype: str, element_bytes: int, values):
    """Replaces tensor `name` by one of `dtype` with the same shape, holding `values`."""
    def edit(tensors):
        out = []
        for n, d, shape, payload in tensors:
            if n == name:
                count = math.prod(shape)
                payload = np.resize(np.asarray(values), count).astype(values.dtype).tobytes()
                expect(len(payload) == count * element_bytes, f"{name}: {len(payload)} bytes for {count} {dtype}")
                d = dtype
            out.append((n, d, shape, payload))
        expect(any(n == name and d == dtype for n, d, *_ in out), f"{name} not retyped")
        return out
    return edit


def safetensors_dtype(folder: Path, name: str) -> str | None:
    tensors, _ = read_safetensors(folder / "model.safetensors")
    return next((d for n, d, *_ in tensors if n == name), None)


def rewrite_gguf(source: Path, target: Path, keys: dict | None = None, tensors=None, graph=None) -> Path:
    """Copies a GGUF (or .xnor) file through gguf-py, changing metadata and tensors:
    `keys`: key -> (value, GGUFValueType) or None to drop it;
    `tensors(name, numpy shape, GGMLQuantizationType, bytes)` -> (shape, type, bytes);
    `graph(dict)` edits the xnor.graph JSON in place.
    A .xnor's tensor checksums are recomputed, so the edit is the only thing wrong."""
    import gguf
    keys = keys or {}
    reader = gguf.GGUFReader(str(source))
    items = []
    for t in reader.tensors:
        shape = [int(d) for d in reversed(t.shape.tolist())]
        item = (t.name, shape, t.tensor_type, bytes(np.asarray(t.data).tobytes()))
        if tensors:
            item = (t.name, *tensors(*item))
        items.append(item)
    architecture = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(str(target), architecture)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        if key in keys:
            if keys[key] is not None:
                value, kind = keys[key]
                writer.add_key_value(key, value, kind)
            continue
        value = field.contents()
        kind = field.types[0]
        if key == "general.alignment":
            writer.add_custom_alignment(value)
        elif key == "xnor.checksums.sha256":
            writer.add_key_value(key, [f"{hashlib.sha256(payload).hexdigest()}  {name}" for name, _, _, payload in items],
                                 kind, sub_type=gguf.GGUFValueType.STRING)
        elif key == "xnor.graph" and graph:
            document = json.loads(value)
            graph(document)
            writer.add_key_value(key, json.dumps(document, separators=(",", ":")), kind)
        else:
            writer.add_key_value(key, value, kind, sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)
    for key, entry in keys.items():
        if entry is not None and key not in reader.fields:
            writer.add_key_value(key, *entry)
    for name, shape, kind, payload in items:
        block, type_size = gguf.GGML_QUANT_SIZES[kind]
        # gguf-py takes raw bytes with the byte shape (last dim in bytes) and converts it back.
        byte_shape = (shape[:-1] + [shape[-1] // block * type_size]) if shape else [type_size]
        writer.add_tensor(name, np.frombuffer(payload, dtype=np.uint8).copy(), raw_shape=byte_shape, raw_dtype=kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target


def gguf_field(path: Path, key: str):
    import gguf
    field = gguf.GGUFReader(str(path)).fields.get(key)
    return None if field is None else field.contents()


def xnor_graph(path: Path) -> dict:
    return json.loads(gguf_field(path, "xnor.graph"))


def gguf_tensor(path: Path, name: str):
    import gguf
    return next((t for t in gguf.GGUFReader(str(path)).tensors if t.name == name), None)


def set_key(source: Path, target: Path, key: str, value, kind_name: str) -> Path:
    import gguf
    kind = getattr(gguf.GGUFValueType, kind_name)
    rewrite_gguf(source, target, keys={key: (value, kind)})
    got = gguf_field(target, key)
    expect(got == value or (isinstance(value, float) and math.isnan(value) and math.isnan(got))
           or (isinstance(value, float) and np.float32(value) == np.float32(got)), f"{target.name}: {key} is {got}, not {value}")
    return target


def set_tensor(source: Path, target: Path, name: str, fill) -> Path:
    """Tensor `name` (F32) replaced by `fill(float32 array)`."""
    import gguf
    wanted = []

    def edit(n, shape, kind, payload):
        if n != name:
            return shape, kind, payload
        expect(kind == gguf.GGMLQuantizationType.F32, f"{name} is {kind.name}, not F32")
        wanted.append(fill(np.frombuffer(payload, dtype=np.float32).copy()).astype(np.float32).tobytes())
        return shape, kind, wanted[0]
    rewrite_gguf(source, target, tensors=edit)
    t = gguf_tensor(target, name)
    expect(bool(wanted) and t is not None and np.asarray(t.data).tobytes() == wanted[0], f"{target.name}: {name} is not as written")
    return target


def graph_nodes(document: dict, op_type: str) -> list[dict]:
    return [n for n in document["nodes"] if n["op_type"] == op_type]


def set_attribute(node: dict, name: str, kind: str, value):
    attributes = [a for a in node["attributes"] if a["name"] != name]
    attributes.append({"name": name, "type": kind, "value": value})
    node["attributes"] = attributes


def attribute(node: dict, name: str):
    return next((a["value"] for a in node["attributes"] if a["name"] == name), None)


def edited_graph(source: Path, target: Path, edit, check) -> Path:
    """A .xnor whose xnor.graph is changed by `edit(dict)`; `check(dict)` confirms the edit on
    the file written."""
    rewrite_gguf(source, target, graph=edit)
    expect(check(xnor_graph(target)), f"{target.name}: the graph edit is not in the file")
    return target


def file_digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        for p in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if p.is_file():
                h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# The large inputs, each written by a child process (`--make NAME PATH`), so that this
# process stays small (wait4's peak of a child includes what the parent held at fork).
# --------------------------------------------------------------------------------------------

def bf16(x: np.ndarray) -> bytes:
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return ((u + ((u >> 16) & 1) + np.uint32(0x7FFF)) >> 16).astype(np.uint16).tobytes()


def packed_bitnet(folder: Path, hidden=1024, ffn=2816, layers=4, heads=16, vocab=2048):
    """A packed BitNet checkpoint in bitnet-b1.58-2B-4T's layout (uint8 [N/4, K], four 2-bit codes
    a byte, one bf16 weight_scale per Linear), of the fixture's config but larger: 16.7 MB."""
    folder.mkdir(parents=True, exist_ok=True)
    config = json.loads((LLM / "bitnet_packed" / "config.json").read_text())
    config.update(hidden_size=hidden, intermediate_size=ffn, num_hidden_layers=layers, num_attention_heads=heads,
                  num_key_value_heads=heads, vocab_size=vocab)
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    rng = np.random.default_rng(12)

    def packed(n, k):
        codes = rng.integers(0, 3, size=(4, n // 4, k), dtype=np.uint8)  # 0, 1, 2 = code + 1
        return (codes[0] | codes[1] << 2 | codes[2] << 4 | codes[3] << 6).astype(np.uint8).tobytes()

    def norm(n):
        return bf16(1 + 0.1 * rng.standard_normal(n, dtype=np.float32))

    tensors = [("model.embed_tokens.weight", "BF16", [vocab, hidden], bf16(rng.standard_normal((vocab, hidden), dtype=np.float32)))]
    for i in range(layers):
        p = f"model.layers.{i}."
        tensors.append((p + "input_layernorm.weight", "BF16", [hidden], norm(hidden)))
        tensors.append((p + "post_attention_layernorm.weight", "BF16", [hidden], norm(hidden)))
        tensors.append((p + "self_attn.attn_sub_norm.weight", "BF16", [hidden], norm(hidden)))
        tensors.append((p + "mlp.ffn_sub_norm.weight", "BF16", [ffn], norm(ffn)))
        for linear, n, k in [("self_attn.q_proj", hidden, hidden), ("self_attn.k_proj", hidden, hidden),
                             ("self_attn.v_proj", hidden, hidden), ("self_attn.o_proj", hidden, hidden),
                             ("mlp.gate_proj", ffn, hidden), ("mlp.up_proj", ffn, hidden), ("mlp.down_proj", hidden, ffn)]:
            tensors.append((p + linear + ".weight", "U8", [n // 4, k], packed(n, k)))
            tensors.append((p + linear + ".weight_scale", "BF16", [1], bf16(np.array([rng.uniform(0.5, 2.0) * math.sqrt(k)]))))
    tensors.append(("model.norm.weight", "BF16", [hidden], norm(hidden)))
    write_safetensors(folder / "model.safetensors", tensors, {"format": "pt"})


def sparse(path: Path, size: int):
    with open(path, "wb") as f:
        f.truncate(size)


def lines(path: Path, line: bytes, count: int):
    with open(path, "wb") as f:
        chunk = line * 65536
        for _ in range(count // 65536):
            f.write(chunk)
        f.write(line * (count % 65536))


MAKERS = {
    "bitnet-packed-16mb": packed_bitnet,
    "nul-3g.txt": lambda p: sparse(p, 3 << 30),
    "nul-1g.txt": lambda p: sparse(p, 1 << 30),
    "ones-200mb.txt": lambda p: lines(p, b"1\n", 100_000_000),
    "short-1e6.txt": lambda p: lines(p, b"1,2\n", 1_000_000),
    "one-line-10mb.txt": lambda p: p.write_bytes(b"1," * 5_000_000 + b"1\n"),
}


def make(name: str, folder: Path) -> Path:
    return make_in_child(__file__, name, folder)


# --------------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------------

class Cases:
    def __init__(self, x: Limited, report: Report, work: Path):
        self.x, self.report, self.work = x, report, work
        self.out = work / "out"
        self.out.mkdir()

    def run(self, args, expect_status, name, words=(), **kw):
        """One command; outputs go to self.out, which must be empty afterwards unless the case
        succeeds (exit 0)."""
        p = self.x.run(args, expect_status, name, self.report, words, **kw)
        left = list(self.out.iterdir())
        if p is not None and p.returncode == expect_status == 1 and any(str(self.out) in str(a) for a in args):
            self.report.check(f"{name}: no output written", f"left {[x.name for x in left]}" if left else None)
        elif p is not None and p.returncode == 0 != expect_status:
            # What the wrongly accepted input gave: the "exit 0 with NaN or garbage".
            for x in left:
                if x.suffix == ".npy":
                    values = np.load(x)
                    bad = int(np.size(values) - np.isfinite(values).sum()) if values.dtype.kind == "f" else "no float"
                    print(f"     (wrote {x.name}: {values.dtype} {list(values.shape)}, {bad} non-finite values)")
            nan_lines = [line for line in p.stdout.decode("utf-8", "replace").splitlines() if "nan" in line.lower()]
            if nan_lines:
                print(f"     (printed {len(nan_lines)} lines with NaN, e.g. {nan_lines[0].strip()[:160]!r})")
        for x in left:
            shutil.rmtree(x, ignore_errors=True) if x.is_dir() else x.unlink()
        return p

    def build(self, name: str, make_input):
        """An input, or a failed check naming the case when it cannot be built as intended."""
        try:
            return make_input()
        except (ConstructionError, subprocess.CalledProcessError, KeyError, ValueError) as error:
            self.report.check(f"{name}: building the input", f"construction failed: {error}")
            return None

    def convert(self, source: Path, target: Path, *extra) -> Path | None:
        p = self.x.run(["convert", source, "-o", target, "--quiet", *extra], 0, f"setup: convert {source.name} -> {target.name}",
                       self.report)
        return target if p is not None and p.returncode == 0 and target.exists() else None


def signals(c: Cases, llama_xnor: Path):
    w, o = c.work, c.out / "o.npy"
    # The KV cache is sized from --ctx-size or the graph's capacity before anything checks it
    # (16 GiB per Attention node; "Fatal error: failed to allocate").
    for ctx in [8_388_608, 67_108_864]:
        c.run(["run", llama_xnor, "--tokens", "1,2,3", "--ctx-size", ctx, "-o", o], 1,
              f"KV cache: run .xnor --ctx-size {ctx}", ("--ctx-size",))
    c.run(["run", LLM / "llama", "--tokens", "1,2,3", "--ctx-size", 8_388_608, "-o", o], 1,
          "KV cache: run the HF source --ctx-size 8388608", ("--ctx-size",))
    c.run(["run", llama_xnor, "--tokens", "1,2,3", "--n-predict", 4, "--ctx-size", 8_388_608], 1,
          "KV cache: run .xnor --n-predict 4 --ctx-size 8388608", ("--ctx-size",))

    def capacity(document):
        for node in graph_nodes(document, "Attention"):
            set_attribute(node, "capacity", "int", 67_108_864)
    big = c.build("capacity 2^26", lambda: edited_graph(
        llama_xnor, w / "capacity.xnor", capacity,
        lambda g: all(attribute(n, "capacity") == 67_108_864 for n in graph_nodes(g, "Attention")) and graph_nodes(g, "Attention")))
    if big:
        c.run(["run", big, "--tokens", "1,2,3", "-o", o], 1, "KV cache: every Attention capacity 2^26 in xnor.graph, run -o",
              ("capacity.xnor", "capacity"))
        c.run(["run", big, "--tokens", "1,2,3", "--n-predict", 2], 1,
              "KV cache: every Attention capacity 2^26 in xnor.graph, --n-predict", ("capacity.xnor", "capacity"))

    # A token embedding of 0 rows: the random tokens are drawn modulo its row count.
    def no_rows(name, shape, kind, payload):
        return ([0, shape[1]], kind, b"") if name == "token_embd.weight" else (shape, kind, payload)

    def no_rows_graph(document):
        for item in document["initializers"]:
            if item["name"] == "token_embd.weight":
                item["shape"] = [0, item["shape"][1]]

    def zero_rows():
        path = rewrite_gguf(llama_xnor, w / "zero-rows.xnor", tensors=no_rows, graph=no_rows_graph)
        t = gguf_tensor(path, "token_embd.weight")
        expect(t is not None and t.shape.tolist() == [64, 0], f"token_embd.weight ne is {t and t.shape.tolist()}")
        return path
    zero = c.build("zero-row token_embd", zero_rows)
    if zero:
        c.run(["run", zero, "--random-tokens", 3, "-o", o], 1, "token_embd.weight of 0 rows (ne [64, 0]), --random-tokens 3",
              ("zero-rows.xnor", "token_embd.weight"))

    # logits made by a Shape node: an I64 [2] where the session needs F32 [T, vocab].
    def shape_logits(document):
        for node in document["nodes"]:
            if node["outputs"] == ["logits"]:
                node.update(op_type="Shape", domain="", inputs=node["inputs"][:1], attributes=[])
    shaped = c.build("Shape logits", lambda: edited_graph(
        llama_xnor, w / "shape-logits.xnor", shape_logits,
        lambda g: any(n["op_type"] == "Shape" and n["outputs"] == ["logits"] for n in g["nodes"])))
    if shaped:
        c.run(["run", shaped, "--tokens", "1,2,3", "--n-predict", 2], 1, "logits produced by a Shape node, --n-predict 2",
              ("shape-logits.xnor", "logits"))
        c.run(["run", shaped, "--tokens", "1,2,3", "-o", o], 1, "logits produced by a Shape node, run -o",
              ("shape-logits.xnor", "logits"))

    # --prompt-ids: read as a stream with a size bound, non-text refused early.
    for name, what in [("nul-3g.txt", "a 3 GB sparse file"), ("ones-200mb.txt", "200 MB of '1' lines"),
                       ("nul-1g.txt", "1 GB of NULs")]:
        path = c.build(name, lambda: make(name, w))
        if path:
            c.run(["run", llama_xnor, "--prompt-ids", path, "-o", o], 1, f"--prompt-ids {what}", (name,), budget=(path, 0))
            path.unlink()

    # SIGXFSZ: the write fails with EFBIG instead, and the usual error names the output.
    c.run(["convert", DEMO, "-o", c.out / "x.xnor", "--quiet"], 1, "convert under RLIMIT_FSIZE = 100000 (SIGXFSZ)",
          ("x.xnor",), rlimits=((resource.RLIMIT_FSIZE, 100_000),))


def bad_numbers(c: Cases, llama_xnor: Path):
    w, o = c.work, c.out / "o.npy"

    # config.json floats, through convert and through run of the source.
    def rope_parameters(key, value):
        return lambda config: config["rope_parameters"].__setitem__(key, value)
    configs = [
        ("eps-minus-1", "llama", lambda cfg: cfg.__setitem__("rms_norm_eps", -1), "rms_norm_eps"),
        ("linear-factor-0", "llama_tied_linear", lambda cfg: cfg["rope_scaling"].__setitem__("factor", 0), "factor"),
        ("linear-factor-1e-300", "llama_tied_linear", lambda cfg: cfg["rope_scaling"].__setitem__("factor", 1e-300), "factor"),
        ("llama3-factor-0", "llama", rope_parameters("factor", 0), "factor"),
        ("theta-1e-300", "llama_tied_linear", lambda cfg: cfg.__setitem__("rope_theta", 1e-300), "rope_theta"),
    ]
    folders = {}
    for name, case, edit, field in configs:
        folder = c.build(name, lambda: config_folder(w, name, case, edit))
        if not folder:
            continue
        folders[name] = folder
        c.run(["convert", folder, "-o", c.out / "a.xnor", "--quiet"], 1, f"config.json {name}: convert", ("config.json", field))
        c.run(["run", folder, "--tokens", "1,2,3", "-o", o], 1, f"config.json {name}: run the source", ("config.json", field))

    # GGUF keys and rope_freqs, through convert and run.
    gguf_cases = [
        ("eps-nan.gguf", lambda p: set_key(LLM / "llama" / "model.gguf", p, "llama.attention.layer_norm_rms_epsilon", float("nan"), "FLOAT32"),
         "llama.attention.layer_norm_rms_epsilon"),
        ("eps-minus-1.gguf", lambda p: set_key(LLM / "llama" / "model.gguf", p, "llama.attention.layer_norm_rms_epsilon", -1.0, "FLOAT32"),
         "llama.attention.layer_norm_rms_epsilon"),
        ("scaling-factor-0.gguf", lambda p: set_key(LLM / "llama_tied_linear" / "model.gguf", p, "llama.rope.scaling.factor", 0.0, "FLOAT32"),
         "llama.rope.scaling.factor"),
        ("scaling-factor-nan.gguf", lambda p: set_key(LLM / "llama_tied_linear" / "model.gguf", p, "llama.rope.scaling.factor", float("nan"), "FLOAT32"),
         "llama.rope.scaling.factor"),
        ("rope-freqs-zero.gguf", lambda p: set_tensor(LLM / "llama" / "model.gguf", p, "rope_freqs.weight", lambda v: v * 0),
         "rope_freqs.weight"),
        ("rope-freqs-nan.gguf", lambda p: set_tensor(LLM / "llama" / "model.gguf", p, "rope_freqs.weight", lambda v: v * np.nan),
         "rope_freqs.weight"),
    ]
    for name, build, key in gguf_cases:
        path = c.build(name, lambda: build(w / name))
        if not path:
            continue
        c.run(["convert", path, "-o", c.out / "a.xnor", "--quiet"], 1, f"GGUF {name}: convert", (name, key))
        c.run(["run", path, "--tokens", "1,2,3", "-o", o], 1, f"GGUF {name}: run the source", (name, key))

    # Edited .xnor graphs ("NaN" / "Infinity" in float attributes) and a NaN .scale tensor.
    def float_attribute(op_type, attr, value, floats=False):
        def edit(document):
            for node in graph_nodes(document, op_type):
                if floats:
                    set_attribute(node, attr, "floats", [value] * len(attribute(node, attr)))
                else:
                    set_attribute(node, attr, "float", value)

        def check(document):
            nodes = graph_nodes(document, op_type)
            return nodes and all((attribute(n, attr) or [None])[0] == value if floats else attribute(n, attr) == value for n in nodes)
        return edit, check
    edited = {}
    for op_type, attr, floats in [("RotaryEmbedding", "inv_freq", True), ("RMSNorm", "epsilon", False),
                                  ("Attention", "scale", False), ("XNORPopcountGemm", "alpha", False)]:
        for value in ["NaN", "Infinity"]:
            name = f"{attr}-{value.lower()}.xnor"
            edit, check = float_attribute(op_type, attr, value, floats)
            path = c.build(name, lambda: edited_graph(llama_xnor, w / name, edit, check))
            if path:
                edited[name] = path
                c.run(["run", path, "--tokens", "1,2,3", "-o", o], 1, f".xnor {op_type} {attr} \"{value}\": run", (name, attr))
    scale = "blk.0.attn_q.weight.scale"

    nan_scaled = c.build("nan-scale.xnor", lambda: set_tensor(llama_xnor, w / "nan-scale.xnor", scale, lambda v: v * np.nan))
    if nan_scaled:
        c.run(["run", nan_scaled, "--tokens", "1,2,3", "-o", o], 1, f".xnor NaN in {scale}: run", ("nan-scale.xnor", scale))

    # verify: a NaN in a compared output is a failure; --min-cosine outside [-1, 1] is a usage error.
    def eps_minus_one(document):
        for node in graph_nodes(document, "RMSNorm"):
            set_attribute(node, "epsilon", "float", -1.0)
    eps_xnor = c.build("eps -1 .xnor", lambda: edited_graph(
        llama_xnor, w / "eps-minus-1.xnor", eps_minus_one,
        lambda g: all(attribute(n, "epsilon") == -1.0 for n in graph_nodes(g, "RMSNorm"))))
    if eps_xnor and "eps-minus-1" in folders:
        c.run(["verify", eps_xnor, "--source", folders["eps-minus-1"], "--quiet"], 1,
              "verify the eps -1 model against its source (NaN reported as agreement)", (("rms_norm_eps", "epsilon"),))
    if nan_scaled:
        c.run(["verify", nan_scaled, "--source", LLM / "llama", "--quiet"], 1, f"verify with NaN in {scale}",
              (("nan", scale),))
    for value in ["nan", "2", "-1.5"]:
        c.run(["verify", llama_xnor, "--source", LLM / "llama", "--min-cosine", value, "--quiet"], 1,
              f"verify --min-cosine {value}", ("--min-cosine",))

    # convert must refuse what no run accepts.
    for value in [0, -1]:
        folder = c.build(f"max_position_embeddings {value}", lambda: config_folder(
            w, f"max-pos-{value}", "llama", lambda cfg: cfg.__setitem__("max_position_embeddings", value)))
        if folder:
            c.run(["convert", folder, "-o", c.out / "a.xnor", "--quiet"], 1, f"convert max_position_embeddings {value}",
                  ("config.json", "max_position_embeddings"))
    path = c.build("context_length 0", lambda: set_key(LLM / "llama" / "model.gguf", w / "context-0.gguf", "llama.context_length", 0, "UINT32"))
    if path:
        c.run(["convert", path, "-o", c.out / "a.xnor", "--quiet"], 1, "convert GGUF llama.context_length 0",
              ("context-0.gguf", "llama.context_length"))
    typed = [("model.embed_tokens.weight", "U8", 1, np.arange(256, dtype=np.uint8), ("embed_tokens", "token_embd")),
             ("model.embed_tokens.weight", "BOOL", 1, np.array([0, 1], dtype=np.uint8), ("embed_tokens", "token_embd")),
             ("model.embed_tokens.weight", "I64", 8, np.arange(7, dtype=np.int64), ("embed_tokens", "token_embd")),
             ("model.layers.0.self_attn.q_proj.weight", "I32", 4, np.arange(-3, 4, dtype=np.int32), ("q_proj", "attn_q")),
             ("model.layers.0.self_attn.q_proj.weight", "BOOL", 1, np.array([0, 1], dtype=np.uint8), ("q_proj", "attn_q"))]
    for tensor, dtype, size, values, words in typed:
        label = f"{tensor.split('.')[-2]}-{dtype}"

        def typed_folder():
            folder = edit_safetensors(copy_folder(LLM / "llama", w / label), retype(tensor, dtype, size, values))
            expect(safetensors_dtype(folder, tensor) == dtype, f"{tensor} is not {dtype}")
            return folder
        folder = c.build(label, typed_folder)
        if folder:
            c.run(["convert", folder, "-o", c.out / "a.xnor", "--quiet"], 1, f"convert {tensor} as {dtype}", ("model.safetensors", words))

    # Ambiguous sources.
    def duplicate_key():
        folder = copy_folder(LLM / "llama", w / "duplicate-key")
        text = (folder / "config.json").read_text()
        (folder / "config.json").write_text(text.replace('"hidden_size": 64,', '"hidden_size": 64, "hidden_size": 32,', 1))
        expect((folder / "config.json").read_text().count('"hidden_size"') == 2, "no duplicate hidden_size")
        return folder
    folder = c.build("duplicate key", duplicate_key)
    if folder:
        c.run(["convert", folder, "-o", c.out / "a.xnor", "--quiet"], 1, "config.json with hidden_size twice", ("config.json", "hidden_size"))
    q = "model.layers.0.self_attn.q_proj.weight"
    for alias in ["layers.0.self_attn.q_proj.weight", "model.layers.00.self_attn.q_proj.weight", "model.layers.+0.self_attn.q_proj.weight"]:
        label = "collide-" + alias.split(".self_attn")[0].replace("+", "plus")

        def colliding():
            def add(tensors):
                original = next(t for t in tensors if t[0] == q)
                return tensors + [(alias, *original[1:])]
            folder = edit_safetensors(copy_folder(LLM / "llama", w / label), add)
            expect(safetensors_dtype(folder, alias) is not None, f"{alias} not added")
            return folder
        folder = c.build(label, colliding)
        if folder:
            # A non-canonical layer number is refused on its own (it names the tensor and why);
            # a canonical alias must name both tensors that collide.
            words = (alias, q) if alias.startswith("layers.") else (alias, "canonical")
            c.run(["convert", folder, "-o", c.out / "a.xnor", "--quiet"], 1, f"tensors {alias} beside {q}", words)

    def untied():
        folder = edit_safetensors(copy_folder(LLM / "llama", w / "untied-no-lm-head"), lambda ts: [t for t in ts if t[0] != "lm_head.weight"])
        expect(safetensors_dtype(folder, "lm_head.weight") is None, "lm_head.weight still there")
        expect(json.loads((folder / "config.json").read_text())["tie_word_embeddings"] is False, "tied")
        return folder
    folder = c.build("untied without lm_head", untied)
    if folder:
        c.run(["convert", folder, "-o", c.out / "a.xnor", "--quiet"], 1, "tie_word_embeddings false without lm_head.weight",
              (("lm_head.weight", "tie_word_embeddings"),))
    q_norm = "model.layers.0.self_attn.q_norm.weight"

    def no_q_norm():
        folder = edit_safetensors(copy_folder(LLM / "qwen3", w / "qwen3-no-q-norm"), lambda ts: [t for t in ts if t[0] != q_norm])
        expect(safetensors_dtype(folder, q_norm) is None and safetensors_dtype(folder, q_norm.replace("q_norm", "k_norm")), "q_norm/k_norm")
        return folder
    folder = c.build("qwen3 without q_norm", no_q_norm)
    if folder:
        c.run(["convert", folder, "-o", c.out / "a.xnor", "--quiet"], 1, "qwen3 with k_norm but no q_norm", ("q_norm",))

    # verify against a different model of the same shapes: xnor.source.sha256 is compared.
    def other_source():
        def perturb(tensors):
            return [(n, d, s, (bytes([p[0] ^ 1]) + p[1:]) if n == "lm_head.weight" else p) for n, d, s, p in tensors]
        folder = edit_safetensors(copy_folder(LLM / "llama", w / "other-source"), perturb)
        expect(file_digest(folder / "model.safetensors") != file_digest(LLM / "llama" / "model.safetensors"), "same bytes")
        return folder
    other = c.build("other source", other_source)
    if other:
        c.run(["verify", llama_xnor, "--source", other, "--quiet"], 1, "verify against a different source of the same shapes",
              (("sha256", "--allow-other-source"),))
        c.run(["verify", llama_xnor, "--source", other, "--allow-other-source", "--quiet"], 0,
              "verify against a different source with --allow-other-source")

    # Options that do not apply to a language model.
    c.run(["verify", llama_xnor, "--source", LLM / "llama", "--input", "/nonexistent.npy", "--quiet"], 1,
          "verify --input on an LLM", ("--input",))
    c.run(["verify", llama_xnor, "--source", LLM / "llama", "--random-inputs", 5, "--dim", "tokens=7", "--quiet"], 1,
          "verify --random-inputs 5 --dim tokens=7 on an LLM", (("--random-inputs", "--dim"),))
    c.run(["run", llama_xnor, "--tokens", "1,2,3", "--dim", "tokens=7", "-o", o], 1, "run --dim on an LLM", ("--dim",))


def outputs(c: Cases, llama_xnor: Path):
    w = c.work
    # --force must not replace the command's own input.
    own = w / "own"
    own.mkdir()
    model = own / "m.gguf"
    shutil.copy(LLM / "llama" / "model.gguf", model)
    folder = copy_folder(LLM / "llama", w / "own-folder")
    for args, name, inputs in [
        (["convert", model, "-o", model, "--force", "--quiet"], "convert m.gguf -o m.gguf --force", [model]),
        (["convert", model, "-o", own / "." / "m.gguf", "--force", "--quiet"], "convert m.gguf -o ./m.gguf --force", [model]),
        (["convert", folder, "-o", folder / "model.safetensors", "--force", "--quiet"],
         "convert folder -o folder/model.safetensors --force", [folder]),
        (["convert", folder, "-o", folder / "config.json", "--force", "--quiet"], "convert folder -o folder/config.json --force", [folder]),
        (["dump", model, "token_embd.weight", "-o", model, "--force"], "dump m.gguf token_embd.weight -o m.gguf --force", [model]),
    ]:
        before = file_digest(*inputs)
        c.run(args, 1, name, (inputs[0].name,))
        c.report.check(f"{name}: the input is unchanged", None if file_digest(*inputs) == before else "the input was changed")
        if not model.exists() or file_digest(model) != file_digest(LLM / "llama" / "model.gguf"):
            shutil.copy(LLM / "llama" / "model.gguf", model)
        for name_ in ["config.json", "model.safetensors"]:
            shutil.copy(LLM / "llama" / name_, folder / name_)

    # Aliases of one path, and outputs that cannot all be written: nothing may be left.
    d = c.out
    for force in [[], ["--force"]]:
        c.run(["convert", LLM / "llama", "-o", d / "a.xnor", "--report", f"{d}/./a.xnor", "--quiet", *force], 1,
              f"convert -o d/a.xnor --report d/./a.xnor {' '.join(force)}".strip(), ("a.xnor",))
    c.run(["convert", LLM / "llama", "-o", d / "a.xnor", "--report", d / "missing" / "r.json", "--quiet"], 1,
          "convert --report in a missing folder leaves no .xnor", ("missing",))
    c.run(["convert", LLM / "llama", "-o", d / "a.xnor", "--compress", "zstd", "--report", d / "missing" / "r.json", "--quiet"], 1,
          "convert --compress zstd --report in a missing folder leaves no .xnor nor .zst", ("missing",))
    full_disk(c, llama_xnor)
    c.run(["convert", LLM / "llama", "-o", "", "--quiet"], 1, "convert -o ''", (("-o", "--output"),))
    c.run(["run", llama_xnor, "--tokens", "1,2,3", "-o", ""], 1, "run -o ''", (("-o", "--output"),))
    c.run(["dump", LLM / "llama" / "model.gguf", "token_embd.weight", "-o", ""], 1, "dump -o ''", (("-o", "--output"),))


def full_disk(c: Cases, llama_xnor: Path):
    """A disk that fills while the second output is written (a tmpfs sized to hold the .xnor
    and little more): the command fails naming that file and leaves the folder as it was, a
    replaced file with its old bytes. Needs root to mount; said and skipped otherwise."""
    disk = c.work / "small-disk"
    disk.mkdir()
    size = (llama_xnor.stat().st_size + 4095) // 4096 * 4096
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], capture_output=True).returncode != 0:
        print("SKIP full disk: cannot mount a small tmpfs here (needs root)")
        return
    try:
        for extra, label in [(["--compress", "zstd"], "the .zst"), (["--report", disk / "r.json"], "the report")]:
            name = f"convert onto a full disk, failing at {label}"
            c.x.run(["convert", LLM / "llama", "-o", disk / "a.xnor", "--quiet", *extra], 1, name, c.report, ("No space left",))
            left = sorted(x.name for x in disk.iterdir())
            c.report.check(f"{name}: nothing left", f"left {left}" if left else None)
            for x in disk.iterdir():
                x.unlink()
        # With --force, the files it would replace keep their bytes.
        (disk / "a.xnor").write_bytes(b"old model")
        name = "convert --force onto a full disk keeps the file it would replace"
        c.x.run(["convert", LLM / "llama", "-o", disk / "a.xnor", "--compress", "zstd", "--force", "--quiet"], 1, name, c.report,
                ("No space left",))
        kept = (disk / "a.xnor").read_bytes() == b"old model" and not (disk / "a.xnor.zst").exists()
        c.report.check(f"{name}: old bytes kept, no .zst", None if kept else f"folder holds {sorted(x.name for x in disk.iterdir())}")
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def memory(c: Cases, llama_xnor: Path):
    w, o = c.work, c.out / "o.npy"
    folder = c.build("packed BitNet 16 MB", lambda: make("bitnet-packed-16mb", w))
    if folder:
        shard = folder / "model.safetensors"
        converted = c.out / "packed.xnor"
        c.run(["convert", folder, "-o", converted, "--quiet"], 0, "convert a packed BitNet checkpoint", budget=(shard, 4))
        c.run(["run", folder, "--tokens", "1,2,3", "-o", o], 0, "run a packed BitNet checkpoint (source)", budget=(shard, 4))
        # c.run clears the outputs after each case: convert again for the .xnor run.
        kept = w / "packed.xnor"
        p = c.x.run(["convert", folder, "-o", kept, "--quiet"], 0, "setup: convert the packed checkpoint", c.report)
        if p is not None and p.returncode == 0:
            c.run(["run", kept, "--tokens", "1,2,3", "-o", o], 0, "run the converted packed BitNet .xnor", budget=(kept, 4))
            kept.unlink()
    c.run(["run", llama_xnor, "--random-tokens", 1 << 20, "-o", o], 1, "--random-tokens 1048576 on a 128-token context",
          (("context", "--ctx-size"),), budget=(llama_xnor, 4))
    path = c.build("10 MB line", lambda: make("one-line-10mb.txt", w))
    if path:
        c.run(["run", llama_xnor, "--prompt-ids", path, "-o", o], 1, "--prompt-ids of one 10 MB line", (path.name,), budget=(path, 4))
        path.unlink()
    path = c.build("10^6 lines", lambda: make("short-1e6.txt", w))
    if path:
        c.run(["verify", llama_xnor, "--source", LLM / "llama", "--prompt-ids", path, "--quiet"], 1,
              "verify --prompt-ids of 10^6 short sequences", (path.name,), budget=(path, 4))
        path.unlink()


def error_lines(c: Cases, llama_xnor: Path):
    w, o = c.work, c.out / "o.npy"
    source = LLM / "llama" / "model.gguf"
    for key, value in [("llama.embedding_length", 0), ("llama.attention.head_count", 0), ("llama.attention.head_count_kv", 3),
                       ("llama.feed_forward_length", 0), ("llama.block_count", 0), ("llama.vocab_size", 0),
                       ("llama.attention.key_length", 15), ("llama.embedding_length", 1 << 30)]:
        name = f"{key.removeprefix('llama.').replace('.', '-')}-{value}.gguf"
        path = c.build(name, lambda: set_key(source, w / name, key, value, "UINT32"))
        if path:
            c.run(["convert", path, "-o", c.out / "a.xnor", "--quiet"], 1, f"GGUF {key} = {value} named as the GGUF key", (name, key))
    path = c.build("freq_base 0", lambda: set_key(source, w / "freq-base-0.gguf", "llama.rope.freq_base", 0.0, "FLOAT32"))
    if path:
        c.run(["convert", path, "-o", c.out / "a.xnor", "--quiet"], 1, "GGUF llama.rope.freq_base = 0 named as the GGUF key",
              ("freq-base-0.gguf", "llama.rope.freq_base"))

    q = "model.layers.0.self_attn.q_proj.weight"

    def nan_weight(tensors):
        return [(n, d, s, (b"\xc0\x7f" + p[2:]) if n == q else p) for n, d, s, p in tensors]
    folder = c.build("NaN weight", lambda: edit_safetensors(copy_folder(LLM / "llama", w / "nan-weight"), nan_weight))
    if folder:
        c.run(["convert", folder, "-o", c.out / "a.xnor", "--quiet"], 1, "a NaN weight names its tensor", (("q_proj", "attn_q"),))

    oov = w / "oov.txt"
    oov.write_text("1,2,3\n4,500,6\n")
    c.run(["run", llama_xnor, "--prompt-ids", oov, "-o", o], 1, "out-of-vocabulary id in --prompt-ids names file and line",
          ("oov.txt", "line 2", "500"))
    crlf = w / "crlf.txt"
    crlf.write_bytes(b"1,2,3\r\n4,5,6\r\n")
    # run takes one sequence (several lines are refused as such); verify takes several.
    crlf_one = w / "crlf-one.txt"
    crlf_one.write_bytes(b"1,2,3\r\n")
    c.run(["run", llama_xnor, "--prompt-ids", crlf_one, "-o", o], 0, "a CRLF --prompt-ids file is accepted (run)")
    c.run(["run", llama_xnor, "--prompt-ids", crlf, "-o", o], 1, "run refuses a --prompt-ids file of two sequences, naming it",
          ("crlf.txt", "2 sequences"))
    c.run(["verify", llama_xnor, "--source", LLM / "llama", "--prompt-ids", crlf, "--quiet"], 0,
          "a CRLF --prompt-ids file is accepted (verify)")

    bert = c.convert(LLM / "bert", w / "bert.xnor")
    for model, label in [(LLM / "bert", "source"), (bert, ".xnor")]:
        if model is None:
            continue
        p = c.run(["run", model, "--random-tokens", 200, "-o", o], 1, f"BERT ({label}): position 200 past 128",
                  (("positions", "max_position_embeddings", "context"),))
        if p is not None and p.returncode == 1:
            c.report.check(f"BERT ({label}): position 200 is not called a vocabulary problem",
                           "the error speaks of the vocabulary" if b"vocabulary" in p.stderr else None)


def packed_source_numerics(c: Cases):
    """Issue 12 section 6: the source run of a packed checkpoint is transformers' BitLinear, which
    quantizes each token's activations to int8 (absmax) before the ternary product."""
    o = c.work / "logits.npy"
    for case in ["bitnet_packed", "bitnet_packed_autobitlinear"]:
        folder = LLM / case
        tokens = ",".join(str(int(t)) for t in np.load(folder / "tokens.npy"))
        p = c.x.run(["run", folder, "--tokens", tokens, "-o", o, "--force"], 0, f"{case}: run the packed source", c.report)
        if p is None or p.returncode != 0:
            continue
        ours, reference = np.load(o).astype(np.float64), np.load(folder / "ref_bitnet.npy")
        error = float(np.max(np.abs(ours - reference)) / np.max(np.abs(reference)))
        c.report.check(f"{case}: source run against transformers' BitLinear (max|d|/max|ref| {error:.2e}, at most 1e-4)",
                       None if error <= 1e-4 else f"relative error {error:.2e}")
        o.unlink()


def main() -> int:
    args = command_line(__doc__, MAKERS)
    if args is None:
        return 0
    report = Report()
    with tempfile.TemporaryDirectory() as work_dir, tempfile.TemporaryDirectory() as tmp_dir:
        work, tmp = Path(work_dir), Path(tmp_dir)
        c = Cases(Limited(args.xnor.resolve(), tmp), report, work)
        llama_xnor = c.convert(LLM / "llama", work / "llama.xnor")
        if llama_xnor is None:
            print(report.summary())
            return 1
        # The editor itself: an unedited copy is byte for byte the file, so in every case the
        # edit is the only difference.
        for source in [llama_xnor, LLM / "llama" / "model.gguf"]:
            copy = rewrite_gguf(source, work / ("copy-" + source.name))
            report.check(f"control: gguf-py rewrites {source.name} byte for byte",
                         None if copy.read_bytes() == source.read_bytes() else "the unedited copy differs")
            copy.unlink()
        signals(c, llama_xnor)
        bad_numbers(c, llama_xnor)
        outputs(c, llama_xnor)
        memory(c, llama_xnor)
        error_lines(c, llama_xnor)
        packed_source_numerics(c)
    print(report.summary())
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
