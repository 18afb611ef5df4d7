"""The resilience bench: resilient clients through a kill -9 restart of the chat server and
through a cut of every connection (bench/resilience), and what keeping the history on disk
costs fan-out throughput (bench/loadgen against the chat server with its embedded NATS
storing on disk, and in memory)."""

from __future__ import annotations

import shutil
import statistics
import tempfile
from typing import Any

from pykit.testing.ports import free_port

from .paths import OUT
from .processes import PROCS, log, run_json
from .scenarios import PAYLOAD, PUBLISHERS, loadgen, summarize
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
# The two servers of the durability comparison: the embedded NATS storing on disk (under
# -data-dir, as shipped), and in memory (-data-dir "", the later flag winning). Either way a
# text reaches members once JetStream has stored it.
DURABILITY_KINDS = {"durable": [], "memory": ["-data-dir", ""]}
# The offered deliveries/s of the durability sweep: 12% apart around where 200 clients
# saturate these 2 cores, so that one step more or less before saturation moves the peak by
# 12%, not by the fan-out ladder's 50%. The first step is well below saturation: the server's
# CPU time per delivery there is the second figure, steadier than a peak on a busy machine.
DURABILITY_LADDER = [50_000, 70_000, 80_000, 90_000, 100_000, 112_000, 125_000, 140_000,
                     157_000, 176_000, 197_000, 220_000]  # fmt: skip
# A run's size: clients in the room, runs of each fault, runs of each durability kind.
FULL = (200, 3, 3)
QUICK = (100, 1, 2)


def fault_run(chat: Chat, fault: str, clients: int, tag: str) -> dict[str, Any]:
    """One bench/resilience run: its own server (a fresh data directory), which it kills or whose
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
    """One fan-out sweep at n clients against the chat server with a data directory, kind
    saying whether its embedded NATS stores on disk or in memory."""
    data = tempfile.mkdtemp(prefix=f"{tag}-", dir=OUT)
    try:
        proc, addr = chat.start("polychat", tag, ["-data-dir", data, *DURABILITY_KINDS[kind]])
        try:
            extra = [
                "-label", kind,
                "-clients", str(n),
                "-publishers", str(PUBLISHERS),
                "-payload", str(PAYLOAD),
                "-rates", ",".join(f"{round(d / (n - 1), 2):g}" for d in DURABILITY_LADDER),
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
    steps = rep.get("steps") or []
    return {
        "kind": kind,
        "summary": summarize(steps),
        "cpu_us_per_delivery": cpu_per_delivery(steps[0]) if steps else None,
        "error": rep.get("error"),
    }


def cpu_per_delivery(step: dict[str, Any]) -> float | None:
    """The server's CPU time per delivered message in a step, in microseconds."""
    cpu = (step.get("server") or {}).get("cpu_percent")
    if not cpu or not step.get("deliveries_per_s"):
        return None
    return round(cpu / 100 / step["deliveries_per_s"] * 1e6, 3)


def compare_durability(n: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """On disk against in memory: the median peak deliveries/s and CPU time per delivery of
    each kind's runs, and the change durability makes to each (a negative throughput change,
    or a positive CPU change, is its cost)."""
    out: dict[str, Any] = {"clients": n, "runs": runs}
    for kind in DURABILITY_KINDS:
        peaks = [r["summary"]["peak_dps"] for r in runs if r["kind"] == kind]
        cpus = [r.get("cpu_us_per_delivery") for r in runs if r["kind"] == kind]
        good, good_cpu = [p for p in peaks if p], [c for c in cpus if c]
        out[kind] = {
            "peak_dps_runs": peaks,
            "peak_dps": statistics.median(good) if good else None,
            "cpu_us_per_delivery_runs": cpus,
            "cpu_us_per_delivery": statistics.median(good_cpu) if good_cpu else None,
        }
    durable, fast = out["durable"], out["memory"]

    def change(key: str) -> float | None:
        with_, without = durable[key], fast[key]
        return round(with_ / without - 1, 4) if with_ and without else None

    out["change"] = change("peak_dps")
    out["cpu_change"] = change("cpu_us_per_delivery")
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
