"""The command line of bench/run.py, and the order a run goes in."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from . import cluster, ghz, resilience, scenarios
from .machine import load_average, machine
from .paths import OUT, RESULTS, ROOT
from .plot import plot
from .processes import log, stop_all_on_signals
from .report import markdown
from .servers import Chat, build
from .targets import targets

# A run's size: room sizes, loadgen step timing (s), idle client counts, ghz seconds per call.
FULL = ([10, 100, 1000, 5000], {"warmup": 0.5, "duration": 2.0}, [1000, 10000], 5)
QUICK = ([10, 100, 1000], {"warmup": 0.5, "duration": 1.5}, [1000], 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Polychat's benchmarks.")
    parser.add_argument("--quick", action="store_true", help="a smaller sweep, as a sanity check")
    parser.add_argument("--ghz", default=str(ROOT / ".bin" / "ghz"), help="ghz binary")
    parser.add_argument("--command", default=None, help="the command shown in the report")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where results go")
    args = parser.parse_args(argv)
    stop_all_on_signals()

    started = time.monotonic()
    OUT.mkdir(parents=True, exist_ok=True)
    args.results.mkdir(parents=True, exist_ok=True)
    bindir = OUT / "bin"
    log("building chat-server, baseline and loadgen")
    build(bindir)
    chat = Chat(bindir)
    for note in chat.notes:
        log(note)
    command = args.command or "python bench/run.py " + shlex.join(sys.argv[1:])

    ns, timing, mem_counts, py_secs = QUICK if args.quick else FULL
    res: dict[str, Any] = {
        "machine": machine(command),
        "quick": args.quick,
        "clients": ns,
        "publishers": scenarios.PUBLISHERS,
        "payload_bytes": scenarios.PAYLOAD,
        "timing_s": timing,
        "chat_server_command": chat.server_command("polychat"),
        "baseline_command": chat.server_command("baseline"),
        "notes": list(chat.notes),
    }
    res["fanout"] = scenarios.fanout(chat, ns, args.quick, timing)
    offered = scenarios.isolation_offered(res["fanout"])
    res["isolation"] = scenarios.isolation(chat, scenarios.ISOLATION_CLIENTS, offered, timing)
    res["overload"] = scenarios.overload(chat, res["fanout"], timing)
    res["latency"] = scenarios.latency(chat)
    res["memory"] = scenarios.memory(chat, mem_counts)
    if not args.quick:
        res["scale"] = scenarios.scale(chat, scenarios.SCALE_MEMBERS)
    res["resilience"] = resilience.resilience(chat, args.quick)
    res["cluster"] = cluster.cluster(chat, str(bindir / "nats-server"), args.quick, timing)
    if Path(args.ghz).exists():
        res["python"] = ghz.python_services(args.ghz, py_secs)
    else:
        res["python"] = {}
        res["notes"].append(f"ghz not found at {args.ghz}: Python services not measured")

    res["machine"]["load_average_end"] = load_average()
    res["elapsed_s"] = round(time.monotonic() - started, 1)
    res["targets"] = targets(res)

    (args.results / "latest.json").write_text(json.dumps(res, indent=2, sort_keys=True) + "\n")
    (args.results / "latest.md").write_text(markdown(res))
    plot(res, args.results / "latency.png")
    log(f"done in {res['elapsed_s']:.0f}s: {args.results / 'latest.md'}")
    print(markdown(res))
    return 0
