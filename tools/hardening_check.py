#!/usr/bin/env python3
"""Bad input under a 4 GB address-space limit (issue 7).

Every command runs with RLIMIT_AS = 4 GB, a 20 s timeout, and TMPDIR pointed at an empty
folder. Each case must end with the exit status it expects, without a signal, with at most
one line on stderr (naming the file where it fails), and leave nothing in TMPDIR:
  - every file of fixtures/malformed and fixtures/onnx/malformed through `xnor inspect`;
  - a zstd bomb (zeros whose frames declare their size, and a stream that declares none);
  - a FIFO as the model, and as config.json inside a Hugging Face folder;
  - sizes declared in a model: random inputs of 10^11 rows, ConstantOfShape of 4e9 floats;
  - `--force` onto a FIFO, which must be left as it is;
  - escape sequences in a GGUF tensor name, which must not reach the terminal raw;
  - a tensor of 22000 dims dumped to .npy (format 2.0, where numpy's 1.0 header overflows);
  - GGUF metadata arrays of 60 MB of UINT8 and of 10^7 empty strings, and 10^8 empty strings
    in a 24 KB .gguf.zst;
  - 10^7 empty ONNX nodes, an If-tree of 2^21 subgraphs, and a 100 MB config.json holding one array;
  - safetensors headers just under the 100 MB limit: 1.65·10^6 tensors, and 7·10^6 metadata keys;
  - a 46 MB model.safetensors.index.json of 1.5·10^6 entries.
The cases that test memory in proportion to the input also hold the peak resident memory to
64 MiB plus 10 bytes per byte of the input file.
Prints one line per check and `N passed, N failed`; exit 1 on any failure.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from xnortools.paths import ROOT
from xnortools.report import Report

ADDRESS_SPACE = 4 << 30
TIMEOUT = 20


def limited(extra: tuple[tuple[int, int], ...] = ()):
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    for which, value in extra:
        resource.setrlimit(which, (value, value))


class Limited:
    def __init__(self, exe: Path, tmp: Path):
        self.exe, self.tmp = exe, tmp

    def run(self, args: list, expect: int, name: str, report: Report, words: tuple[str | tuple[str, ...], ...] = (),
            budget: tuple[Path, float] | None = None, rlimits: tuple[tuple[int, int], ...] = ()):
        """`words`: each must appear in stderr (case-insensitive); a tuple of words is satisfied
        by any one of them. `budget` (input, bytes per byte): the peak resident memory may be at
        most 64 MiB plus that many bytes per byte of the input file. `rlimits`: more
        (resource, limit) pairs for the child, beside RLIMIT_AS."""
        env = dict(os.environ, TMPDIR=str(self.tmp))
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            child = subprocess.Popen([str(self.exe)] + [str(a) for a in args], stdout=out, stderr=err, env=env,
                                     preexec_fn=lambda: limited(rlimits), stdin=subprocess.DEVNULL)
            # wait4 gives this child's own peak memory (RUSAGE_CHILDREN would give the largest
            # of all children so far).
            deadline = time.monotonic() + TIMEOUT
            while True:
                pid, status, usage = os.wait4(child.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    child.kill()
                    os.wait4(child.pid, 0)
                    report.check(name, f"no answer within {TIMEOUT} s")
                    return None
                time.sleep(0.02)
            child.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            p = subprocess.CompletedProcess(child.args, child.returncode, out.read(), err.read())
        peak = usage.ru_maxrss * 1024
        if budget:
            name = f"{name} (peak {peak >> 20} MiB for {budget[0].stat().st_size >> 20} MiB of input)"
        problems = []
        if p.returncode < 0:
            problems.append(f"killed by signal {-p.returncode}")
        elif p.returncode != expect:
            problems.append(f"exit {p.returncode}, expected {expect}: {p.stderr[:300]!r}")
        if budget and peak > (64 << 20) + budget[1] * budget[0].stat().st_size:
            problems.append(f"peak memory {peak >> 20} MiB is over the budget of {budget[1]} bytes per byte")
        lines = p.stderr.decode("utf-8", "replace").splitlines()
        if expect == 1 and len(lines) != 1:
            problems.append(f"{len(lines)} lines on stderr")
        if b"\x1b" in p.stderr or b"\x1b" in p.stdout:
            problems.append("a raw ESC byte reached the terminal")
        text = p.stderr.decode("utf-8", "replace").lower()
        for word in words:
            alternatives = word if isinstance(word, tuple) else (word,)
            if not any(w.lower() in text for w in alternatives):
                problems.append(f"stderr lacks {' or '.join(map(repr, alternatives))}: {p.stderr[:300]!r}")
        left = list(self.tmp.iterdir())
        if left:
            problems.append(f"left in TMPDIR: {[x.name for x in left]}")
            for x in left:
                shutil.rmtree(x, ignore_errors=True) if x.is_dir() else x.unlink()
        report.check(name, problems)
        return p


def write_gguf_with_escape(path: Path):
    import gguf
    w = gguf.GGUFWriter(str(path), "test")
    w.add_tensor("evil\x1b[31mred\x1b[0m", np.zeros(4, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# The large inputs, each written by a child process (`--make NAME FOLDER`): a child's peak
# memory as wait4 reports it includes what this process held when it forked, so this one stays
# small.
def varint(n: int) -> bytes:
    out = b""
    while True:
        low, n = n & 0x7F, n >> 7
        out += bytes([low | (0x80 if n else 0)])
        if not n:
            return out


def protobuf_field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def protobuf_number(field_number: int, n: int) -> bytes:
    return varint(field_number << 3) + varint(n)


def array_gguf(path: Path, element_type: int, count: int, element: bytes):
    key = b"test.array"
    with open(path, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key)
        f.write(struct.pack("<IIQ", 9, element_type, count))
        f.write(element * count)


def if_tree(path: Path, depth: int = 21):
    """An If whose branches are Ifs, 2^depth subgraphs (133 MB at depth 21)."""
    output = protobuf_field(12, protobuf_field(1, b"y"))
    tree = output
    for _ in range(depth):
        branch = lambda name: protobuf_field(1, name) + protobuf_number(20, 5) + protobuf_field(6, tree)
        node = (protobuf_field(1, b"c") + protobuf_field(2, b"y") + protobuf_field(4, b"If")
                + protobuf_field(5, branch(b"then_branch")) + protobuf_field(5, branch(b"else_branch")))
        tree = protobuf_field(1, node) + output
    condition = protobuf_field(11, protobuf_field(1, b"c") + protobuf_field(2, protobuf_field(1, protobuf_number(1, 9))))
    path.write_bytes(protobuf_number(1, 8) + protobuf_field(7, tree + condition) + protobuf_field(8, protobuf_number(2, 17)))


def safetensors_header(path: Path, header: bytes):
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)


def index_folder(path: Path):
    folder = path.parent
    (folder / "config.json").write_text('{"model_type": "llama"}')
    shutil.copy(ROOT / "fixtures" / "hf" / "tiny-single" / "model.safetensors", folder / "model.safetensors")
    with open(path, "w") as f:
        f.write('{"metadata": {"total_size": 4}, "weight_map": {')
        f.write(",".join('"t%07d":"model.safetensors"' % i for i in range(1_500_000)))
        f.write("}}")


def compressed_strings(path: Path):
    """10^8 empty strings (800 MB) in a 24 KB .gguf.zst: within the decompression bound."""
    plain = path.with_suffix("")
    array_gguf(plain, 8, 100_000_000, b"\0" * 8)
    subprocess.run(["zstd", "-q", "-19", "-f", "--rm", plain, "-o", path], check=True)


MAKERS = {
    "strings.gguf.zst": compressed_strings,
    "bytes.gguf": lambda p: array_gguf(p, 0, 60_000_000, b"\0"),
    "strings.gguf": lambda p: array_gguf(p, 8, 10_000_000, b"\0" * 8),
    "empty-nodes.onnx": lambda p: p.write_bytes(b"\x08\x08\x3a" + varint(20_000_000) + b"\x0a\x00" * 10_000_000),
    "if-tree.onnx": if_tree,
    "config/config.json": lambda p: p.write_text('{"model_type": "llama", "x": [' + "0," * 50_000_000 + "0]}"),
    "tensors.safetensors": lambda p: safetensors_header(p, b"{" + b",".join(
        b'"t%07d":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}' % i for i in range(1_650_000)) + b"}"),
    "metadata.safetensors": lambda p: safetensors_header(p, b'{"__metadata__":{' + b",".join(
        b'"%07d":""' % i for i in range(7_000_000)) + b"}}"),
    "index/model.safetensors.index.json": index_folder,
}


def make_in_child(script: str, name: str, folder: Path) -> Path:
    """Has `script` (this file or a sibling) write its large input NAME into FOLDER in a child
    process (`--make NAME PATH`), so the peak memory wait4 reports is the tool's, not ours."""
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, script, "--make", name, str(folder / name)], check=True)
    return folder / name


def make(name: str, folder: Path) -> Path:
    return make_in_child(__file__, name, folder)


def command_line(doc: str, makers: dict) -> argparse.Namespace | None:
    """The options both hardening checks take; None when this process was only asked to write
    one large input (`--make NAME PATH`, see make_in_child), which it has then done."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xnor", type=Path, default=ROOT / ".build" / "release" / "xnor")
    parser.add_argument("--make", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        makers[args.make[0]](Path(args.make[1]))
        return None
    return args


def main() -> int:
    args = command_line(__doc__, MAKERS)
    if args is None:
        return 0
    report = Report()
    with tempfile.TemporaryDirectory() as work_dir, tempfile.TemporaryDirectory() as tmp_dir:
        work, tmp = Path(work_dir), Path(tmp_dir)
        x = Limited(args.xnor.resolve(), tmp)

        for folder in [ROOT / "fixtures" / "malformed", ROOT / "fixtures" / "onnx" / "malformed"]:
            expected = json.loads((folder / "EXPECT.json").read_text())
            for name in sorted(expected):
                x.run(["inspect", folder / name], 1, f"inspect {folder.name}/{name}", report)

        zeros = work / "zeros"
        with open(zeros, "wb") as f:
            f.truncate(1536 << 20)
        subprocess.run(["zstd", "-q", "-1", "-f", zeros, "-o", work / "declared.gguf.zst"], check=True)
        with open(zeros, "rb") as src, open(work / "stream.gguf.zst", "wb") as dst:
            subprocess.run(["zstd", "-q", "-1", "-c"], stdin=src, stdout=dst, check=True)
        zeros.unlink()
        x.run(["inspect", work / "declared.gguf.zst"], 1, "zstd bomb with declared size refused at once", report,
              ("declare", "--max-decompressed"))
        x.run(["inspect", work / "stream.gguf.zst"], 1, "zstd bomb without declared size stopped at the limit", report,
              ("--max-decompressed",))

        os.mkfifo(work / "fifo.gguf")
        x.run(["inspect", work / "fifo.gguf"], 1, "FIFO as the model", report, ("not a regular file",))
        (work / "hf").mkdir()
        os.mkfifo(work / "hf" / "config.json")
        x.run(["inspect", work / "hf"], 1, "FIFO as config.json", report, ("config.json", "not a regular file"))
        x.run(["convert", ROOT / "fixtures" / "onnx" / "models" / "mlp_matmul" / "model.onnx", "-o", work / "fifo.gguf",
               "--force", "--quiet"], 1, "--force onto a FIFO is refused", report, ("not a regular file",))

        mlp = ROOT / "fixtures" / "onnx" / "models" / "mlp_matmul" / "model.onnx"
        x.run(["run", mlp, "--random-inputs", "1", "--dim", "batch=100000000000", "-o", work / "o.npy"], 1,
              "random inputs of 10^11 rows", report, ("model.onnx", "--max-memory"))

        import onnx
        from onnx import helper, TensorProto, numpy_helper
        shape = numpy_helper.from_array(np.array([4_000_000_000], dtype=np.int64), "s")
        y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)
        g = helper.make_graph([helper.make_node("ConstantOfShape", ["s"], ["Y"])], "big", [], [y], [shape])
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), work / "big.onnx")
        x.run(["run", work / "big.onnx", "--random-inputs", "1", "-o", work / "big.npy"], 1,
              "ConstantOfShape of 4e9 floats", report, ("big.onnx", "--max-memory"))

        # numpy stops at 64 dims; the tensor is built field by field.
        many = helper.make_tensor("T", TensorProto.FLOAT, [1] * 22000, [0.5])
        gm = helper.make_graph([], "many", [], [helper.make_tensor_value_info("T", TensorProto.FLOAT, None)], [many])
        onnx.save(helper.make_model(gm, opset_imports=[helper.make_opsetid("", 17)]), work / "many.onnx")
        x.run(["dump", work / "many.onnx", "T", "-o", work / "many.npy"], 0, "22000 dims dumped to .npy", report)
        if (work / "many.npy").exists():
            head = (work / "many.npy").read_bytes()[:8]
            report.check("the .npy is format 2.0", None if head[6] == 2 else f"version {head[6]}.{head[7]}")

        # Metadata arrays are held compactly: about one byte of memory per byte of file
        # (these took ~80 bytes per byte, over 4 GB for the 60 MB array).
        make("bytes.gguf", work)
        x.run(["inspect", work / "bytes.gguf"], 0, "60 MB ARRAY[UINT8] under 4 GB", report, budget=(work / "bytes.gguf", 10))
        # Printed whole by --json, as gguf-py's dump --json-array does (was 1.8 GB: 24 bytes per item).
        x.run(["inspect", "--json", work / "bytes.gguf"], 0, "60 MB ARRAY[UINT8] printed by inspect --json", report,
              budget=(work / "bytes.gguf", 10))
        make("strings.gguf", work)
        x.run(["inspect", work / "strings.gguf"], 0, "10^7 empty strings under 4 GB", report, budget=(work / "strings.gguf", 10))

        # Memory in proportion to the decompressed size, which --max-decompressed bounds.
        make("strings.gguf.zst", work)
        x.run(["inspect", work / "strings.gguf.zst"], 0, "10^8 empty strings in a 24 KB .gguf.zst", report)
        (work / "strings.gguf.zst").unlink()

        # Repeated protobuf messages and JSON configs are bounded before they are decoded.
        make("empty-nodes.onnx", work)
        x.run(["inspect", work / "empty-nodes.onnx"], 1, "10^7 empty ONNX nodes", report, ("empty-nodes.onnx", "messages"),
              budget=(work / "empty-nodes.onnx", 10))
        # 4.9 GB once decoded and imported: under the 4 GB limit the budget refuses it before
        # swift-protobuf starts (it ended in SIGSEGV).
        make("if-tree.onnx", work)
        x.run(["inspect", work / "if-tree.onnx"], 1, "an If-tree of 2^21 subgraphs", report, ("if-tree.onnx", "--max-memory"),
              budget=(work / "if-tree.onnx", 10))
        (work / "if-tree.onnx").unlink()
        make("config/config.json", work)
        x.run(["inspect", work / "config"], 1, "a 100 MB config.json of one array", report, ("config.json",),
              budget=(work / "config" / "config.json", 10))

        # A header is read without building a JSON tree: these took 22 s and 2.4 GB as a json-c tree.
        make("tensors.safetensors", work)
        x.run(["inspect", work / "tensors.safetensors"], 0, "a 97 MB header of 1.65e6 tensors", report,
              budget=(work / "tensors.safetensors", 10))
        make("metadata.safetensors", work)
        x.run(["inspect", work / "metadata.safetensors"], 0, "a 91 MB header of 7e6 metadata keys", report,
              budget=(work / "metadata.safetensors", 10))
        # Naming tensors its shard lacks: refused at the first.
        make("index/model.safetensors.index.json", work)
        x.run(["inspect", work / "index"], 1, "a 46 MB index of 1.5e6 tensors", report, ("index.json", "not found"),
              budget=(work / "index" / "model.safetensors.index.json", 10))

        write_gguf_with_escape(work / "escape.gguf")
        x.run(["inspect", work / "escape.gguf"], 0, "ESC in a tensor name is escaped in inspect", report)
        x.run(["dump", work / "escape.gguf", "missing\x1b[2J", "-o", work / "e.npy"], 1,
              "ESC in an error line is escaped", report, ("\\u{1B}",))
    print(report.summary())
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
