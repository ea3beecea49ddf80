#!/usr/bin/env python3
"""Write ONNX fixtures exported by torch.onnx from tiny random transformers models.

    /path/to/venv-with-torch/bin/python tools/gen_onnx_exports.py [--out fixtures/onnx/models]
    /path/to/venv-with-torch/bin/python tools/gen_onnx_exports.py --sweep .build/debug/xnor

The hand-built graphs of gen_onnx_models.py show the ops we thought of; these show the ops
torch.onnx really emits for the model families users export (issue 6): BertModel,
GPT2LMHeadModel and LlamaForCausalLM (use_cache=False), each exported by the TorchScript
exporter (dynamo=False) at opsets 17 and 20 and by the dynamo exporter at its default opset
(20), plus a few variants that bring other ops (see CASES). Attention is transformers'
default (sdpa), as users get it.

Each case is a folder fixtures/onnx/models/torch_<family>_<exporter>/ in the layout of
gen_onnx_models.py: model.onnx, input_<name>.npy (int64 ids and masks; batch 2, seq 8, the
last row right-padded), ort_output.npy (onnxruntime, graph optimizations off) and
sim_<mode>.npy (tools/xnor_sim.py); alt_input_<name>.npy and alt_ort_output.npy hold a
second batch and length (1, 5), since batch and sequence axes are symbolic. Only those
folders are replaced; torch_exports.md there lists them.

Needs torch, transformers, onnx, onnxscript and onnxruntime; weights and inputs come from
fixed seeds, and torch runs on one thread so that reruns give the same weights.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import transformers

import xnor_sim
from xnortools import onnxrt
from xnortools.compare import relative_error
from xnortools.paths import ROOT

OUT = ROOT / "fixtures" / "onnx" / "models"
BATCH, SEQ, VOCAB = 2, 8, 64


class Wrapped(torch.nn.Module):
    """The model with one output tensor; named parameters, so that the dynamo exporter's
    dynamic_shapes and input names refer to them."""

    def __init__(self, model, output: str):
        super().__init__()
        self.model = model
        self.output = output

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if isinstance(self.model, transformers.BertModel):
            kwargs["token_type_ids"] = token_type_ids
        else:
            kwargs["use_cache"] = False
        return getattr(self.model(**kwargs), self.output)


def bert():
    config = transformers.BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=48, max_position_embeddings=16, type_vocab_size=2)
    return transformers.BertModel(config, add_pooling_layer=False), ["input_ids", "attention_mask", "token_type_ids"], \
        "last_hidden_state"


def gpt2():
    config = transformers.GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=2, n_positions=16, n_inner=48,
                                     use_cache=False)
    return transformers.GPT2LMHeadModel(config), ["input_ids", "attention_mask"], "logits"


def llama():
    # Grouped-query attention (4 query heads, 2 key/value heads), untied output projection.
    config = transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=16,
                                      tie_word_embeddings=False, use_cache=False)
    return transformers.LlamaForCausalLM(config), ["input_ids", "attention_mask"], "logits"


FAMILIES = {"bert": bert, "gpt2": gpt2, "llama": llama}
# (family, folder suffix, dynamo, opset, inputs): None opset is the dynamo exporter's default
# (20); "all" passes the attention mask (and BERT's token types), "ids" input_ids alone, which
# sends transformers down other mask-building paths (GatherElements for BERT's buffered token
# types, CumSum/Not/Sub for the packed-sequence check). The TorchScript exporter cannot export
# GPT-2 or Llama without a mask (aten::diff). To stay small, a variant whose graph has the same
# ops as another is left out: GPT-2 at opset 20 differs from opset 17 only in the version
# number, and the dynamo exporter at opset 18 only in Gelu → Erf, which BERT at 17 covers.
CASES = [
    ("bert", "ts_opset17", False, 17, "all"),
    ("bert", "ts_opset20", False, 20, "all"),
    ("bert", "dynamo", True, None, "all"),
    ("bert", "ts_opset17_ids", False, 17, "ids"),
    ("gpt2", "ts_opset17", False, 17, "all"),
    ("gpt2", "dynamo", True, None, "all"),
    ("gpt2", "dynamo_ids", True, None, "ids"),
    ("llama", "ts_opset17", False, 17, "all"),
    ("llama", "ts_opset20", False, 20, "all"),
    ("llama", "dynamo", True, None, "all"),
]


def make_inputs(names: list[str], batch: int = BATCH, seq: int = SEQ, seed: int = 20250601) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, VOCAB, (batch, seq), dtype=np.int64)
    mask = np.ones((batch, seq), dtype=np.int64)
    mask[-1, seq - min(3, seq // 2):] = 0   # right padding: every query row still sees at least one key
    types = np.zeros((batch, seq), dtype=np.int64)
    types[:, seq // 2:] = 1
    values = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {name: values[name] for name in names}


def export(module, names, output, inputs, path: Path, dynamo: bool, opset: int | None):
    args = tuple(torch.from_numpy(inputs[n]) for n in names)
    if dynamo:
        batch, seq = torch.export.Dim("batch", min=1, max=64), torch.export.Dim("seq", min=2, max=16)
        shapes = {n: {0: batch, 1: seq} for n in names}
        kwargs = {} if opset is None else {"opset_version": opset}
        program = torch.onnx.export(module, args, dynamo=True, input_names=names, output_names=[output],
                                    dynamic_shapes=shapes, **kwargs)
        program.save(str(path))
    else:
        axes = {n: {0: "batch", 1: "seq"} for n in names}
        axes[output] = {0: "batch", 1: "seq"}
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=opset, input_names=names,
                          output_names=[output], dynamic_axes=axes, do_constant_folding=True)


def strip_provenance(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drops the exporters' doc strings and per-node metadata: stack traces with local paths
    that make up most of the file and change from machine to machine."""
    model.doc_string = ""
    del model.metadata_props[:]
    graph = model.graph
    graph.doc_string = ""
    del graph.metadata_props[:]
    for node in graph.node:
        node.doc_string = ""
        del node.metadata_props[:]
    for value in list(graph.input) + list(graph.output) + list(graph.value_info) + list(graph.initializer):
        value.doc_string = ""
        del value.metadata_props[:]
    return model


def run_ort(model_path: Path, inputs: dict[str, np.ndarray], output: str) -> np.ndarray:
    return onnxrt.run(model_path, inputs, [output])[output]


def write_case(name: str, family: str, dynamo: bool, opset: int | None, which: str, out: Path) -> tuple[int, str]:
    folder = out / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    torch.manual_seed(0)
    model, names, output = FAMILIES[family]()
    with torch.no_grad():
        # Fresh models have all-zero biases and all-one norm weights; the TorchScript exporter
        # then keeps one copy and feeds the others through Identity nodes, which no trained
        # model would show. Small noise keeps every parameter its own initializer.
        for parameter in model.parameters():
            if parameter.ndim == 1:
                parameter.add_(torch.randn_like(parameter) * 0.02)
    if which == "ids":
        names = names[:1]
    module = Wrapped(model, output).eval()
    inputs = make_inputs(names)
    model_path = folder / "model.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        export(module, names, output, inputs, model_path, dynamo, opset)
    model = strip_provenance(onnx.load(str(model_path)))
    # One file per model: the dynamo exporter may write weights beside it.
    onnx.save_model(model, str(model_path))
    for extra in folder.iterdir():
        if extra.name != "model.onnx":
            extra.unlink()
    model = onnx.load(str(model_path))
    onnx.checker.check_model(model, full_check=True)
    for n, value in inputs.items():
        np.save(folder / f"input_{n}.npy", value, allow_pickle=False)

    # A second batch and sequence length, for the tests of the symbolic axes.
    alt = make_inputs(names, batch=1, seq=5, seed=20250602)
    for inp, prefix in ((inputs, ""), (alt, "alt_")):
        result = run_ort(model_path, inp, output)
        with torch.no_grad():
            expected = module(*(torch.from_numpy(inp[n]) for n in names)).numpy()
        err = relative_error(result, expected)
        if not err <= 1e-4:
            raise SystemExit(f"{name}: onnxruntime differs from torch by {err:.2e} on {prefix or 'the'} inputs: the export is wrong")
        if prefix:
            for n, value in inp.items():
                np.save(folder / f"{prefix}input_{n}.npy", value, allow_pickle=False)
        np.save(folder / f"{prefix}ort_output.npy", result, allow_pickle=False)
    result = np.load(folder / "ort_output.npy")
    feed = inputs

    floats = xnor_sim.simulate(model_path, feed, "float", model=model)[output]
    err = relative_error(floats, result)
    if not err <= 1e-5:
        raise SystemExit(f"{name}: xnor_sim float differs from onnxruntime by {err:.2e} (relative)")
    for mode in xnor_sim.CONVERTED_MODES:
        value = xnor_sim.simulate(model_path, feed, mode, model=model)[output]
        if not np.all(np.isfinite(value)):
            raise SystemExit(f"{name}: the {mode} simulation is not finite")
        np.save(folder / f"sim_{mode}.npy", value, allow_pickle=False)
    opset_used = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    ops = sorted({n.op_type for n in model.graph.node})
    size = sum(p.stat().st_size for p in folder.iterdir())
    note = f"opset {opset_used}, {len(model.graph.node)} nodes; ops: {', '.join(ops)}"
    return size, note


def sweep(xnor: str) -> int:
    """Exports every variant, fixtures or not (both attention implementations, with and
    without a mask, TorchScript at opsets 17-20, dynamo at 18 and 20) to a temporary folder
    and checks `xnor run` against onnxruntime at 1e-5 relative. Writes no fixture."""
    import subprocess
    import tempfile
    failures = 0
    exporters = [(f"ts_opset{v}", False, v) for v in (17, 18, 19, 20)] + [("dynamo_opset18", True, 18), ("dynamo", True, None)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for family in FAMILIES:
            for attention in ("sdpa", "eager"):
                for which in ("all", "ids"):
                    for suffix, dynamo, opset in exporters:
                        name = f"{family}_{attention}_{which}_{suffix}"
                        torch.manual_seed(0)
                        model, names, output = FAMILIES[family]()
                        model.set_attn_implementation(attention)
                        names = names[:1] if which == "ids" else names
                        module = Wrapped(model, output).eval()
                        inputs = make_inputs(names)
                        path = tmp / f"{name}.onnx"
                        try:
                            with warnings.catch_warnings(), torch.no_grad():
                                warnings.simplefilter("ignore")
                                export(module, names, output, inputs, path, dynamo, opset)
                        except Exception as error:  # noqa: BLE001 - the exporter's own limits
                            print(f"SKIP {name}: torch cannot export it: {str(error).splitlines()[0][:120]}")
                            continue
                        ops = sorted({n.op_type for n in onnx.load(str(path)).graph.node})
                        for inp, label in ((inputs, "2x8"), (make_inputs(names, 1, 5, 20250602), "1x5")):
                            expected = run_ort(path, inp, output)
                            args = []
                            for n, value in inp.items():
                                np.save(tmp / f"{n}.npy", value)
                                args += ["--input", f"{n}={tmp / f'{n}.npy'}"]
                            result = subprocess.run([xnor, "run", str(path), *args, "-o", str(tmp / "out.npy"), "--force"],
                                                    capture_output=True, text=True)
                            if result.returncode != 0:
                                failures += 1
                                print(f"FAIL {name} {label}: {result.stderr.strip()}")
                                continue
                            err = relative_error(np.load(tmp / "out.npy"), expected)
                            ok = err <= 1e-5
                            failures += not ok
                            print(f"{'PASS' if ok else 'FAIL'} {name} {label}: rel err {err:.1e}; {len(ops)} op types")
    print(f"{failures} failures")
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--sweep", metavar="XNOR", help="check every export variant with this xnor binary; write nothing")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.sweep:
        sys.exit(sweep(str(Path(args.sweep).resolve())))
    rows, total = [], 0
    for family, suffix, dynamo, opset, which in CASES:
        name = f"torch_{family}_{suffix}"
        if args.k not in name:
            continue
        size, note = write_case(name, family, dynamo, opset, which, args.out)
        total += size
        rows.append(f"| `{name}` | {'TorchScript' if not dynamo else 'dynamo'} exporter, inputs: {which}; {note} |")
        print(f"{name:28s} {size:8d} bytes  {note}")
    if not args.k:
        # Folders of cases no longer in CASES would otherwise linger as fixtures.
        names = {f"torch_{family}_{suffix}" for family, suffix, *_ in CASES}
        for folder in args.out.glob("torch_*"):
            if folder.is_dir() and folder.name not in names:
                shutil.rmtree(folder)
        (args.out / "torch_exports.md").write_text(
            "# torch.onnx exports\n\nWritten by `tools/gen_onnx_exports.py` (torch " + torch.__version__
            + ", transformers " + transformers.__version__ + ", onnxruntime " + ort.__version__
            + "; do not edit by hand). Inputs: int64 `input_ids`, `attention_mask` (the last row right-padded)"
            " and, for BERT, `token_type_ids` (\"all\"), or `input_ids` alone (\"ids\"); batch 2, seq 8;"
            " symbolic `batch` and `seq`. `alt_input_*.npy` and `alt_ort_output.npy`: batch 1, seq 5.\n\n"
            "| case | what |\n|---|---|\n" + "\n".join(rows) + "\n")
    print(f"{len(rows)} cases, {total} bytes ({total / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
