"""Screenshots of `mlpcli report` pages in headless Chromium, wide (1280 px) and narrow (400 px),
to look at before a release (the pytest tests/test_report.py checks the HTML without a browser).

    apt-get install chromium            # Debian's package
    python benchmarks/screenshots.py [REPORT.html …] [--out DIR]

Without pages, it trains a few small runs and a sweep in a temporary folder and reports each
(spirals --animate, xor --hidden 2, wine, sine, a moons sweep, two runs compared). The PNGs go
to DIR (default: screenshots/), named <page>-<width>.png.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTHS = (1280, 400)
HEIGHT = 4000  # tall enough for a whole run page; Chromium crops at the window's height


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    sys.exit("no Chromium found: apt-get install chromium")


def screenshot(page: Path, out: Path, width: int) -> None:
    subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--no-first-run", "--hide-scrollbars",
         f"--window-size={width},{HEIGHT}", f"--screenshot={out}", page.resolve().as_uri()],
        check=True, capture_output=True, timeout=120)


def mlpcli(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "mlpcli", *args], cwd=cwd, check=True,
                   capture_output=True)


def example_pages(work: Path) -> list[Path]:
    """Train the example runs and a sweep in `work`; their report pages."""
    for args in (["spirals", "--animate", "--name", "spirals"], ["xor", "--hidden", "2",
                 "--seed", "1", "--name", "xor"], ["wine", "--name", "wine"],
                 ["sine", "--name", "sine"]):
        mlpcli("train", *args, "--quiet", cwd=work)
    mlpcli("sweep", "moons", "--grid", "hidden=4|16", "--grid", "lr=0.001|0.01", "--epochs",
           "100", "--name", "moons", "--plots", "--quiet", cwd=work)
    pages = []
    for name in ("spirals", "xor", "wine", "sine"):
        mlpcli("report", name, "-o", f"{name}.html", cwd=work)
        pages.append(work / f"{name}.html")
    sweep = next(p.name for p in (work / "runs").iterdir() if (p / "sweep.json").exists())
    mlpcli("report", sweep, "-o", "sweep.html", cwd=work)
    mlpcli("report", "xor", "sine", "-o", "compare.html", cwd=work)
    return [*pages, work / "sweep.html", work / "compare.html"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pages = args.pages or example_pages(Path(tmp))
        for page in pages:
            for width in WIDTHS:
                target = args.out / f"{page.stem}-{width}.png"
                screenshot(page, target, width)
                print(target)


if __name__ == "__main__":
    main()
