#!/usr/bin/env python3
"""Writes fixtures/llm/gemma2 and fixtures/llm/gemma3: tiny random Gemma2ForCausalLM and
Gemma3ForCausalLM (gemma3_text) checkpoints, llama.cpp's GGUF of each, transformers' float64
logits (eager attention) and the simulated references of the three conversion modes.

    .venv-gen/bin/python tools/gen_gemma_fixtures.py [--only gemma2|gemma3] [--no-gguf]

It uses tools/gen_llm_fixtures.py's tokenizer, random weights, converter wrapper and simulated
Linear (see fixtures/llm/README.md); what differs is Gemma's: 13 tokens, longer than the
sliding window of 4, and the GGUF's own reference where llama.cpp reads the GGUF as another
model (see `gguf_reference`). Every reference is computed by transformers on the files as
written, never by XNORKit.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
try:
    import onnx  # noqa: F401  (xnor_sim imports it; the generator venv may not hold it)
except ImportError:
    # The test venv (.venv) holds onnx; appended, so the generator venv's own packages come first.
    sys.path += [str(p) for p in (Path(__file__).resolve().parent.parent / ".venv" / "lib").glob("python3*/site-packages")]
import gen_llm_fixtures as llm  # noqa: E402  (sets torch's determinism and threads on import)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import transformers  # noqa: E402

TOKENS = np.array([1, 17, 42, 99, 5, 127, 64, 3, 88, 23, 71, 110, 9], dtype=np.int64)
WINDOW = 4

CASES = {
    # Gemma 2: layer 0 slides, layer 1 is global; query_pre_attn_scalar 24 ≠ head_dim 16; the
    # attention soft-cap small enough to bend this model's scores, the logits' the real default.
    "gemma2": dict(cls="Gemma2ForCausalLM", cfg="Gemma2Config", seed=201, kwargs=dict(
        vocab_size=llm.VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        head_dim=16, intermediate_size=128, max_position_embeddings=llm.MAX_POS, rms_norm_eps=1e-6,
        query_pre_attn_scalar=24, attn_logit_softcapping=5.0, final_logit_softcapping=30.0, sliding_window=WINDOW,
        hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=0)),
    # Gemma 3: six layers so that the default pattern (5 sliding, 1 global) holds a global layer;
    # local rope base 10000, global 1e6 with linear scaling 2 (as the 4B+ models scale theirs);
    # query_pre_attn_scalar = head_dim, as in every Gemma 3 but the 27B.
    "gemma3": dict(cls="Gemma3ForCausalLM", cfg="Gemma3TextConfig", seed=202, kwargs=dict(
        vocab_size=llm.VOCAB, hidden_size=32, num_hidden_layers=6, num_attention_heads=2, num_key_value_heads=1,
        head_dim=16, intermediate_size=64, max_position_embeddings=llm.MAX_POS, rms_norm_eps=1e-6,
        query_pre_attn_scalar=16, sliding_window=WINDOW, hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
        rope_parameters={"full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1_000_000.0},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0}},
        bos_token_id=1, eos_token_id=2, pad_token_id=0)),
}


def converted_linears(model: nn.Module, layers: int) -> list[tuple[str, nn.Linear]]:
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear) and n.startswith("model.layers.")]
    assert len(found) == 7 * layers, [n for n, _ in found]
    return found


def forward(model) -> np.ndarray:
    with torch.no_grad():
        return model(input_ids=torch.from_numpy(TOKENS)[None], use_cache=False).logits[0].to(torch.float64).numpy().copy()


def simulate(folder: Path, case: dict, mode: str, model=None) -> np.ndarray:
    model = model or llm.load_float64(folder, case["cls"])
    for name, lin in converted_linears(model, case["kwargs"]["num_hidden_layers"]):
        model.set_submodule(name, llm.SimLinear(lin, mode))
    return forward(model)


# llama.cpp's gemma2/gemma3 tensor names (gguf-py MODEL_ARCH.GEMMA2/GEMMA3) → transformers'.
GGUF_TO_HF_LAYER = {
    "attn_norm.weight": "input_layernorm.weight", "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight", "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight", "attn_q_norm.weight": "self_attn.q_norm.weight",
    "attn_k_norm.weight": "self_attn.k_norm.weight", "post_attention_norm.weight": "post_attention_layernorm.weight",
    "ffn_norm.weight": "pre_feedforward_layernorm.weight", "post_ffw_norm.weight": "post_feedforward_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight", "ffn_down.weight": "mlp.down_proj.weight",
}


def gguf_model(folder: Path, fname: str, case: dict):
    """float64 logits of the model llama.cpp reads from the GGUF: the folder's transformers model
    in float64 with gguf-py's dequantization of every GGUF tensor put in (norm weights minus the
    1 the converter adds: Gemma's RMSNorm scales by 1 + w), and query_pre_attn_scalar replaced by
    what llama.cpp's f_attention_scale implies (src/models/gemma2.cpp, gemma3.cpp: head_dim, or
    hidden/heads for the 27B layer counts 46 / 62; the GGUF has no key for it). Also returns how
    far each GGUF tensor is from the folder's value. Returns that model and what differs."""
    import gguf
    config = transformers.AutoConfig.from_pretrained(folder)
    largest = 46 if config.model_type == "gemma2" else 62
    config.query_pre_attn_scalar = (config.hidden_size // config.num_attention_heads
                                    if config.num_hidden_layers == largest else config.head_dim)
    model = getattr(transformers, case["cls"]).from_pretrained(folder, config=config, dtype=torch.float64,
                                                               attn_implementation="eager").eval()
    state = model.state_dict()
    folder_state = {k: v.clone() for k, v in state.items()}
    replaced, diffs = set(), {}
    for t in gguf.GGUFReader(str(folder / fname)).tensors:
        shape = [int(x) for x in reversed(t.shape)]
        values = np.asarray(gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape), dtype=np.float64)
        if t.name == "token_embd.weight":
            name = "model.embed_tokens.weight"
        elif t.name == "output_norm.weight":
            name = "model.norm.weight"
        else:
            _, layer, rest = t.name.split(".", 2)
            name = f"model.layers.{layer}.{GGUF_TO_HF_LAYER[rest]}"
        if name.endswith("norm.weight"):
            values = values - 1.0
        assert tuple(state[name].shape) == tuple(shape), (t.name, shape)
        state[name] = torch.tensor(values)
        diffs[t.name] = float(np.max(np.abs(values - folder_state[name].numpy())))
        replaced.add(name)
    if "lm_head.weight" in state and "lm_head.weight" not in replaced:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
        replaced.add("lm_head.weight")
    assert replaced == set(state), sorted(set(state) ^ replaced)
    model.load_state_dict(state)
    return model, {"query_pre_attn_scalar": config.query_pre_attn_scalar, "max_abs_weight_diff": diffs}


def write_case(name: str, case: dict, sp_blob: bytes, llama: Path | None, log: list) -> None:
    folder = llm.OUT / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    layers = case["kwargs"]["num_hidden_layers"]
    cfg = getattr(transformers, case["cfg"])(**case["kwargs"])
    cfg.dtype = torch.bfloat16
    torch.manual_seed(case["seed"])
    model = getattr(transformers, case["cls"])(cfg).to(torch.float32).eval()
    # gen_llm_fixtures' random weights: norms 1 + 0.1·N (so Gemma's 1 + w is about 2), Linear
    # N(0, 1/K), embeddings N(0, 1). Its converted-Linear count check is for its own 2 layers.
    llm.converted_linears, saved = (lambda m, encoder: converted_linears(m, layers)), llm.converted_linears
    try:
        llm.randomize(model, case["seed"], False, False)
    finally:
        llm.converted_linears = saved
    model.to(torch.bfloat16).save_pretrained(folder, safe_serialization=True)
    llm.write_sentencepiece(folder, sp_blob)
    llm.save_npy(folder / "tokens.npy", TOKENS)
    config = json.loads((folder / "config.json").read_text())
    meta = {"case": name, "architecture": case["cls"], "model_type": config["model_type"], "tokens": TOKENS.tolist(),
            "sliding_window": WINDOW, "layer_types": config["layer_types"], "files": {}, "notes": [],
            "safetensors": llm.st_summary(folder / "model.safetensors")}
    meta["files"]["tokens.npy"] = f"int64 [{len(TOKENS)}] token ids, longer than the sliding window ({WINDOW})"

    ref_float = forward(llm.load_float64(folder, case["cls"]))
    llm.save_npy(folder / "ref_float.npy", ref_float)
    meta["files"]["ref_float.npy"] = f"float64 logits: transformers {case['cls']} in float64 (eager attention, eval, no cache)"
    for key in ("attn_logit_softcapping", "final_logit_softcapping"):
        if config.get(key):
            uncapped = llm.load_float64(folder, case["cls"])
            setattr(uncapped.config, key, None)   # read by the LM head at each call
            for module in uncapped.modules():     # copied by each attention module when built
                if hasattr(module, key):
                    setattr(module, key, None)
            d = float(np.max(np.abs(forward(uncapped) - ref_float)))
            meta.setdefault("softcapping_effect", {})[key] = d
            log.append(f"{name}: without {key} ({config[key]}) the logits move by up to {d:.3g} (max |logit| "
                       f"{float(np.max(np.abs(ref_float))):.3g})")

    unwindowed = llm.load_float64(folder, case["cls"])
    unwindowed.config.sliding_window = len(TOKENS) + 1   # read by the masks at each call
    for module in unwindowed.modules():
        if getattr(module, "sliding_window", None):
            module.sliding_window = len(TOKENS) + 1
    d = float(np.max(np.abs(forward(unwindowed) - ref_float)))
    assert d > 1e-3, d
    meta["sliding_window_effect"] = d
    log.append(f"{name}: with a window longer than the sequence the logits move by up to {d:.3g}")
    err = float(np.max(np.abs(simulate(folder, case, "float") - ref_float)))
    assert err <= 1e-12, err
    for mode in llm.SIM_MODES:
        y = simulate(folder, case, mode)
        llm.save_npy(folder / f"sim_{mode}.npy", y)
        cos = llm.cosine_rows(y, ref_float)
        meta["files"][f"sim_{mode}.npy"] = f"float64 logits: simulated reference of the {mode} conversion"
        log.append(f"{name}: sim_{mode} vs ref_float cosine min {cos.min():.4f} mean {cos.mean():.4f}")

    if llama is not None:
        ok, msg = llm.convert_gguf(llama, folder, folder / "model.gguf", "bf16")
        assert ok, msg
        meta["gguf"] = {"model.gguf": {"outtype": "bf16", "arch": llm.gguf_arch(folder / "model.gguf"),
                                       "tensors": llm.gguf_summary(folder / "model.gguf")}}
        meta["files"]["model.gguf"] = "llama.cpp convert_hf_to_gguf.py --outtype bf16 (norm weights + 1, F32)"
        gmodel, info = gguf_model(folder, "model.gguf", case)
        ref_gguf = forward(gmodel)
        worst = max(info["max_abs_weight_diff"].values())
        assert worst == 0.0, info   # bf16 weights, and w + 1 in float32 (1-D tensors stay F32): exact
        d = float(np.max(np.abs(ref_gguf - ref_float)))
        meta["gguf"]["model.gguf"]["weights_minus_norm_offset_vs_folder_max_abs"] = worst
        log.append(f"{name}: GGUF weights (norms − 1) equal the folder's; the GGUF's model vs ref_float max abs {d:.3g}")
        if d > 0:
            llm.save_npy(folder / "ref_gguf.npy", ref_gguf)
            meta["files"]["ref_gguf.npy"] = (
                "float64 logits of the model llama.cpp reads from model.gguf: transformers in float64 with gguf-py's "
                "dequantization of every tensor (norms − 1) and query_pre_attn_scalar = "
                f"{info['query_pre_attn_scalar']} (llama.cpp's f_attention_scale = 1/sqrt(head_dim): the GGUF has no "
                f"key for query_pre_attn_scalar {config['query_pre_attn_scalar']}); max abs diff to ref_float {d:.3g}")
            for mode in llm.SIM_MODES:
                y = simulate(folder, case, mode, model=gguf_model(folder, "model.gguf", case)[0])
                llm.save_npy(folder / f"sim_gguf_{mode}.npy", y)
                meta["files"][f"sim_gguf_{mode}.npy"] = (f"float64 logits: simulated reference of the {mode} conversion "
                                                         "of model.gguf (the model of ref_gguf.npy)")
                log.append(f"{name}: sim_gguf_{mode} vs ref_gguf cosine min {llm.cosine_rows(y, ref_gguf).min():.4f}")
        else:
            meta["notes"].append("model.gguf's model (llama.cpp's reading) equals the folder's exactly: ref_float is its reference")
    meta["tolerances"] = {"ref_float": {"metric": "max|ours - ref| / max|ref|", "max": llm.TOL["float_rel"]},
                          "ref_gguf": {"metric": "max|ours(from model.gguf) - ref_gguf| / max|ref_gguf|", "max": llm.TOL["float_rel"]},
                          "sim_<mode>": {"metric": "cosine per position", "min": llm.TOL["sim_cosine"]}}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=None, choices=list(CASES))
    ap.add_argument("--no-gguf", action="store_true")
    args = ap.parse_args(argv)
    sp_blob = llm.sentencepiece_model()
    llama = None if args.no_gguf else llm.llama_cpp_dir()
    for name in args.only or list(CASES):
        log: list[str] = []
        print(f"== {name}", flush=True)
        write_case(name, CASES[name], sp_blob, llama, log)
        for line in log:
            print("  " + line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
