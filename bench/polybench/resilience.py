"""The resilience bench: resilient clients through a kill -9 restart of the chat server and
through a cut of every connection (bench/resilience), and what durable-before-visible costs
fan-out throughput (bench/loadgen against the chat server with chat.db, with and without
-deliver-before-commit)."""

from __future__ import annotations

import shutil
import statistics
import tempfile
from typing import Any

from pykit.testing.ports import free_port

from .paths import OUT
from .processes import PROCS, log, run_json
from .scenarios import PAYLOAD, PUBLISHERS, loadgen, rates_for, summarize
from .servers import Chat

SENDERS = 5
RATE_PER_SENDER = 5.0
# The restarted server keeps enough history for every client to resume from where it was:
# what is measured is resuming, not the history bound (50 by default), which a slow client
# would hit after an outage as long as 50 messages.
HISTORY = ["-history", "1000", "-history-bytes", str(1 << 20)]
FAULTS = ("restart", "cut")
# The durability cost is measured at this room size, where each message reaches fewer
# members than in the 1,000-client sweep, so a per-message cost weighs more.
DURABILITY_CLIENTS = 200
# The two servers of the durability comparison: durable before visible (as shipped), and
# the benchmark-only flag that delivers before the commit.
DURABILITY_KINDS = {"durable": [], "deliver-before-commit": ["-deliver-before-commit"]}
# A run's size: clients in the room, runs of each fault, runs of each durability kind.
FULL = (200, 3, 3)
QUICK = (100, 1, 2)


def fault_run(chat: Chat, fault: str, clients: int, tag: str) -> dict[str, Any]:
    """One bench/resilience run: its own server (fresh chat.db), which it kills or whose
    connections it cuts mid-run."""
    data = tempfile.mkdtemp(prefix=f"{tag}-", dir=OUT)
    addr = f"127.0.0.1:{free_port()}"
    try:
        args = [
            str(chat.bindir / "resilience"),
            "-mode", fault,
            "-addr", addr,
            "-clients", str(clients),
            "-senders", str(SENDERS),
            "-rate", f"{RATE_PER_SENDER:g}",
            "-server-log", str(OUT / f"{tag}.polychat.log"),
            "-label", fault,
            "--", *chat.server_args(addr, ["-data-dir", data, "-metrics-addr", "", *HISTORY]),
        ]  # fmt: skip
        return run_json(args, 240, OUT / f"{tag}.json")
    finally:
        shutil.rmtree(data, ignore_errors=True)


def summarize_faults(fault: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One fault's result from its runs: lost, duplicates and resends added up over the runs,
    resume times as medians of the runs' p50, p99 and max."""
    good = [r for r in runs if not r.get("error")]
    out: dict[str, Any] = {
        "fault": fault,
        "runs": len(runs),
        "errors": [r["error"] for r in runs if r.get("error")],
    }
    if not good:
        return out
    for key in ("sent", "resent", "expected_deliveries", "delivered", "lost", "duplicates"):
        out[key] = sum(r.get(key, 0) for r in good)
    out["repeats_hidden"] = sum(r.get("repeats_hidden", 0) for r in good)
    for key in ("back", "resumed", "rejoined"):
        out[key] = sum(r["resume"][key] for r in good)
    for key in ("p50_ms", "p99_ms", "max_ms"):
        out[f"resume_{key}"] = statistics.median(r["resume"][key] for r in good)
    notices: dict[str, int] = {}
    for r in good:
        for k, v in (r.get("notices") or {}).items():
            notices[k] = notices.get(k, 0) + v
    out["notices"] = notices
    return out


def faults(chat: Chat, clients: int, repeats: int) -> list[dict[str, Any]]:
    """Each fault, repeats times."""
    out = []
    for fault in FAULTS:
        runs = []
        for i in range(repeats):
            log(f"resilience: {fault}, {clients} clients, {SENDERS} senders (run {i + 1})")
            runs.append(fault_run(chat, fault, clients, f"resilience-{fault}-{i}"))
        out.append({**summarize_faults(fault, runs), "clients": clients, "raw": runs})
    return out


def durability_run(chat: Chat, kind: str, n: int, tag: str) -> dict[str, Any]:
    """One fan-out sweep at n clients against the chat server with chat.db, kind saying
    whether it waits for the commit before delivering."""
    data = tempfile.mkdtemp(prefix=f"{tag}-", dir=OUT)
    try:
        proc, addr = chat.start("polychat", tag, ["-data-dir", data, *DURABILITY_KINDS[kind]])
        try:
            extra = [
                "-label", kind,
                "-clients", str(n),
                "-publishers", str(PUBLISHERS),
                "-payload", str(PAYLOAD),
                # The whole ladder, quick or not: its finer steps place the peak closer.
                "-rates", ",".join(f"{r:g}" for r in rates_for(n, quick=False)),
                "-warmup", "0.5s",
                "-duration", "1.5s",
                "-drain", "2s",
                "-connect-timeout", "45s",
            ]  # fmt: skip
            rep = loadgen(chat.bindir, addr, proc.pid, extra, 180, OUT / f"{tag}.json")
        finally:
            PROCS.stop(proc)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return {"kind": kind, "summary": summarize(rep.get("steps") or []), "error": rep.get("error")}


def compare_durability(n: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Durable against deliver-before-commit: the median peak deliveries/s of each kind's
    runs, and the change durability makes (negative: it costs)."""
    out: dict[str, Any] = {"clients": n, "runs": runs}
    for kind in DURABILITY_KINDS:
        peaks = [r["summary"]["peak_dps"] for r in runs if r["kind"] == kind]
        good = [p for p in peaks if p]
        out[kind] = {
            "peak_dps_runs": peaks,
            "peak_dps": statistics.median(good) if good else None,
        }
    with_, without = out["durable"]["peak_dps"], out["deliver-before-commit"]["peak_dps"]
    out["change"] = round(with_ / without - 1, 4) if with_ and without else None
    return out


def durability(chat: Chat, n: int, repeats: int) -> dict[str, Any]:
    """The two kinds alternated, repeats times each, so that the machine's drift falls on
    both alike."""
    runs = []
    for i in range(repeats):
        for kind in DURABILITY_KINDS:
            log(f"durability: {kind}, {n} clients (run {i + 1})")
            runs.append(durability_run(chat, kind, n, f"durability-{kind}-{i}"))
    return compare_durability(n, runs)


def resilience(chat: Chat, quick: bool) -> dict[str, Any]:
    """The whole section: both faults, then the durability cost."""
    clients, fault_repeats, durability_repeats = QUICK if quick else FULL
    return {
        "clients": clients,
        "senders": SENDERS,
        "rate_per_sender": RATE_PER_SENDER,
        "faults": faults(chat, clients, fault_repeats),
        "durability": durability(chat, DURABILITY_CLIENTS, durability_repeats),
    }
