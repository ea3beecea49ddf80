#!/usr/bin/env python3
"""Writes fixtures/llm/: tiny LLM and encoder checkpoints with transformers' float64 logits,
llama.cpp GGUF files of the same models (BitNet: written with gguf-py's GGUFWriter in llama.cpp's
BITNET layout, since llama.cpp's converter cannot convert them), and the simulated reference of
DESIGN.md's numerics.

    .venv-gen/bin/python tools/gen_llm_fixtures.py [--only CASE ...] [--no-gguf]

Needs the venv with torch, transformers, accelerate, safetensors, sentencepiece, tokenizers,
gguf and numpy, and llama.cpp's converter from `tools/llama-cpp` (the llama-cpp-python sdist,
unpacked under the git-ignored .llama/). Random weights come from torch with fixed seeds;
every output is deterministic. See fixtures/llm/README.md for what each file is.

Every reference is computed by transformers (CPU, eager attention, eval mode, no cache) on the
files as written to disk, never by XNORKit. The simulated references (`sim_<mode>.npy`) are the
float64 transformers model with the Linear modules inside the decoder/encoder layers replaced
by DESIGN.md's formulas, evaluated by tools/xnortools/numerics.py's functions (float32 scales and
rounding decisions, exact integer parts, bias added before the one float32 rounding).
"""
from __future__ import annotations

import os

os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")   # transformers' BitNet kernels are @torch.compile
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TQDM_DISABLE", "1")

import argparse
import codecs
import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

from xnortools import numerics  # noqa: E402
from xnortools.paths import ROOT  # noqa: E402

import transformers  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()

OUT = ROOT / "fixtures" / "llm"
VOCAB, HIDDEN, LAYERS, HEADS, KV_HEADS, FFN, MAX_POS = 128, 64, 2, 4, 2, 128, 128
TOKENS = np.array([1, 17, 42, 99, 5, 127, 64, 3, 88], dtype=np.int64)
SIM_MODES = ("w1a1", "w1a8", "w1.58a8")
TOL = {
    "float_rel": 1e-4,        # our float path vs ref_float / ref_gguf (relative to max |ref|)
    "bitnet_rel": 1e-3,       # w1.58a8 vs ref_bitnet (relative to max |ref|)
    "sim_cosine": 0.999,      # a converted model vs sim_<mode>, per position
}
BITNET_QC_OFFLINE = {"quant_method": "bitnet", "linear_class": "bitlinear", "quantization_mode": "offline"}


# --------------------------------------------------------------------------------------
# Tokenizers (tiny, deterministic; only there because convert_hf_to_gguf.py needs one)


def training_text() -> list[str]:
    """The Zen of Python (present in every CPython), one sentence a line."""
    import contextlib
    with contextlib.redirect_stdout(io.StringIO()):
        import this
    return [line for line in codecs.decode(this.s, "rot13").splitlines() if line.strip()]


def sentencepiece_model() -> bytes:
    import sentencepiece as spm
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training_text()), model_writer=buf, vocab_size=VOCAB, model_type="bpe",
        character_coverage=1.0, num_threads=1, normalization_rule_name="identity", bos_id=1, eos_id=2, unk_id=0, pad_id=-1,
        hard_vocab_limit=True, minloglevel=2, shuffle_input_sentence=False)
    return buf.getvalue()


def write_sentencepiece(folder: Path, blob: bytes) -> None:
    (folder / "tokenizer.model").write_bytes(blob)
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        "add_bos_token": True, "add_eos_token": False, "model_max_length": MAX_POS}, indent=2) + "\n")


def write_wordpiece(folder: Path) -> None:
    """A WordPiece vocabulary of exactly VOCAB entries: specials, characters, ## continuations."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, decoders
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-")
    cont = ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]
    words = ["the", "is", "better", "than", "to", "of", "be", "it", "should", "never", "one", "a", "and",
             "idea", "that", "explain", "special", "although", "obvious", "way", "do", "if", "complex",
             "beautiful", "simple", "flat", "sparse", "readability", "counts", "errors", "silently",
             "now", "implementation", "hard", "easy", "may", "good", "namespaces", "honking", "great",
             "let", "more", "those", "there", "only", "preferably", "dutch", "ugly", "nested", "explicit",
             "implicit", "complicated", "dense", "cases", "break", "rules", "practicality", "beats"]
    vocab_list = specials + chars + cont
    vocab_list += [w for w in words if w not in vocab_list][: VOCAB - len(vocab_list)]
    assert len(vocab_list) == VOCAB, len(vocab_list)
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab_list)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.decoder = decoders.WordPiece()
    tok.save(str(folder / "tokenizer.json"))
    (folder / "vocab.txt").write_text("\n".join(vocab_list) + "\n")
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "unk_token": "[UNK]", "sep_token": "[SEP]",
        "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]", "model_max_length": MAX_POS}, indent=2) + "\n")


# --------------------------------------------------------------------------------------
# Models


def common_decoder(**extra) -> dict:
    d = dict(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
             num_key_value_heads=KV_HEADS, intermediate_size=FFN, max_position_embeddings=MAX_POS,
             bos_token_id=1, eos_token_id=2)
    d.update(extra)
    return d


CASES = {
    "llama": dict(cls="LlamaForCausalLM", cfg="LlamaConfig", seed=101, kwargs=common_decoder(
        rope_theta=10000.0, tie_word_embeddings=False, rms_norm_eps=1e-6,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 32})),
    "llama_tied_linear": dict(cls="LlamaForCausalLM", cfg="LlamaConfig", seed=102, old_rope_form=True, kwargs=common_decoder(
        rope_theta=10000.0, tie_word_embeddings=True, rms_norm_eps=1e-5,
        rope_scaling={"rope_type": "linear", "factor": 2.0})),
    "mistral": dict(cls="MistralForCausalLM", cfg="MistralConfig", seed=103, kwargs=common_decoder(
        rope_theta=10000.0, sliding_window=None, tie_word_embeddings=False, rms_norm_eps=1e-5, head_dim=16)),
    "qwen2": dict(cls="Qwen2ForCausalLM", cfg="Qwen2Config", seed=104, kwargs=common_decoder(
        rope_theta=1000000.0, tie_word_embeddings=True, rms_norm_eps=1e-6, use_sliding_window=False)),
    "qwen3": dict(cls="Qwen3ForCausalLM", cfg="Qwen3Config", seed=105, kwargs=common_decoder(
        rope_theta=1000000.0, tie_word_embeddings=False, rms_norm_eps=1e-6, head_dim=32, attention_bias=False,
        use_sliding_window=False)),
    "bitnet": dict(cls="BitNetForCausalLM", cfg="BitNetConfig", seed=106, kwargs=common_decoder(
        rope_theta=500000.0, tie_word_embeddings=False, rms_norm_eps=1e-5, hidden_act="relu2")),
    # tied, as microsoft/bitnet-b1.58-2B-4T (and llama.cpp's BITNET architecture has no output tensor)
    "bitnet_packed": dict(cls="BitNetForCausalLM", cfg="BitNetConfig", seed=107, packed="bitlinear", kwargs=common_decoder(
        rope_theta=500000.0, tie_word_embeddings=True, rms_norm_eps=1e-5, hidden_act="relu2")),
    "bitnet_packed_autobitlinear": dict(cls="BitNetForCausalLM", cfg="BitNetConfig", seed=108, packed="autobitlinear",
                                        kwargs=common_decoder(rope_theta=500000.0, tie_word_embeddings=True,
                                                              rms_norm_eps=1e-5, hidden_act="relu2")),
    "bert": dict(cls="BertModel", cfg="BertConfig", seed=109, encoder=True, kwargs=dict(
        vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
        intermediate_size=FFN, max_position_embeddings=MAX_POS, type_vocab_size=2, hidden_act="gelu",
        layer_norm_eps=1e-12, pad_token_id=0, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)),
}


def make_config(case: dict):
    kwargs = dict(case["kwargs"])
    cfg_cls = getattr(transformers, case["cfg"])
    cfg = cfg_cls(**kwargs)
    cfg.dtype = torch.bfloat16
    return cfg


def converted_linears(model: nn.Module, encoder: bool) -> list[tuple[str, nn.Linear]]:
    """The Linear modules DESIGN.md / issue 6 converts: inside the decoder or encoder layers."""
    prefix = "encoder.layer." if encoder else "model.layers."
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear) and n.startswith(prefix)]
    expected = LAYERS * (6 if encoder else 7)
    assert len(found) == expected, (len(found), [n for n, _ in found])
    return found


def randomize(model: nn.Module, seed: int, encoder: bool, ternary: bool) -> dict[str, float]:
    """Random weights that make mistakes show: norms around 1, random biases, unit-scale
    embeddings, Linear weights ~ N(0, 1/K). Ternary: converted weights are codes × c per matrix."""
    g = torch.Generator().manual_seed(seed)
    linear_names = {n + ".weight" for n, _ in converted_linears(model, encoder)}
    scales = {}
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda t: t[0]):
            shape = p.shape
            if name.endswith("bias"):
                v = 0.1 * torch.randn(shape, generator=g, dtype=torch.float32)
            elif p.ndim == 1:          # RMSNorm / LayerNorm weights, q_norm/k_norm, sub-norms
                v = 1.0 + 0.1 * torch.randn(shape, generator=g, dtype=torch.float32)
            elif "embed" in name or "embeddings" in name:
                v = torch.randn(shape, generator=g, dtype=torch.float32)
            elif ternary and name in linear_names:
                codes = torch.randint(0, 3, shape, generator=g, dtype=torch.int64) - 1
                c = float(np.float32((0.5 + torch.rand((), generator=g).item()) / np.sqrt(shape[1])))
                v = codes.to(torch.float32) * c
                scales[name] = c
            else:
                v = torch.randn(shape, generator=g, dtype=torch.float32) / np.sqrt(shape[1])
            p.copy_(v)
    return scales


# --------------------------------------------------------------------------------------
# BitNet packed layout (microsoft/bitnet-b1.58-2B-4T, transformers' integrations/bitnet.py)


def pack_ternary(codes: np.ndarray) -> np.ndarray:
    """int [N, K] codes in {-1, 0, 1} → uint8 [N/4, K]: bits 2k..2k+1 of packed[r, c] hold
    codes[k·(N/4) + r, c] + 1."""
    n, k = codes.shape
    assert n % 4 == 0
    r = n // 4
    u = (codes + 1).astype(np.uint8)
    packed = np.zeros((r, k), dtype=np.uint8)
    for f in range(4):
        packed |= u[f * r:(f + 1) * r] << np.uint8(2 * f)
    return packed


def unpack_ternary(packed: np.ndarray) -> np.ndarray:
    r = packed.shape[0]
    return np.concatenate([((packed >> np.uint8(2 * f)) & 3).astype(np.int8) - 1 for f in range(4)], axis=0)


# --------------------------------------------------------------------------------------
# Running transformers


def load_float64(folder: Path, cls_name: str, dtype=torch.float64, **kw):
    cls = getattr(transformers, cls_name)
    model, info = cls.from_pretrained(folder, dtype=dtype, attn_implementation="eager",
                                      output_loading_info=True, **kw)
    bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    assert not bad, f"{folder}: {bad}"
    return model.eval()


def forward(model, encoder: bool) -> np.ndarray:
    ids = torch.from_numpy(TOKENS)[None]
    with torch.no_grad():
        if encoder:
            out = model(input_ids=ids, token_type_ids=torch.zeros_like(ids), attention_mask=torch.ones_like(ids))
            y = out.last_hidden_state[0]
        else:
            y = model(input_ids=ids, use_cache=False).logits[0]
    return y.to(torch.float64).numpy().copy()


class SimLinear(nn.Module):
    """DESIGN.md's converted product for one Linear, per token row (tools/xnortools/numerics.py)."""

    def __init__(self, linear: nn.Linear, mode: str):
        super().__init__()
        self.mode = mode
        self.weight64 = linear.weight.detach().clone()
        self.bias64 = None if linear.bias is None else linear.bias.detach().clone()
        if mode != "float":
            w32 = self.weight64.to(torch.float32).numpy()
            assert np.array_equal(w32.astype(np.float64), self.weight64.numpy()), "weights must be float32-exact"
            self.wmode, self.amode = numerics.split_mode(mode)
            self.qw = numerics.quantize_weights(w32, self.wmode)
            self.bias32 = None if self.bias64 is None else self.bias64.to(torch.float32).numpy()
            if self.bias32 is not None:
                assert np.array_equal(self.bias32.astype(np.float64), self.bias64.numpy())

    def forward(self, x):
        if self.mode == "float":
            return F.linear(x, self.weight64, self.bias64)
        shape = x.shape
        rows = x.detach().reshape(-1, shape[-1]).numpy()
        qa = numerics.quantize_activations(rows, self.amode)   # float32 decisions
        y = numerics.xnor_product(self.qw, qa, None, self.bias32)
        return torch.from_numpy(y.astype(np.float64)).reshape(*shape[:-1], -1)


def simulate(folder: Path, case: dict, mode: str) -> tuple[np.ndarray, dict]:
    model = load_float64(folder, case["cls"])
    info = {}
    for name, lin in converted_linears(model, case.get("encoder", False)):
        sim = SimLinear(lin, mode)
        if mode != "float" and sim.wmode == "w1.58":
            info[name] = {"gamma": float(sim.qw.scales[0]), "codes_as_given": bool(sim.qw.codes_as_given)}
        model.set_submodule(name, sim)
    return forward(model, case.get("encoder", False)), info



# llama.cpp's GGUF names of a llama-family layer → transformers' module names.
GGUF_TO_HF_LAYER = {
    "attn_norm.weight": "input_layernorm.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight", "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight", "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight", "ffn_down.weight": "mlp.down_proj.weight",
    # llama.cpp's BITNET sub-norms (src/models/bitnet.cpp) → transformers' BitNetForCausalLM names
    "attn_sub_norm.weight": "self_attn.attn_sub_norm.weight", "ffn_sub_norm.weight": "mlp.ffn_sub_norm.weight",
}
GGUF_TO_HF_FIXED = {"token_embd.weight": "model.embed_tokens.weight", "output.weight": "lm_head.weight",
                    "output_norm.weight": "model.norm.weight"}


def gguf_to_hf_name(gguf_name: str) -> str | None:
    """transformers' parameter name of a llama-family / BITNET GGUF tensor (None: rope_freqs)."""
    if gguf_name in GGUF_TO_HF_FIXED:
        return GGUF_TO_HF_FIXED[gguf_name]
    if gguf_name.startswith("blk."):
        _, layer, rest = gguf_name.split(".", 2)
        return f"model.layers.{layer}.{GGUF_TO_HF_LAYER[rest]}"
    return None


def ref_from_dequantized_gguf(folder: Path, fname: str, model_folder: Path | None = None,
                              attn_implementation: str | None = None) -> np.ndarray:
    """float64 logits of the folder's model with every weight replaced by gguf-py's dequantization of
    a GGUF of it. Architecture `llama`: attn_q/attn_k rows un-permuted as llama.cpp's converter
    permuted them; `bitnet`: no permutation (llama.cpp's BITNET converter does not permute, its rope
    is NEOX). `model_folder` holds the float model the weights go into (packed BitNet: the float
    folder W = codes × gamma, since the packed folder loads as BitLinear modules); default `folder`.
    A tied model without output.weight gets lm_head = the dequantized token_embd.
    `attn_implementation` None is transformers' default (sdpa), with which llama's Q8_0 reference was
    made; "eager" is what ref_float uses (sdpa differs from it by ~1e-7 relative even in float64).
    transformers' own GGUF loader is not used here: for Q8_0 its logits differ from this by 4e-3
    relative, while this independent path needs only gguf-py and the float64 model."""
    import gguf
    kw = {} if attn_implementation is None else {"attn_implementation": attn_implementation}
    model = transformers.AutoModelForCausalLM.from_pretrained(model_folder or folder, dtype=torch.float64, **kw).eval()
    config = model.config
    reader = gguf.GGUFReader(str(folder / fname))
    arch = gguf_arch(folder / fname)
    assert arch in ("llama", "bitnet"), arch
    state = model.state_dict()

    def unpermute(w, heads):
        return w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

    replaced = set()
    for t in reader.tensors:
        shape = [int(x) for x in reversed(t.shape)]
        values = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape)
        name = gguf_to_hf_name(t.name)
        if name is None:
            continue  # rope_freqs: the model computes its frequencies from config.json
        if arch == "llama" and t.name.endswith(".attn_q.weight"):
            values = unpermute(values, config.num_attention_heads)
        if arch == "llama" and t.name.endswith(".attn_k.weight"):
            values = unpermute(values, config.num_key_value_heads)
        assert tuple(state[name].shape) == tuple(shape), (t.name, shape, tuple(state[name].shape))
        state[name] = torch.tensor(np.asarray(values, dtype=np.float64))
        replaced.add(name)
    if "lm_head.weight" in state and "lm_head.weight" not in replaced and config.tie_word_embeddings:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
        replaced.add("lm_head.weight")
    assert replaced == set(state), sorted(set(state) ^ replaced)
    model.load_state_dict(state)
    with torch.no_grad():
        return model(torch.tensor(TOKENS)[None]).logits[0].numpy()



def online_autobitlinear_copy(folder: Path) -> Path:
    """A temporary copy of the folder whose config asks transformers for AutoBitLinear with
    online quantization (the caller removes it)."""
    qdir = Path(tempfile.mkdtemp(prefix="llmfix-online-"))
    for f in folder.iterdir():
        shutil.copy(f, qdir / f.name)
    qc = json.loads((qdir / "config.json").read_text())
    qc["quantization_config"] = {"quant_method": "bitnet", "linear_class": "autobitlinear",
                                 "quantization_mode": "online"}
    (qdir / "config.json").write_text(json.dumps(qc, indent=2))
    return qdir

def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# --------------------------------------------------------------------------------------
# llama.cpp


CONVERT_WRAPPER = r"""
import sys
sys.argv = ["convert_hf_to_gguf.py"] + sys.argv[1:]
import runpy, logging
import conversion.base as base
orig = base.TextModel.get_vocab_base_pre
def get_vocab_base_pre(self, tokenizer):
    try:
        return orig(self, tokenizer)
    except NotImplementedError:
        # Our tiny tokenizers are not in llama.cpp's table of pre-tokenizer hashes; the
        # tokenizer only matters for text, never for the weights or the logits.
        logging.getLogger("gen_llm_fixtures").warning("unknown pre-tokenizer hash: writing 'default'")
        return "default"
base.TextModel.get_vocab_base_pre = get_vocab_base_pre
runpy.run_path(sys.argv[0] if False else __import__("os").environ["CONVERT_HF_TO_GGUF"], run_name="__main__")
"""


def llama_cpp_dir() -> Path:
    out = subprocess.run([str(ROOT / "tools" / "llama-cpp")], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def convert_gguf(llama: Path, folder: Path, out: Path, outtype: str, no_lazy: bool = False) -> tuple[bool, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(llama / "gguf-py"), str(llama)])
    env["CONVERT_HF_TO_GGUF"] = str(llama / "convert_hf_to_gguf.py")
    env["NO_LOCAL_GGUF"] = "1"   # gguf-py is already first on PYTHONPATH
    tmp = out.with_suffix(".tmp")
    r = subprocess.run([sys.executable, "-c", CONVERT_WRAPPER, str(folder), "--outfile", str(tmp), "--outtype", outtype]
                       + (["--no-lazy"] if no_lazy else []),
                       env=env, capture_output=True, text=True, cwd=str(llama))
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        tail = "\n".join((r.stderr or r.stdout).strip().splitlines()[-3:])
        return False, tail
    tmp.replace(out)
    return True, ""


def llama_quantize(llama_build: Path, src: Path, out: Path, qtype: str) -> tuple[bool, str]:
    exe = llama_build / "bin" / "llama-quantize"
    if not exe.exists():
        return False, f"{exe} not built"
    r = subprocess.run([str(exe), str(src), str(out), qtype, "1"], capture_output=True, text=True)
    return r.returncode == 0, (r.stderr or "")[-300:]


def gguf_summary(path: Path) -> list[list]:
    import gguf  # the venv's gguf-py (the oracle)
    reader = gguf.GGUFReader(str(path))
    return [[t.name, t.tensor_type.name, [int(x) for x in t.shape]] for t in reader.tensors]


def gguf_arch(path: Path) -> str:
    import gguf
    reader = gguf.GGUFReader(str(path))
    f = reader.fields["general.architecture"]
    return bytes(f.parts[f.data[0]]).decode()


def ref_from_gguf(folder: Path, gguf_name: str, encoder: bool, own_config: bool) -> np.ndarray:
    """transformers' GGUF loader (dequantizes, undoes llama.cpp's q/k permutation). With
    own_config, the model is built from the folder's config.json instead of the config that
    transformers derives from the GGUF keys (that mapping drops rope scaling / rope_freqs)."""
    kw = {"config": transformers.AutoConfig.from_pretrained(folder)} if own_config else {}
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_name, attn_implementation="eager", **kw)
    model = model.to(torch.float64).eval()
    return forward(model, encoder)


# --------------------------------------------------------------------------------------
# BitNet GGUF in llama.cpp's BITNET layout, written with gguf-py's GGUFWriter


# llama.cpp's BITNET projections (the ones its converter re-quantizes to ternary)
BITNET_PROJECTIONS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


def bitnet_effective_weights(folder: Path, packed: str | None) -> dict[str, np.ndarray]:
    """float32 weights the folder means, by transformers' parameter name, read independently of the
    float folder: bf16 → float32; packed bitlinear projections unpacked with transformers' own
    unpack_weights and multiplied by gamma = float32(1) / float32(weight_scale) (autobitlinear: gamma
    = float32(weight_scale)). Tied: lm_head = embed_tokens."""
    from safetensors.torch import load_file
    from transformers.integrations.bitnet import unpack_weights
    sd = load_file(str(folder / "model.safetensors"))
    out = {}
    for k, v in sd.items():
        if k.endswith(".weight_scale"):
            continue
        if v.dtype == torch.uint8:
            assert packed, k
            ws = sd[k.removesuffix(".weight") + ".weight_scale"].to(torch.float32).numpy()[0]
            gamma = np.float32(1.0) / ws if packed == "bitlinear" else ws
            codes = unpack_weights(v, torch.float32).numpy()
            out[k] = codes * np.float32(gamma)
        else:
            out[k] = v.to(torch.float32).numpy()
    if "lm_head.weight" not in out:
        out["lm_head.weight"] = out["model.embed_tokens.weight"]
    return out


def write_bitnet_gguf(path: Path, case_name: str, config: dict, weights: dict[str, np.ndarray],
                      qtype=None) -> None:
    """A GGUF of transformers' BitNetForCausalLM in llama.cpp's BITNET layout (gguf-py MODEL_ARCH.BITNET,
    src/models/bitnet.cpp): general.architecture "bitnet", token_embd / blk.N.{attn_norm, attn_q, attn_k,
    attn_v, attn_output, attn_sub_norm, ffn_norm, ffn_gate, ffn_up, ffn_down, ffn_sub_norm} / output_norm,
    plus output.weight when the model is untied (llama.cpp's BITNET has no output tensor: its graph
    multiplies by token_embd, and its loader would reject the extra tensor). No q/k permutation: the
    BITNET converter (conversion/bitnet.py, TextModel.modify_tensors) does not permute, and llama.cpp
    runs BITNET with NEOX rope, which is transformers' rotate_half. The keys are those the converter
    writes (TextModel.set_gguf_parameters + BitnetModel: rope scaling linear, factor 1), plus
    rope.dimension_count and vocab_size, without the tokenizer. `weights`: float32 arrays by
    transformers' name. Every tensor is F32, except with `qtype` the seven projections, quantized by
    gguf-py's gguf.quants.quantize (every projection's row must be a multiple of the block size)."""
    import gguf
    hf = {gguf_to_hf_name(n): n for n in
          ["token_embd.weight", "output_norm.weight", "output.weight"]
          + [f"blk.{i}.{r}" for i in range(config["num_hidden_layers"]) for r in GGUF_TO_HF_LAYER]}
    tied = bool(config.get("tie_word_embeddings"))
    names = {k: hf[k] for k in weights if not (tied and k == "lm_head.weight")}
    assert set(weights) - set(names) <= {"lm_head.weight"}, sorted(set(weights) - set(names))
    assert len(names) == 2 + (0 if tied else 1) + 11 * config["num_hidden_layers"], len(names)
    heads = config["num_attention_heads"]
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    rope = config.get("rope_parameters") or {}
    assert rope.get("rope_type", "default") == "default", rope

    w = gguf.GGUFWriter(str(path), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BITNET])
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name(case_name.title())
    w.add_context_length(config["max_position_embeddings"])
    w.add_embedding_length(config["hidden_size"])
    w.add_block_count(config["num_hidden_layers"])
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_head_count(heads)
    w.add_head_count_kv(config["num_key_value_heads"])
    w.add_rope_freq_base(float(rope.get("rope_theta", config.get("rope_theta"))))
    w.add_layer_norm_rms_eps(config["rms_norm_eps"])
    w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)     # BitnetModel.set_gguf_parameters
    w.add_rope_scaling_factor(1.0)
    w.add_rope_dimension_count(head_dim)
    w.add_vocab_size(config["vocab_size"])
    w.add_file_type({None: gguf.LlamaFileType.ALL_F32, gguf.GGMLQuantizationType.TQ2_0: gguf.LlamaFileType.MOSTLY_TQ2_0,
                     gguf.GGMLQuantizationType.TQ1_0: gguf.LlamaFileType.MOSTLY_TQ1_0}[qtype])
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    def order(item):   # token_embd, the blocks in GGUF_TO_HF_LAYER order, output_norm, output
        g = item[1]
        if g.startswith("blk."):
            _, b, rest = g.split(".", 2)
            return (1, int(b), list(GGUF_TO_HF_LAYER).index(rest))
        return ({"token_embd.weight": 0, "output_norm.weight": 2, "output.weight": 3}[g], 0, 0)

    for k, g in sorted(names.items(), key=order):
        a = np.ascontiguousarray(weights[k], dtype=np.float32)
        if qtype is not None and g.split(".")[-2] in BITNET_PROJECTIONS:
            block = gguf.GGML_QUANT_SIZES[qtype][0]
            assert a.shape[-1] % block == 0, (g, a.shape, block)
            w.add_tensor(g, gguf.quants.quantize(a, qtype), raw_dtype=qtype)   # shape from the block bytes
        else:
            w.add_tensor(g, a)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def add_bitnet_ggufs(name: str, folder: Path, float_folder: Path, packed: str | None, meta: dict, log: list,
                     out_desc: str, ref_float: np.ndarray) -> None:
    """model.gguf (F32, exactly the folder's values) for `bitnet` and `bitnet_packed`; for the tied
    packed case also model.tq2_0.gguf + ref_dequantized_tq2_0.npy when the rows allow TQ2_0."""
    import gguf
    config = json.loads((folder / "config.json").read_text())
    weights = bitnet_effective_weights(folder, packed)
    # The float model of ref_float / the sims holds exactly these values.
    float_state = load_float64(float_folder, "BitNetForCausalLM").state_dict()
    assert set(float_state) == set(weights), sorted(set(float_state) ^ set(weights))
    for k, v in weights.items():
        assert np.array_equal(v.astype(np.float64), float_state[k].numpy()), k
    where = ("packed bitlinear projections unpacked as transformers' unpack_weights does, times "
             "gamma = float32(1)/float32(weight_scale)" if packed == "bitlinear" else
             "q..down float32 = codes × c as in model.safetensors")
    desc = ("gguf-py GGUFWriter (tools/gen_llm_fixtures.py write_bitnet_gguf; llama.cpp's converter fails on "
            "BitNetForCausalLM): general.architecture 'bitnet', llama.cpp's BITNET tensor names "
            "(attn_sub_norm / ffn_sub_norm), no q/k permutation, every tensor F32 holding exactly the values the "
            f"folder means ({where}; the rest bf16 → F32)"
            + ("; tied: no output.weight" if config.get("tie_word_embeddings") else
               "; untied: also output.weight, which our reader accepts but llama.cpp's BITNET architecture "
               "would not load (its loader creates no output tensor)"))

    variants = [("model.gguf", None)]
    if packed == "bitlinear":
        variants.append(("model.tq2_0.gguf", gguf.GGMLQuantizationType.TQ2_0))
    for fname, qtype in variants:
        if qtype is not None:
            block = gguf.GGML_QUANT_SIZES[qtype][0]
            rows = sorted({int(weights[gguf_to_hf_name(f"blk.0.{p}.weight")].shape[1]) for p in BITNET_PROJECTIONS})
            if any(k % block for k in rows):
                meta["notes"].append(
                    f"no {fname}: {qtype.name} blocks hold {block} consecutive elements of a row (ggml's "
                    f"block_{qtype.name.lower()}), and the projections' rows (in-dimensions) here are {rows}; "
                    f"gguf.quants.quantize refuses them, and llama.cpp's converter would write such tensors as "
                    f"F16 instead")
                log.append(f"{name}: {fname} skipped: rows {rows} are not multiples of {block}")
                continue
        path = folder / fname
        write_bitnet_gguf(path, name, config, weights, qtype)
        reader = gguf.GGUFReader(str(path))
        diffs = []
        for t in reader.tensors:
            hf_name = gguf_to_hf_name(t.name)
            shape = [int(x) for x in reversed(t.shape)]
            values = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape)
            if qtype is None:
                assert t.tensor_type == gguf.GGMLQuantizationType.F32, t.name
                assert np.array_equal(values, weights[hf_name]), t.name
            diffs.append(float(np.max(np.abs(values.astype(np.float64) - weights[hf_name]))))
        dq = ref_from_dequantized_gguf(folder, fname, model_folder=float_folder, attn_implementation="eager")
        d = float(np.max(np.abs(dq - ref_float)))
        rel = d / float(np.max(np.abs(ref_float)))
        meta["gguf"][fname] = {"outtype": "F32" if qtype is None else f"{qtype.name} (projections), F32 (rest)",
                               "writer": "gguf-py GGUFWriter (write_bitnet_gguf)", "arch": gguf_arch(path),
                               "tensors": gguf_summary(path), "max_abs_weight_diff_to_folder": max(diffs),
                               "dequantized_logits_vs_ref_float": {"max_abs": d, "max_rel": rel}}
        log.append(f"{name}: {fname}: max abs weight diff to the folder {max(diffs):.3g}; logits of its dequantized "
                   f"weights vs ref_float max abs {d:.3g} (relative {rel:.3g})")
        if qtype is None:
            assert d == 0.0, d   # the same float64 model, eager attention, the same weights
            meta["files"][fname] = desc + "; its reference is ref_float.npy (and sim_<mode>.npy)"
        else:
            suffix = "_" + qtype.name.lower()
            save_npy(folder / f"ref_dequantized{suffix}.npy", dq)
            meta["files"][fname] = (f"model.gguf with the seven projections quantized by gguf-py's "
                                    f"gguf.quants.quantize(..., {qtype.name})")
            meta["files"][f"ref_dequantized{suffix}.npy"] = (
                f"float64 {out_desc}: the folder's float model in float64 with gguf-py's dequantization of {fname}: "
                f"the oracle of our float path from that file")
    if "model.gguf" in meta["gguf"]:
        meta["notes"].append(
            "model.gguf is not llama.cpp's output: it is written with gguf-py's GGUFWriter in llama.cpp's BITNET "
            "layout (see files). llama.cpp itself would still compute this model differently: its BITNET graph "
            "(src/models/bitnet.cpp) uses SiLU in the FFN where BitNetForCausalLM (hidden_act relu2) uses relu², "
            "and the GGUF has no key for the activation")
        if "bitnet" not in transformers.integrations.ggml.GGUF_CONFIG_MAPPING:
            meta["notes"].append("ref_gguf.npy: transformers' GGUF loader does not support architecture 'bitnet'")


# --------------------------------------------------------------------------------------
# Cases


def st_summary(path: Path) -> list[list]:
    from safetensors import safe_open
    out = []
    with safe_open(str(path), "pt") as f:
        for k in sorted(f.keys()):
            t = f.get_slice(k)
            out.append([k, t.get_dtype(), list(t.get_shape())])
    return out


def save_npy(path: Path, a: np.ndarray) -> None:
    np.save(path, np.ascontiguousarray(a))


def write_case(name: str, case: dict, sp_blob: bytes, llama: Path | None, llama_build: Path | None, log: list) -> dict:
    folder = OUT / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    encoder = case.get("encoder", False)
    packed = case.get("packed")
    ternary = case["cls"] == "BitNetForCausalLM"
    cfg = make_config(case)
    torch.manual_seed(case["seed"])
    model = getattr(transformers, case["cls"])(cfg).to(torch.float32).eval()
    scales = randomize(model, case["seed"], encoder, ternary)
    linear_weights = {n + ".weight" for n, _ in converted_linears(model, encoder)}
    meta: dict = {"case": name, "architecture": case["cls"], "model_type": cfg.model_type,
                  "tokens": TOKENS.tolist(), "files": {}, "notes": []}

    # ---- the checkpoint
    model = model.to(torch.bfloat16)
    if not packed:
        if ternary:   # float32 ternary × c matrices, the rest bf16
            with torch.no_grad():
                for n, lin in converted_linears(model, encoder):
                    lin.weight.data = lin.weight.data.to(torch.float32)
            # bf16 rounding must not have touched them: they were set from float32 then cast
            # to bf16 and back; re-derive from scales to be exact.
            g_model = getattr(transformers, case["cls"])(cfg).to(torch.float32)
            randomize(g_model, case["seed"], encoder, ternary)
            sd32 = dict(g_model.named_parameters())
            with torch.no_grad():
                for n, lin in converted_linears(model, encoder):
                    lin.weight.data = sd32[n + ".weight"].detach().clone()
            del g_model
        model.save_pretrained(folder, safe_serialization=True)
    else:
        # codes from a float ternary draw; weight_scale per Linear in bf16, shape [1]
        from safetensors.torch import save_file
        g_model = getattr(transformers, case["cls"])(cfg).to(torch.float32)
        randomize(g_model, case["seed"], encoder, True)
        sd32 = {k: v.detach() for k, v in g_model.named_parameters()}
        gen = torch.Generator().manual_seed(case["seed"] + 1000)
        tensors = {}
        for k, v in sd32.items():
            if k in linear_weights:
                c = scales[k]
                codes = np.rint(v.numpy() / np.float32(c)).astype(np.int8)
                assert set(np.unique(codes)) <= {-1, 0, 1}
                p = pack_ternary(codes)
                assert np.array_equal(unpack_ternary(p), codes)
                from transformers.integrations.bitnet import pack_weights, unpack_weights
                assert np.array_equal(pack_weights(torch.from_numpy(codes.astype(np.int64))).numpy(), p)
                assert np.array_equal(unpack_weights(torch.from_numpy(p), torch.float32).numpy(), codes.astype(np.float32))
                ws = torch.tensor([2.0 + 6.0 * torch.rand((), generator=gen).item()], dtype=torch.float32).to(torch.bfloat16)
                tensors[k] = torch.from_numpy(p)
                tensors[k.removesuffix(".weight") + ".weight_scale"] = ws
            else:
                tensors[k] = v.to(torch.bfloat16).contiguous()
        if cfg.tie_word_embeddings:
            tensors.pop("lm_head.weight", None)
        save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
        cfg.quantization_config = dict(BITNET_QC_OFFLINE, linear_class=packed)
        cfg.architectures = [case["cls"]]
        cfg.save_pretrained(folder)
        del g_model
    if case.get("old_rope_form"):
        cj = json.loads((folder / "config.json").read_text())
        rp = cj.pop("rope_parameters", None)
        if rp is not None:
            rp = dict(rp)
            cj["rope_theta"] = rp.pop("rope_theta")
            cj["rope_scaling"] = rp
        (folder / "config.json").write_text(json.dumps(cj, indent=2, sort_keys=True) + "\n")
    cj = json.loads((folder / "config.json").read_text())
    meta["config_rope_form"] = ("rope_parameters" if "rope_parameters" in cj else
                                "rope_theta" if "rope_theta" in cj else "none")
    if encoder:
        write_wordpiece(folder)
    else:
        write_sentencepiece(folder, sp_blob)
    meta["safetensors"] = st_summary(folder / "model.safetensors")
    save_npy(folder / "tokens.npy", TOKENS)
    meta["files"]["tokens.npy"] = "int64 [T] token ids" + ("; token_type_ids all 0, attention_mask all 1" if encoder else "")

    # ---- float reference; for packed checkpoints, the float model is BitNetForCausalLM
    # with W = codes × gamma (gamma as defined below), written to a temporary folder.
    out_desc = "last_hidden_state [T, hidden]" if encoder else "logits [T, vocab]"
    float_folder = folder
    tmpdir = None
    gammas = {}
    if packed:
        tmpdir = Path(tempfile.mkdtemp(prefix=f"llmfix-{name}-"))
        float_folder = tmpdir / "float"
        from safetensors.torch import load_file, save_file
        sd = load_file(str(folder / "model.safetensors"))
        fsd = {}
        for k, v in sd.items():
            if k.endswith(".weight_scale"):
                continue
            if k in linear_weights:
                ws = sd[k.removesuffix(".weight") + ".weight_scale"].to(torch.float32).numpy()
                assert ws.shape == (1,)
                if packed == "bitlinear":
                    gamma = np.float32(1.0) / ws[0]          # float32 division: BitLinear divides by weight_scale
                else:
                    gamma = ws[0]                            # AutoBitLinear multiplies by weight_scale
                gammas[k] = {"weight_scale_bf16": float(ws[0]), "gamma_f32": float(gamma)}
                codes = unpack_ternary(v.numpy())
                fsd[k] = torch.from_numpy(codes.astype(np.float32) * gamma)
                assert np.all(np.isin(fsd[k].numpy(), [-gamma, 0, gamma]))
            else:
                fsd[k] = v
        float_folder.mkdir()
        save_file(fsd, str(float_folder / "model.safetensors"), metadata={"format": "pt"})
        fc = json.loads((folder / "config.json").read_text())
        fc.pop("quantization_config")
        (float_folder / "config.json").write_text(json.dumps(fc, indent=2))
        meta["packed_scale"] = {
            "linear_class": packed,
            "formula": ("gamma = float32(1) / float32(weight_scale)  (BitLinear: y = (codes·q) / (s_act · weight_scale))"
                        if packed == "bitlinear" else
                        "gamma = float32(weight_scale)  (AutoBitLinear offline: y = F.linear(q/s_act, codes) · weight_scale)"),
            "per_linear": gammas,
        }
    model64 = load_float64(float_folder, case["cls"])
    ref_float = forward(model64, encoder)
    save_npy(folder / "ref_float.npy", ref_float)
    meta["files"]["ref_float.npy"] = (f"float64 {out_desc}: transformers {case['cls']} in float64 (eval, no cache)"
                                      + (" with the packed weights dequantized to codes × gamma" if packed else ""))

    # ---- simulated references
    fl, _ = simulate(float_folder, case, "float")
    err = float(np.max(np.abs(fl - ref_float)))
    assert err <= 1e-12, f"{name}: float-mode simulation differs from ref_float by {err}"
    log.append(f"{name}: float-mode sim vs ref_float max abs diff {err:.3g}")
    default_mode = "w1.58a8" if ternary else "w1a1"
    sims = {}
    for mode in SIM_MODES:
        y, info = simulate(float_folder, case, mode)
        sims[mode] = y
        save_npy(folder / f"sim_{mode}.npy", y)
        cos = cosine_rows(y, ref_float)
        log.append(f"{name}: sim_{mode} vs ref_float cosine per position min {cos.min():.4f} mean {cos.mean():.4f}")
        meta["files"][f"sim_{mode}.npy"] = f"float64 {out_desc}: simulated reference of the {mode} conversion"
        if mode == "w1.58a8":
            meta["w158_gammas"] = info
    meta["default_mode"] = default_mode
    if name == "bitnet":
        # What transformers' AutoBitLinear (online) does to a float checkpoint: absmean gamma
        model = load_float64(float_folder, case["cls"])
        for lname, lin in converted_linears(model, encoder):
            w32 = lin.weight.detach().to(torch.float32).numpy()
            mean = numerics.sequential_abs_mean(w32.reshape(1, -1))[0]
            gamma = max(mean, numerics.SCALE_FLOOR)
            qw = numerics.QuantizedWeights("w1.58", np.clip(np.rint(w32 / gamma), -1, 1).astype(np.int8),
                                           np.array([gamma], dtype=np.float32), False)
            s = SimLinear(lin, "w1.58a8")
            s.qw = qw
            model.set_submodule(lname, s)
        y = forward(model, encoder)
        save_npy(folder / "sim_w1.58a8_absmean.npy", y)
        sims["w1.58a8_absmean"] = y
        meta["notes"].append(
            "sim_w1.58a8.npy takes the ternary codes as they are with gamma = c (DESIGN.md); transformers' "
            "AutoBitLinear online quantization (ref_bitnet*) recomputes gamma as the absmean, c × (fraction of "
            "nonzero codes), so it matches sim_w1.58a8_absmean.npy, not sim_w1.58a8.npy")
        meta["files"]["sim_w1.58a8_absmean.npy"] = (
            "float64 logits: w1.58a8 simulation with gamma = absmean of each matrix (DESIGN.md's rule for "
            "non-ternary weights), which is what AutoBitLinear's online WeightQuant computes; for exactly "
            "ternary weights with zeros it is c × (fraction of nonzero codes), not c")

    # ---- transformers' own BitNet numerics
    if ternary:
        if packed:
            rb_model = load_float64(folder, case["cls"])
            # AutoBitLinear (offline) keeps its weight in the checkpoint's bf16 whatever dtype is asked
            # for; codes and bf16 scales are exact in float64, so casting afterwards loses nothing.
            rb_model = rb_model.to(torch.float64)
            kinds = sorted({type(m).__name__ for _, m in rb_model.named_modules() if "BitLinear" in type(m).__name__})
            rb = forward(rb_model, encoder)
            how = f"transformers' offline loader of the packed checkpoint ({', '.join(kinds)}), dtype float64"
        else:
            qdir = online_autobitlinear_copy(folder)
            rb_model = load_float64(qdir, case["cls"])
            kinds = sorted({type(m).__name__ for _, m in rb_model.named_modules() if "BitLinear" in type(m).__name__})
            rb = forward(rb_model, encoder)
            shutil.rmtree(qdir)
            how = ("transformers AutoBitLinear with quantization_config {linear_class: autobitlinear, "
                   "quantization_mode: online}, model dtype float64 (WeightQuant and ActQuant decide in float32)")
        save_npy(folder / "ref_bitnet.npy", rb)
        meta["files"]["ref_bitnet.npy"] = f"float64 logits: {how}"
        # the same in float32: every activation-quantization decision then is a float32 one, as in DESIGN.md
        src = folder if packed else None
        if packed:
            m32 = load_float64(folder, case["cls"], dtype=torch.float32).to(torch.float32)
        else:
            qdir = online_autobitlinear_copy(folder)
            m32 = load_float64(qdir, case["cls"], dtype=torch.float32)
            shutil.rmtree(qdir)
        rb32 = forward(m32, encoder)
        save_npy(folder / "ref_bitnet_f32.npy", rb32)
        meta["files"]["ref_bitnet_f32.npy"] = f"float64 array of float32 logits: the same as ref_bitnet.npy with the model in float32"
        for k, y in list(sims.items()):
            if k.startswith("w1.58a8"):
                d = float(np.max(np.abs(y - rb32)))
                log.append(f"{name}: sim_{k} vs ref_bitnet_f32 max abs diff {d:.3g} (relative {d / float(np.max(np.abs(rb32))):.3g})")
                meta.setdefault("sim_vs_ref_bitnet_f32", {})[k] = {"max_abs": d, "max_rel": d / float(np.max(np.abs(rb32)))}
        for k, y in sims.items():
            if k.startswith("w1.58a8"):
                d = float(np.max(np.abs(y - rb)))
                rel = d / float(np.max(np.abs(rb)))
                log.append(f"{name}: sim_{k} vs ref_bitnet max abs diff {d:.3g} (relative {rel:.3g}), "
                           f"cosine min {cosine_rows(y, rb).min():.6f}")
                meta.setdefault("sim_vs_ref_bitnet", {})[k] = {"max_abs": d, "max_rel": rel}

    # ---- GGUF
    meta["gguf"] = {}
    if llama is not None:
        outtype = "bf16"
        ok, msg = convert_gguf(llama, folder, folder / "model.gguf", outtype, no_lazy=bool(packed))
        if ok:
            meta["gguf"]["model.gguf"] = {"outtype": outtype, "arch": gguf_arch(folder / "model.gguf"),
                                          "tensors": gguf_summary(folder / "model.gguf")}
            meta["files"]["model.gguf"] = f"llama.cpp convert_hf_to_gguf.py --outtype {outtype}"
        else:
            meta["notes"].append(f"convert_hf_to_gguf.py failed: {msg.splitlines()[-1] if msg else ''}")
            if ternary:
                meta["notes"].append(
                    "llama.cpp's BITNET architecture has no output tensor (tied embeddings only) and its tensor map "
                    "knows the 1bitLLM names (self_attn.inner_attn_ln, mlp.ffn_layernorm), not transformers' "
                    "BitNetForCausalLM names (self_attn.attn_sub_norm, mlp.ffn_sub_norm): no GGUF from llama.cpp for "
                    "this case" + ("; model.gguf is written by gguf-py's GGUFWriter instead" if name in ("bitnet", "bitnet_packed") else ""))
            log.append(f"{name}: GGUF conversion failed: {msg}")
        extra = []
        if name == "llama":
            extra = [("model.q8_0.gguf", "q8_0")]
        if name.startswith("bitnet") and ok:
            extra = [("model.tq2_0.gguf", "tq2_0"), ("model.tq1_0.gguf", "tq1_0")]
        for fname, ot in extra:
            ok2, msg2 = convert_gguf(llama, folder, folder / fname, ot, no_lazy=bool(packed))
            if ok2:
                meta["gguf"][fname] = {"outtype": ot, "arch": gguf_arch(folder / fname), "tensors": gguf_summary(folder / fname)}
                meta["files"][fname] = f"llama.cpp convert_hf_to_gguf.py --outtype {ot}"
            else:
                meta["notes"].append(f"convert_hf_to_gguf.py --outtype {ot} failed: {msg2.splitlines()[-1] if msg2 else ''}")
                log.append(f"{name}: --outtype {ot} failed: {msg2}")
        if name == "llama" and ok and llama_build is not None:
            okq, msgq = llama_quantize(llama_build, folder / "model.gguf", folder / "model.q4_0.gguf", "Q4_0")
            if okq:
                meta["gguf"]["model.q4_0.gguf"] = {"outtype": "llama-quantize Q4_0", "arch": gguf_arch(folder / "model.q4_0.gguf"),
                                                   "tensors": gguf_summary(folder / "model.q4_0.gguf")}
                meta["files"]["model.q4_0.gguf"] = "llama.cpp llama-quantize model.gguf Q4_0"
            else:
                log.append(f"{name}: llama-quantize skipped: {msgq}")
        for fname in [f for f in ("model.q8_0.gguf", "model.q4_0.gguf") if (folder / f).exists()]:
            suffix = fname[len("model"):-len(".gguf")].replace(".", "_")
            save_npy(folder / f"ref_dequantized{suffix}.npy", ref_from_dequantized_gguf(folder, fname))
            meta["files"][f"ref_dequantized{suffix}.npy"] = (
                f"float64 {out_desc}: the folder's model in float64 with gguf-py's dequantization of {fname} "
                f"(attn_q/attn_k un-permuted): the oracle of our float path from that file")
        # transformers' GGUF loader
        for fname in [f for f in ("model.gguf", "model.q8_0.gguf", "model.q4_0.gguf") if (folder / f).exists()]:
            arch = meta["gguf"][fname]["arch"]
            suffix = {"model.gguf": "", "model.q8_0.gguf": "_q8_0", "model.q4_0.gguf": "_q4_0"}[fname]
            if arch not in transformers.integrations.ggml.GGUF_CONFIG_MAPPING:
                meta["notes"].append(f"ref_gguf{suffix}.npy: transformers' GGUF loader does not support "
                                     f"architecture {arch!r}")
                continue
            attempts = {}
            for own in (True, False):
                try:
                    attempts[own] = ref_from_gguf(folder, fname, encoder, own_config=own)
                except Exception as e:  # noqa: BLE001
                    attempts[own] = f"{type(e).__name__}: {str(e)[:200]}"
            if all(isinstance(v, str) for v in attempts.values()):
                meta["notes"].append(f"ref_gguf{suffix}.npy: transformers could not load {fname}: {attempts}")
                log.append(f"{name}: transformers GGUF load of {fname} failed: {attempts}")
                continue
            own = not isinstance(attempts[True], str)
            rg = attempts[own]
            save_npy(folder / f"ref_gguf{suffix}.npy", rg)
            d = float(np.max(np.abs(rg - ref_float)))
            how = ("config=<the folder's config.json>" if own else "the config transformers derives from the GGUF keys")
            meta["files"][f"ref_gguf{suffix}.npy"] = (
                f"float64 {out_desc}: transformers from_pretrained(folder, gguf_file={fname!r}) with {how}, "
                f"then .to(float64): llama.cpp's weights through transformers' GGUF loader; max abs diff to "
                f"ref_float {d:.3g}")
            other = attempts[not own]
            if isinstance(other, str):
                d_own = float("nan")
                meta["notes"].append(f"ref_gguf{suffix}.npy: with {'the GGUF-derived config' if own else 'config.json'} "
                                     f"transformers fails ({other}); used {how}")
            else:
                d_own = float(np.max(np.abs(other - rg)))
                if d_own > 1e-9:
                    meta["notes"].append(
                        f"ref_gguf{suffix}.npy: with the config transformers derives from the GGUF keys instead of "
                        f"config.json the logits differ by up to {d_own:.3g} (its GGUF config mapping drops the rope "
                        f"scaling that llama.cpp stores as rope_freqs / rope.scaling.*); config.json is used")
            log.append(f"{name}: ref_gguf{suffix} vs ref_float max abs diff {d:.3g}, cosine min "
                       f"{cosine_rows(rg, ref_float).min():.6f}; with {how}; the other config differs by {d_own:.3g}")

    if name in ("bitnet", "bitnet_packed"):
        add_bitnet_ggufs(name, folder, float_folder, packed, meta, log, out_desc, ref_float)

    if tmpdir is not None:
        shutil.rmtree(tmpdir)
    meta["shapes"] = {"tokens": [len(TOKENS)], "output": list(ref_float.shape),
                      "hidden": HIDDEN, "layers": LAYERS, "heads": HEADS,
                      "kv_heads": HEADS if encoder else KV_HEADS,
                      "head_dim": int(case["kwargs"].get("head_dim", HIDDEN // HEADS)),
                      "intermediate": FFN, "vocab": VOCAB}
    meta["tolerances"] = {
        "ref_float": {"metric": "max|ours - ref| / max|ref|", "max": TOL["float_rel"]},
        "ref_gguf*": {"metric": "max|ours(from the GGUF) - ref_gguf| / max|ref_gguf|", "max": TOL["float_rel"]},
        "sim_<mode>": {"metric": "cosine per position between the converted model and sim_<mode>", "min": TOL["sim_cosine"]},
    }
    if ternary:
        meta["tolerances"]["ref_bitnet"] = {"metric": "max|ours(w1.58a8) - ref_bitnet| / max|ref_bitnet|",
                                            "max": TOL["bitnet_rel"]}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=None, help="cases to write (default: all)")
    ap.add_argument("--no-gguf", action="store_true", help="skip llama.cpp")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    names = args.only or list(CASES)
    sp_blob = sentencepiece_model()
    llama = None if args.no_gguf else llama_cpp_dir()
    build = ROOT / ".llama" / "build"
    llama_build = build if (build / "bin" / "llama-quantize").exists() else None
    log: list[str] = []
    for name in names:
        print(f"== {name}", flush=True)
        write_case(name, CASES[name], sp_blob, llama, llama_build, log)
        for line in log:
            print("  " + line, flush=True)
        log.clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
