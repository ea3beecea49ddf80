"""The markdown tables the benchmark scripts print: one row per measured configuration."""
from __future__ import annotations

from typing import Callable


def number(v, digits: int = 3) -> str:
    """A figure as the tables show it: '-' when missing, very large or small floats in 3
    significant digits, other floats with `digits` after the point."""
    if v is None:
        return "-"
    if isinstance(v, float) and (abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3)):
        return f"{v:.3g}"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def table(headers: list[str], rows: list[dict], cells: Callable[[dict], list[str]]) -> str:
    """A header, its rule, and each row's `cells`; a row with "refused" spans the reason."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for r in rows:
        if "refused" in r:
            lines.append(f"| {r['name']} | refused: {r['refused']} |" + " |" * (len(headers) - 2))
        else:
            lines.append("| " + " | ".join([r["name"]] + cells(r)) + " |")
    return "\n".join(lines)
