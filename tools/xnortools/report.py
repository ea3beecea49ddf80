"""The pass/fail reporter every check script prints through."""
from __future__ import annotations

MAX_PROBLEMS = 5   # problems listed per failed check


class Report:
    """One line per check, "PASS name" or "FAIL name: why"; `summary()` is the last line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name: str, problems: list[str] | str | None) -> bool:
        """Passes when `problems` (a list, one string, or None) holds no non-empty entry."""
        if isinstance(problems, str):
            problems = [problems]
        problems = [p for p in (problems or []) if p]
        if problems:
            shown = "; ".join(problems[:MAX_PROBLEMS])
            more = f" (+{len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
            return self._record(False, f"FAIL {name}: {shown}{more}")
        return self._record(True, f"PASS {name}")

    def expect(self, ok: bool, name: str, detail: str = "") -> bool:
        """Passes when `ok`; `detail` (a measured figure, or why it failed) follows the name."""
        if ok:
            return self._record(True, f"PASS {name} {detail}".rstrip())
        return self._record(False, f"FAIL {name}: {detail or 'failed'}")

    def _record(self, ok: bool, line: str) -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(line, flush=True)
        return ok

    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"

    def exit_status(self) -> int:
        return 1 if self.failed else 0
