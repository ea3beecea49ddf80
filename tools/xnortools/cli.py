"""Running the xnor CLI: a bounded child process, and strict JSON for what it prints."""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Run:
    args: list[str]
    returncode: int | None      # None: timed out
    stdout: bytes
    stderr: bytes

    def describe_failure(self) -> str:
        if self.returncode is None:
            return "timed out"
        err = self.stderr.decode("utf-8", "replace").strip().replace("\n", " | ")
        return f"exit status {self.returncode}, stderr: {err[:300]!r}"


class Xnor:
    def __init__(self, exe: Path):
        self.exe = exe

    def run(self, args: list, timeout: float) -> Run:
        cmd = [str(self.exe)] + [str(a) for a in args]
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
            return Run(cmd, p.returncode, p.stdout, p.stderr)
        except subprocess.TimeoutExpired as e:
            return Run(cmd, None, e.stdout or b"", e.stderr or b"")
        except OSError as e:
            return Run(cmd, 127, b"", f"cannot run {self.exe}: {e}".encode())


def parse_json(text: bytes) -> Any:
    """Strict JSON: bare NaN/Infinity are errors (the contract prints them as strings), and an
    integer token "-0" keeps its sign so that a float32 -0.0 printed as "-0" still compares."""
    def no_constants(name):
        raise ValueError(f"bare {name} is not JSON")

    def ints(s):
        return -0.0 if s == "-0" else int(s)

    return json.loads(text.decode("utf-8"), parse_constant=no_constants, parse_int=ints)
