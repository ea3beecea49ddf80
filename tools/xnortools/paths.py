"""Where things are: the repository, its fixtures, llama.cpp."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TOOLS = ROOT / "tools"
FIXTURES = ROOT / "fixtures"
VENV = ROOT / ".venv"
LLAMA = ROOT / ".llama"            # tools/llama-cpp's folder (git-ignored)
LLAMA_BUILD = LLAMA / "build" / "bin"


class MissingTool(Exception):
    """A file the project installs or builds is not there; the message says how to get it."""


def llama_cpp_source() -> Path:
    """The llama.cpp folder tools/llama-cpp unpacked (holds convert_hf_to_gguf.py, gguf-py/,
    models/ggml-vocab-*.gguf)."""
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
