"""Two chat server builds alternated under the same loadgen sweeps, medians of the rounds:
how a change moves the one-machine figures (`bench/compare.py`)."""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from pykit.testing.ports import free_port

from .paths import OUT
from .processes import PROCS, log, stop_all_on_signals, wait_port
from .scenarios import PAYLOAD, PUBLISHERS, loadgen, rates_for, summarize
from .servers import Chat, build


def cpu_us(step: dict[str, Any] | None) -> float | None:
    """The servers' CPU time per delivered message in a step, in microseconds."""
    if not step or not step.get("deliveries_per_s"):
        return None
    cpu = (step.get("server") or {}).get("cpu_percent")
    return round(cpu / 100 / step["deliveries_per_s"] * 1e6, 2) if cpu else None


def one_run(chat: Chat, binary: str, n: int, rates: list[float], fixed: bool, tag: str) -> dict:
    """One sweep at n clients against binary with a fresh data directory (the default)."""
    data = tempfile.mkdtemp(prefix=f"{tag}-", dir=OUT)
    port = free_port()
    args = [binary, "-addr", f"127.0.0.1:{port}", *chat.flags, "-data-dir", data]
    proc = PROCS.start(args, OUT / f"{tag}.log")
    try:
        wait_port(port, proc)
        extra = [
            "-label", tag, "-clients", str(n), "-publishers", str(min(PUBLISHERS, n)),
            "-payload", str(PAYLOAD), "-rates", ",".join(f"{r:g}" for r in rates),
            "-warmup", "0.5s", "-duration", "2s", "-drain", "2s", "-connect-timeout", "45s",
            *(["-no-stop"] if fixed else []),
        ]  # fmt: skip
        rep = loadgen(chat.bindir, f"127.0.0.1:{port}", proc.pid, extra, 300, OUT / f"{tag}.json")
    finally:
        PROCS.stop(proc)
        shutil.rmtree(data, ignore_errors=True)
    steps = rep.get("steps") or []
    return {"steps": steps, "summary": summarize(steps), "error": rep.get("error")}


def med(values: list[float | None]) -> float | None:
    good = [v for v in values if v is not None]
    return statistics.median(good) if good else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Alternate two chat server builds.")
    parser.add_argument("--build", action="append", required=True, metavar="NAME=BINARY")
    parser.add_argument("--clients", default="10,1000", help="room sizes, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--fixed", default="", help="offered deliveries/s run without stopping, comma-separated"
    )
    args = parser.parse_args(argv)
    stop_all_on_signals()
    OUT.mkdir(parents=True, exist_ok=True)
    builds = dict(b.split("=", 1) for b in args.build)
    bindir = OUT / "bin"
    build(bindir)
    chat = Chat(bindir)
    sizes = [int(n) for n in args.clients.split(",")]
    fixed = [float(r) for r in args.fixed.split(",") if r]
    runs: list[dict[str, Any]] = []
    for rnd in range(args.rounds):
        for n in sizes:
            rates = [round(o / (n - 1), 2) for o in fixed] if fixed else rates_for(n, False)
            for name, binary in builds.items():
                log(f"compare: round {rnd + 1}, {n} clients, {name}")
                r = one_run(chat, str(Path(binary).resolve()), n, rates, bool(fixed), f"cmp-{name}")
                runs.append({"build": name, "clients": n, **r})
    print("| clients | build | peak deliveries/s | runs | CPU µs/delivery, first step | "
          "p99 ms, first step |")  # fmt: skip
    print("|---:|---|---:|---|---:|---:|")
    for n in sizes:
        for name in builds:
            rs = [r for r in runs if r["build"] == name and r["clients"] == n]
            peaks = [r["summary"]["peak_dps"] for r in rs]
            first = [r["steps"][0] if r["steps"] else None for r in rs]
            p99 = med([s["latency"]["p99_ms"] if s else None for s in first])
            print(f"| {n:,} | {name} | {med(peaks)} | {peaks} | {med([cpu_us(s) for s in first])} "
                  f"| {p99} |")  # fmt: skip
    return 0
