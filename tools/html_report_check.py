#!/usr/bin/env python3
"""The HTML reports (issue 14) as a person sees them: rendered by headless Chromium.

  1. `xnor convert` of the demo Llama (bytes as tokens), rotated and calibrated on Debian's
     licence texts as byte ids, in b2g128, with `--report-html`;
  2. `xnor verify` of that model with `--html`;
  3. each page rendered by `chromium --headless --screenshot`, and `--dump-dom`:
     - the three charts exist as SVG (chart-bits, chart-error, chart-kl);
     - each chart's marks are on the screen: pixels of the bars' colour, of both error series'
       colours, and of the KL line's colour, in numbers that only drawn marks give;
     - the pages load nothing from elsewhere (no http(s) reference besides the SVG namespace).
Prints one line per check and `N passed, N failed`; exit 1 on any failure.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from xnortools import png
from xnortools.cli import Xnor
from xnortools.paths import FIXTURES, ROOT
from xnortools.report import Report

MODEL = FIXTURES / "demo" / "tiny-llama"
# FidelityPage's colours (Sources/Verify/FidelityPage.swift).
BARS, BEFORE, AFTER, KL = (0x34, 0x65, 0xA4), (0xCC, 0x00, 0x00), (0x4E, 0x9A, 0x06), (0x75, 0x50, 0x7B)
TIMEOUT = 900.0


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def render(browser: str, page: Path, shot: Path) -> tuple[str, np.ndarray | None, str]:
    """The DOM after load and a screenshot; the problem when either fails."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1"]
    dom = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, timeout=120)
    shotrun = subprocess.run([browser, *flags, "--window-size=1040,1400", f"--screenshot={shot}", page.as_uri()],
                             capture_output=True, timeout=120)
    if dom.returncode != 0 or shotrun.returncode != 0 or not shot.exists():
        return "", None, f"chromium failed: {(dom.stderr + shotrun.stderr).decode(errors='replace')[-300:]}"
    return dom.stdout.decode(errors="replace"), png.read(shot), ""


def near(image: np.ndarray, colour: tuple[int, int, int], tolerance: int = 24) -> int:
    """Pixels within `tolerance` of `colour` on every channel."""
    rgb = image[:, :, :3].astype(np.int32)
    return int((np.abs(rgb - np.array(colour)).max(axis=2) <= tolerance).sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xnor", type=Path, default=ROOT / ".build" / "release" / "xnor")
    args = parser.parse_args()
    report = Report()
    browser = chromium()
    if browser is None:
        report.check("headless Chromium is installed (tools/setup installs Debian's chromium)", "no chromium on PATH")
        print(report.summary())
        return 1
    xnor = Xnor(args.xnor)
    with tempfile.TemporaryDirectory(prefix="xnor-html-") as tmp:
        work = Path(tmp)
        # Calibration data as byte ids, 128 per line: the demo model reads bytes.
        text = Path("/usr/share/common-licenses/GPL-3").read_bytes()[:16384]
        (work / "calib.txt").write_text("\n".join(",".join(str(b) for b in text[i:i + 128]) for i in range(0, len(text), 128)) + "\n")
        model, convert_page, verify_page = work / "model.xnor", work / "convert.html", work / "verify.html"
        c = xnor.run(["convert", MODEL, "-o", model, "--mode", "w1a8", "--weight-format", "b2g128", "--rotate",
                      "--calibrate", work / "calib.txt", "--calib-ctx", "128", "--calib-samples", "32",
                      "--report-html", convert_page, "--quiet"], timeout=TIMEOUT)
        if not report.check("convert --calibrate --report-html", None if c.returncode == 0 else c.describe_failure()):
            print(report.summary())
            return 1
        v = xnor.run(["verify", model, "--source", MODEL, "--html", verify_page, "--quiet"], timeout=TIMEOUT)
        report.check("verify --html", None if v.returncode == 0 else v.describe_failure())
        again = xnor.run(["verify", model, "--source", MODEL, "--html", verify_page, "--quiet"], timeout=TIMEOUT)
        report.check("verify --html refuses to replace an existing page without --force",
                     None if again.returncode == 1 and len(again.stderr.decode(errors="replace").strip().splitlines()) == 1
                     else f"exit {again.returncode}, stderr {again.stderr[-200:]!r}")
        for name, page, marks in [("convert", convert_page, {"chart-bits": [BARS], "chart-error": [BEFORE, AFTER]}),
                                  ("verify", verify_page, {"chart-bits": [BARS], "chart-error": [BEFORE, AFTER], "chart-kl": [KL]})]:
            if not page.exists():
                report.check(f"{name}: the page was written", f"{page} is missing")
                continue
            html = page.read_text()
            outside = [u for u in re.findall(r"https?://[^\s\"'<>]+", html) if u != "http://www.w3.org/2000/svg"]
            report.check(f"{name}: self-contained (no script, nothing fetched)",
                         [f"reference to {u}" for u in outside] + (["has a <script>"] if "<script" in html else []))
            dom, image, problem = render(browser, page, work / f"{name}.png")
            if not report.check(f"{name}: rendered by {Path(browser).name}", problem):
                continue
            missing = [chart for chart in marks if f'id="{chart}"' not in dom]
            report.check(f"{name}: the DOM holds the charts {', '.join(marks)}", [f"no <svg id={m}>" for m in missing])
            counts = {colour: near(image, colour) for chart in marks for colour in marks[chart]}
            # A bar of the demo's 28 matrices is a few hundred pixels; a dot ~20; a line ~1000.
            low = {BARS: 2000, BEFORE: 100, AFTER: 100, KL: 300}
            report.check(f"{name}: the marks are on the screen ({', '.join(f'#{c[0]:02x}{c[1]:02x}{c[2]:02x} {n} px' for c, n in counts.items())})",
                         [f"only {n} pixels of #{c[0]:02x}{c[1]:02x}{c[2]:02x} (expected ≥ {low[c]})" for c, n in counts.items() if n < low[c]])
    print(report.summary())
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
