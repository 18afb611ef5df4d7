"""latency.png: p50 and p99 against offered load, a panel per room size."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .targets import TARGET_P99_MS

STYLES = {"polychat": ("tab:blue", "Polychat"), "baseline": ("tab:gray", "grpc-go baseline")}


def plot(res: dict[str, Any], path: Path) -> None:
    """Draw the fan-out results of res into path."""
    # matplotlib is in the bench extra only, and slow to import: loaded when a plot is drawn.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = res["clients"]
    cols = 2
    rows = math.ceil(len(ns) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 4 * rows), squeeze=False)
    by = {(r["server"], r["clients"]): r for r in res["fanout"]}
    for ax, n in zip(axes.flat, ns, strict=False):
        for kind in ("baseline", "polychat"):
            r = by.get((kind, n))
            if not r or not r["steps"]:
                continue
            color, label = STYLES[kind]
            x = [s["offered_deliveries_per_s"] / 1000 for s in r["steps"]]
            p50 = [max(s["latency"]["p50_ms"], 0.01) for s in r["steps"]]
            p99 = [max(s["latency"]["p99_ms"], 0.01) for s in r["steps"]]
            ax.plot(x, p50, "o-", color=color, label=f"{label} p50")
            ax.plot(x, p99, "s--", color=color, label=f"{label} p99")
        ax.axhline(TARGET_P99_MS, color="tab:red", linewidth=0.8, linestyle=":")
        ax.set_yscale("log")
        ax.set_title(f"{n:,} clients, one room")
        ax.set_xlabel("offered load (thousand deliveries/s)")
        ax.set_ylabel("latency (ms)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(ns) :]:
        ax.axis("off")
    fig.suptitle(f"Chat fan-out latency against load — {res['machine']['date']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
