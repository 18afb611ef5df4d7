"""The chat benches, each a run of bench/loadgen against the chat server and the baseline:
fan-out sweeps, isolation from a client that never reads, and memory per idle client."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .paths import OUT
from .processes import PROCS, log, run_json
from .servers import Chat

PUBLISHERS = 10
PAYLOAD = 64
# Offered deliveries per second, step by step; the publish rate of a step is this divided by
# the number of receivers (N - 1).
LADDER = [25_000, 50_000, 100_000, 150_000, 225_000, 300_000, 400_000, 550_000, 750_000]
# The longest a fan-out join phase may take before the room size is skipped.
JOIN_BUDGET_S = 75.0
# Isolation runs at this room size.
ISOLATION_CLIENTS = 1000


def loadgen(
    bindir: Path, addr: str, pid: int, extra: list[str], timeout: float, raw: Path
) -> dict[str, Any]:
    """One loadgen run against the server at addr (process pid, whose CPU and RSS it reads)."""
    args = [str(bindir / "loadgen"), "-addr", addr, "-pid", str(pid), *extra]
    return run_json(args, timeout, raw)


def rates_for(n: int, quick: bool) -> list[float]:
    """The publish rates of the sweep at n clients: the ladder's offered deliveries/s spread
    over n - 1 receivers."""
    ladder = LADDER[1:7:2] if quick else LADDER
    return [round(offered / (n - 1), 2) for offered in ladder]


def summarize(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Peak: the most deliveries/s of any step. Sustained: the best step within target (no
    drops or disconnects, >= 90% of offered delivered, p99 <= 50 ms)."""
    if not steps:
        return {"peak_dps": None, "sustained_dps": None, "sustained_step": None}
    peak = max(steps, key=lambda s: s["deliveries_per_s"])
    ok = [s for s in steps if s["within_target"]]
    best = max(ok, key=lambda s: s["deliveries_per_s"]) if ok else None
    return {
        "peak_dps": peak["deliveries_per_s"],
        "peak_p99_ms": peak["latency"]["p99_ms"],
        "sustained_dps": best["deliveries_per_s"] if best else None,
        "sustained_step": best,
        "saturated_at": next(
            (
                {"offered": s["offered_deliveries_per_s"], "why": s["saturated_why"]}
                for s in steps
                if s["saturated"]
            ),
            None,
        ),
        "drops_below_saturation": sum(max(0, s["drops"]) for s in steps if not s["saturated"]),
    }


def join_estimate(results: list[dict[str, Any]], kind: str, n: int) -> float | None:
    """Seconds the join phase of n clients should take, from the largest room so far: a server
    that tells every member of everyone after it sends N(N-1)/2 join notices; one that sums
    up the joins of a big room (each member told of the joins before the room grew big, then
    summaries: far fewer than N(N-1)/2) grows linearly."""
    done = [r for r in results if r["server"] == kind and r.get("connect")]
    if not done:
        return None
    last = max(done, key=lambda r: r["clients"])
    c = last["connect"]
    m = last["clients"]
    if m < 100 or c["seconds"] <= 0:
        return None
    if c["notices"] < m * (m - 1) / 2 / 4:
        # Joins summed up: far fewer notices than one per pair of members.
        return 1.5 * c["seconds"] * n / m
    # Measured: the rate falls as the room grows (about 1.5x slower from 1,000 to 5,000).
    return 1.5 * n * (n - 1) / 2 / (c["notices"] / c["seconds"])


def fanout_result(kind: str, n: int, rep: dict[str, Any]) -> dict[str, Any]:
    """One room size's entry in the results, from its loadgen report."""
    steps = rep.get("steps") or []
    return {
        "server": kind,
        "clients": n,
        "conns": rep.get("conns"),
        "publishers": rep.get("publishers"),
        "connect": rep.get("connect"),
        "steps": steps,
        "summary": summarize(steps),
        "error": rep.get("error"),
    }


def fanout(
    chat: Chat, ns: list[int], quick: bool, timing: dict[str, float]
) -> list[dict[str, Any]]:
    """A sweep per room size in ns, baseline then Polychat, each on a fresh server."""
    results: list[dict[str, Any]] = []
    for n in ns:
        for kind in ("baseline", "polychat"):
            est = join_estimate(results, kind, n) if kind == "polychat" else None
            if est is not None and est > JOIN_BUDGET_S:
                why = (
                    f"skipped: its join phase ({n * (n - 1) // 2:,} join notices) would take "
                    f"about {est:.0f} s at this run's rate, over the {JOIN_BUDGET_S:.0f} s budget"
                )
                log(f"fan-out: {kind}, {n} clients {why}")
                results.append(fanout_result(kind, n, {"error": why}))
                continue
            log(f"fan-out: {kind}, {n} clients")
            proc, addr = chat.start(kind, f"fanout-{n}")
            connect_timeout = JOIN_BUDGET_S + 15 if n >= 5000 else 45
            try:
                extra = [
                    "-label", kind,
                    "-clients", str(n),
                    "-publishers", str(min(PUBLISHERS, n)),
                    "-payload", str(PAYLOAD),
                    "-rates", ",".join(f"{r:g}" for r in rates_for(n, quick)),
                    "-warmup", f"{timing['warmup']}s",
                    "-duration", f"{timing['duration']}s",
                    "-drain", "2s",
                    "-connect-timeout", f"{connect_timeout}s",
                ]  # fmt: skip
                rep = loadgen(
                    chat.bindir, addr, proc.pid, extra, connect_timeout + 150,
                    OUT / f"fanout-{n}-{kind}.json",
                )  # fmt: skip
            finally:
                PROCS.stop(proc)
            results.append(fanout_result(kind, n, rep))
    return results


def isolation_offered(fanout_results: list[dict[str, Any]]) -> float:
    """The isolation load: half of Polychat's peak at its room size, so below saturation and
    fast enough to fill the stuck client's window and queue within seconds; the ladder's
    second step when there is no peak."""
    by = {(r["server"], r["clients"]): r for r in fanout_results}
    peak = (by.get(("polychat", ISOLATION_CLIENTS)) or {}).get("summary", {}).get("peak_dps")
    return max(round(0.5 * peak, -3), LADDER[1]) if peak else LADDER[1]


def _mean_of_steps(run: dict[str, Any]) -> tuple[float, float] | None:
    """A run's mean deliveries/s and p99 over its steps; None if it has none."""
    steps = run["steps"]
    if not steps:
        return None
    dps = sum(s["deliveries_per_s"] for s in steps) / len(steps)
    p99 = sum(s["latency"]["p99_ms"] for s in steps) / len(steps)
    return dps, p99


def compare_isolation(n: int, offered: float, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The isolation result from its three runs (without, with, without the stuck client):
    the two without are averaged, and the run with is set against them."""
    a1, b, a2 = (_mean_of_steps(r) for r in runs)
    out: dict[str, Any] = {"clients": n, "offered_dps": offered, "runs": runs}
    if a1 is None or b is None or a2 is None:
        out["error"] = "a run did not finish"
        return out
    base_dps = (a1[0] + a2[0]) / 2
    base_p99 = (a1[1] + a2[1]) / 2
    out.update(
        {
            "without_dps": round(base_dps),
            "without_p99_ms": round(base_p99, 3),
            "with_dps": round(b[0]),
            "with_p99_ms": round(b[1], 3),
            "dps_change": round(b[0] / base_dps - 1, 4),
            "p99_change": round(b[1] / base_p99 - 1, 4) if base_p99 else None,
            "stuck_code": (runs[1]["report"] or {}).get("code"),
            "stuck_disconnected": bool((runs[1]["report"] or {}).get("disconnected")),
        }
    )
    return out


def steady_load(n: int, rate: float, timing: dict[str, float]) -> list[str]:
    """loadgen's flags for two steps of n clients at one publish rate, run whatever happens."""
    return [
        "-label", "polychat",
        "-clients", str(n),
        "-publishers", str(PUBLISHERS),
        "-payload", str(PAYLOAD),
        "-rates", f"{rate:g},{rate:g}",
        "-no-stop",
        "-warmup", f"{timing['warmup']}s",
        "-duration", f"{timing['duration']}s",
        "-connect-timeout", "45s",
    ]  # fmt: skip


def isolation(chat: Chat, n: int, offered: float, timing: dict[str, float]) -> dict[str, Any]:
    """The same load with and without a client that never reads, run as A, B, A."""
    rate = round(offered / (n - 1), 2)
    runs = []
    # The stuck client's drop is seen by its leave notice, which a big room would sum up.
    flags = ["-big-room", "0"] if "big-room" in chat.have else []
    for i, stuck in enumerate((False, True, False)):
        log(f"isolation: {n} clients, offered {offered:.0f}/s, stuck client: {stuck}")
        proc, addr = chat.start("polychat", f"isolation-{i}", flags)
        try:
            extra = steady_load(n, rate, timing)
            if stuck:
                extra += ["-stuck", "-stuck-wait", "30s"]
            rep = loadgen(
                chat.bindir, addr, proc.pid, extra, 180, OUT / f"isolation-{i}-stuck{stuck}.json"
            )
        finally:
            PROCS.stop(proc)
        steps = rep.get("steps") or []
        runs.append(
            {"stuck": stuck, "steps": steps, "report": rep.get("stuck"), "error": rep.get("error")}
        )
    return compare_isolation(n, offered, runs)


def idle_run(
    chat: Chat, kind: str, n: int, conns: int, join_timeout: float, tag: str
) -> dict[str, Any]:
    """One loadgen memory run: n idle clients join rooms of 100 over conns connections on a
    fresh server of kind; its report (RSS before and after, per client, join time)."""
    proc, addr = chat.start(kind, tag)
    time.sleep(0.5)  # let the server settle before the "before" sample
    try:
        extra = [
            "-label", kind,
            "-idle",
            "-clients", str(n),
            "-conns", str(conns),
            "-room-size", "100",
            "-connect-timeout", f"{join_timeout:g}s",
            "-hold", "2s",
        ]  # fmt: skip
        return loadgen(chat.bindir, addr, proc.pid, extra, join_timeout + 60, OUT / f"{tag}.json")
    finally:
        PROCS.stop(proc)


def memory(chat: Chat, counts: list[int]) -> list[dict[str, Any]]:
    """Server RSS before and after counts idle clients join rooms of 100, both servers."""
    results = []
    for n in counts:
        for kind in ("baseline", "polychat"):
            log(f"memory: {kind}, {n} idle clients")
            rep = idle_run(chat, kind, n, max(1, n // 100), 90, f"memory-{n}-{kind}")
            results.append(
                {
                    "server": kind,
                    "clients": n,
                    "memory": rep.get("memory"),
                    "error": rep.get("error"),
                }
            )
    return results


# The one-server scale run: this many idle members (Polychat alone), in rooms of 100, over
# connections of SCALE_STREAMS_PER_CONN streams each (100 connections: far from running out of
# ephemeral ports on one loopback address), and the longest the joins may take.
SCALE_MEMBERS = 100_000
SCALE_STREAMS_PER_CONN = 1000
SCALE_JOIN_TIMEOUT_S = 300


def scale(chat: Chat, members: int) -> dict[str, Any]:
    """Polychat's RSS and join time with members idle clients joined in rooms of 100 (the
    loadgen memory mode): RSS after, per member, and how long the joins took."""
    log(f"scale: polychat, {members} idle members")
    conns = max(1, members // SCALE_STREAMS_PER_CONN)
    rep = idle_run(chat, "polychat", members, conns, SCALE_JOIN_TIMEOUT_S, f"scale-{members}")
    return {
        "server": "polychat",
        "members": members,
        "streams_per_conn": SCALE_STREAMS_PER_CONN,
        "memory": rep.get("memory"),
        "error": rep.get("error"),
    }


# Overload runs at this room size, at this multiple of Polychat's peak there.
OVERLOAD_CLIENTS = 1000
OVERLOAD_FACTOR = 1.5


def overload(chat: Chat, fanout_results: list[dict[str, Any]], timing: dict[str, float]) -> dict:
    """Polychat at OVERLOAD_FACTOR x its peak offered load at OVERLOAD_CLIENTS: how many
    receivers were disconnected, and the deliveries/s it kept against the peak."""
    n = OVERLOAD_CLIENTS
    by = {(r["server"], r["clients"]): r for r in fanout_results}
    peak = (by.get(("polychat", n)) or {}).get("summary", {}).get("peak_dps")
    if not peak:
        return {"clients": n, "error": f"no fan-out peak at {n} clients to overload"}
    offered = OVERLOAD_FACTOR * peak
    rate = round(offered / (n - 1), 2)
    log(f"overload: {n} clients, offered {offered:.0f}/s ({OVERLOAD_FACTOR}x the peak)")
    proc, addr = chat.start("polychat", "overload")
    try:
        rep = loadgen(
            chat.bindir, addr, proc.pid, steady_load(n, rate, timing), 180, OUT / "overload.json"
        )
    finally:
        PROCS.stop(proc)
    return overload_result(n, offered, peak, rep)


def overload_result(n: int, offered: float, peak: float, rep: dict[str, Any]) -> dict[str, Any]:
    """The overload section from the loadgen report rep of its windows: receivers cut off in
    any window (each window counts those cut off during it), the mean deliveries/s against
    peak, the last window's p99."""
    steps = rep.get("steps") or []
    out: dict[str, Any] = {"clients": n, "offered_dps": round(offered), "peak_dps": peak,
                           "steps": steps, "error": rep.get("error")}  # fmt: skip
    if steps:
        out["disconnected"] = sum(sum(s["disconnects"].values()) for s in steps)
        out["dps"] = round(sum(s["deliveries_per_s"] for s in steps) / len(steps))
        out["of_peak"] = round(out["dps"] / peak, 3)
        out["p99_ms"] = steps[-1]["latency"]["p99_ms"]
    return out


LATENCY_REPEATS = 3
PINGPONG_HOPS = 2000


def median(xs: list[float]) -> float:
    """The median of xs (not empty)."""
    s = sorted(xs)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def latency(chat: Chat, repeats: int = LATENCY_REPEATS) -> dict[str, Any]:
    """One message in flight (bench/loadgen -pingpong) through the baseline and Polychat, in
    turn, repeats times each on a fresh server: the one-way p50 and p99 of every run, their
    medians, and Polychat's median p50 against the baseline's."""
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "polychat": []}
    for i in range(repeats):
        for kind in ("baseline", "polychat"):
            log(f"latency: {kind}, ping-pong run {i + 1} of {repeats}")
            proc, addr = chat.start(kind, f"pingpong-{i}")
            try:
                extra = ["-label", kind, "-pingpong", str(PINGPONG_HOPS),
                         "-payload", str(PAYLOAD), "-connect-timeout", "20s"]  # fmt: skip
                rep = loadgen(chat.bindir, addr, proc.pid, extra, 120,
                              OUT / f"pingpong-{i}-{kind}.json")  # fmt: skip
            finally:
                PROCS.stop(proc)
            pp = rep.get("pingpong")
            if pp:
                runs[kind].append({"p50_ms": pp["one_way"]["p50_ms"],
                                   "p99_ms": pp["one_way"]["p99_ms"]})  # fmt: skip
    out: dict[str, Any] = {"repeats": repeats, "hops": PINGPONG_HOPS, "runs": runs}
    for kind, rs in runs.items():
        if rs:
            p50s = [r["p50_ms"] for r in rs]
            out[kind] = {"p50_ms": median(p50s), "p50_spread_ms": [min(p50s), max(p50s)],
                         "p99_ms": median([r["p99_ms"] for r in rs])}  # fmt: skip
    if out.get("baseline") and out.get("polychat") and out["baseline"]["p50_ms"] > 0:
        out["p50_ratio"] = round(out["polychat"]["p50_ms"] / out["baseline"]["p50_ms"], 2)
    return out
