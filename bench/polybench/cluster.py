"""The cluster bench: 1,000 clients in one room on one chat server (its embedded NATS) against
the same 1,000 spread over three chat servers on a nats-server, all on this machine's cores,
so that it measures what going through the broker costs, not scaling; and the cross-node
latency (sent on one chat server, received on another) at low load."""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

from pykit.testing.ports import free_port

from .paths import OUT
from .processes import PROCS, log, wait_port
from .scenarios import PAYLOAD, PUBLISHERS, fanout_result, loadgen, rates_for
from .servers import Chat

CLIENTS = 1000
NODES = 3
# The cross-node latency run: one sender on the first server, one receiver on the second.
LATENCY_RATE = 100.0


def _sweep(chat: Chat, addrs: list[str], pids: list[int], tag: str, quick: bool,
           timing: dict[str, float]) -> dict[str, Any]:  # fmt: skip
    """A fan-out sweep of CLIENTS clients spread over addrs; CPU is that of pids together."""
    extra = [
        "-label", tag,
        "-addr", ",".join(addrs),
        "-pid", ",".join(str(p) for p in pids),
        "-clients", str(CLIENTS),
        "-publishers", str(PUBLISHERS),
        "-payload", str(PAYLOAD),
        "-rates", ",".join(f"{r:g}" for r in rates_for(CLIENTS, quick)),
        "-warmup", f"{timing['warmup']}s",
        "-duration", f"{timing['duration']}s",
        "-drain", "2s",
        "-connect-timeout", "60s",
    ]  # fmt: skip
    # extra's -addr and -pid (all of them) come last, and win.
    rep = loadgen(chat.bindir, addrs[0], pids[0], extra, 220, OUT / f"cluster-{tag}.json")
    return {**fanout_result(tag, CLIENTS, rep), "servers": len(addrs)}


def _cross_node(chat: Chat, addrs: list[str], pids: list[int], timing: dict[str, float]) -> dict:
    """Latency of texts sent on addrs[0] and received on addrs[1], at LATENCY_RATE."""
    extra = [
        "-label", "cross-node",
        "-addr", ",".join(addrs[:2]),
        "-pid", ",".join(str(p) for p in pids),
        "-clients", "2", "-conns", "2", "-publishers", "1",
        "-payload", str(PAYLOAD),
        "-rates", f"{LATENCY_RATE:g}",
        "-warmup", f"{timing['warmup']}s",
        "-duration", f"{max(timing['duration'], 3.0)}s",
        "-drain", "2s",
    ]  # fmt: skip
    rep = loadgen(chat.bindir, addrs[0], pids[0], extra, 60, OUT / "cluster-cross-node.json")
    steps = rep.get("steps") or []
    if not steps:
        return {"error": rep.get("error") or "no step"}
    lat = steps[0]["latency"]
    return {"rate": LATENCY_RATE, "p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"],
            "count": lat["count"]}  # fmt: skip


def cluster(chat: Chat, nats_server: str, quick: bool, timing: dict[str, float]) -> dict:
    """One chat server against three on one nats-server, and the cross-node latency."""
    out: dict[str, Any] = {}
    log(f"cluster: {CLIENTS} clients on 1 chat server")
    proc, addr = chat.start("polychat", "cluster-1")
    try:
        out["one"] = _sweep(chat, [addr], [proc.pid], "1-server", quick, timing)
    finally:
        PROCS.stop(proc)

    store = tempfile.mkdtemp(prefix="cluster-nats-", dir=OUT)
    port = free_port()
    nats = PROCS.start([nats_server, "-js", "-sd", store, "-a", "127.0.0.1", "-p", str(port)],
                       OUT / "cluster-nats.log")  # fmt: skip
    nodes = []
    try:
        wait_port(port, nats)
        url = f"nats://127.0.0.1:{port}"
        for i in range(NODES):
            nodes.append(chat.start("polychat", f"cluster-3-{i}",
                                    ["-nats-url", url, "-metrics-addr", ""]))  # fmt: skip
        addrs = [a for _, a in nodes]
        pids = [nats.pid] + [p.pid for p, _ in nodes]
        log(f"cluster: {CLIENTS} clients on {NODES} chat servers and a nats-server")
        out["three"] = _sweep(chat, addrs, pids, f"{NODES}-servers", quick, timing)
        log("cluster: cross-node latency")
        out["cross_node"] = _cross_node(chat, addrs, pids, timing)
    finally:
        for p, _ in nodes:
            PROCS.stop(p)
        PROCS.stop(nats)
        shutil.rmtree(store, ignore_errors=True)
    return out
