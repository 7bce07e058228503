"""Terminal charts: curves drawn with characters, for `runs show`."""

from __future__ import annotations

import math

from mlpcli.console.terminal import fmt


def ascii_chart(series: dict, width: int = 64, height: int = 12) -> str:
    """A small terminal chart of one or more curves (log scale when all values are positive)."""
    marks = ["●", "×", "+", "o", "*", "#"]
    clean = {k: [float(v) for v in vs if v == v] for k, vs in series.items()}
    clean = {k: v for k, v in clean.items() if v}
    if not clean:
        return "(no data to plot)"
    values = [v for vs in clean.values() for v in vs]
    log = min(values) > 0
    tf = (lambda v: math.log10(v)) if log else (lambda v: v)
    lo, hi = min(map(tf, values)), max(map(tf, values))
    if hi - lo < 1e-12:
        hi = lo + 1.0
    grid = [[" "] * width for _ in range(height)]
    for (_label, vs), mark in zip(clean.items(), marks):
        n = len(vs)
        for col in range(width):
            i = min(n - 1, round(col * (n - 1) / max(width - 1, 1))) if n > 1 else 0
            if n < width and col > (n - 1) * (width - 1) / max(n - 1, 1) + 0.5:
                break
            row = round((hi - tf(vs[i])) / (hi - lo) * (height - 1))
            grid[row][col] = mark
    def label(y):
        v = hi - y * (hi - lo) / (height - 1)
        return fmt(10**v if log else v)
    lines = []
    for y, row in enumerate(grid):
        axis = label(y) if y in (0, height // 2, height - 1) else ""
        lines.append(f"{axis:>10} │{''.join(row)}")
    n_max = max(len(v) for v in series.values())
    lines.append(f"{'':>10} └{'─' * width}")
    lines.append(f"{'':>10}  epoch 1{('epoch ' + str(n_max)).rjust(width - 7)}")
    legend = "   ".join(f"{m} {k}" for (k, _), m in zip(clean.items(), marks))
    lines.append(f"{'':>10}  {legend}" + ("   (log scale)" if log else ""))
    return "\n".join(lines)
