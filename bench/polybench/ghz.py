"""The Python services bench: ghz against the real pyservices and against
bench/pybaseline.py, bare grpc.aio servers with the same RPCs."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from pykit.testing.ports import free_port

from .paths import OUT, PY, ROOT
from .processes import PROCS, log, run_json, wait_port

CONCURRENCY = 50
# The Python servers are single-threaded: each runs on CPU 0 and ghz on CPU 1, so that neither
# takes the other's core and runs repeat within a few percent instead of ±10%.
SERVER_CPUS, CLIENT_CPUS = ({0}, {1}) if (os.cpu_count() or 1) >= 2 else (None, None)
# Ratios are the median of the rounds' paired ratios (each round's server against the
# baseline's run of the same round), so that five rounds show the spread too.
PY_ROUNDS = 5
# pyservices as the chat server is measured (request log off: warning), and as it runs by
# default, with one request log line per call (info). Both have metrics on.
PY_KINDS = {
    "pybaseline": None,
    "pyservices": "warning",
    "pyservices-info": "info",
}
STREAM_REQUEST = {"min": 1, "max": 100, "count": 10, "interval": "0.01s"}
GET_USER = "polychat.user.v1.UserService.GetUser"
STREAM_RANDOM = "polychat.random.v1.RandomService.StreamRandomNumbers"
# Each ratio: a server's mean RPS for a call over pybaseline's.
RATIOS = (
    ("pyservices", "unary", "unary_ratio"),
    ("pyservices", "stream", "stream_ratio"),
    ("pyservices-info", "unary", "unary_info_ratio"),
)


def protoset() -> Path:
    """ghz v0.93.0 cannot resolve methods through grpcio-reflection ("Symbol not found"), so
    it is given the compiled descriptors of the two services instead."""
    path = OUT / "pyservices.protoset"
    subprocess.run(
        [
            PY, "-m", "grpc_tools.protoc", "-I", "proto", "--include_imports",
            f"--descriptor_set_out={path}",
            "proto/polychat/user/v1/user.proto", "proto/polychat/random/v1/random.proto",
        ],
        cwd=ROOT, check=True,
    )  # fmt: skip
    return path


def summarize_ghz(rep: dict[str, Any]) -> dict[str, Any]:
    """The numbers the report keeps from one ghz JSON report (latencies in ms)."""
    if rep.get("error") and "rps" not in rep:
        return {"error": rep["error"]}
    lat = {d["percentage"]: d["latency"] / 1e6 for d in rep.get("latencyDistribution") or []}
    codes = rep.get("statusCodeDistribution") or {}
    return {
        "rps": round(rep.get("rps", 0.0), 1),
        "count": rep.get("count"),
        "ok": codes.get("OK", 0),
        "errors": {k: v for k, v in codes.items() if k != "OK"},
        "avg_ms": round(rep.get("average", 0) / 1e6, 3),
        "p50_ms": round(lat.get(50, 0.0), 3),
        "p99_ms": round(lat.get(99, 0.0), 3),
    }


def ghz(
    ghz_bin: str,
    addr: str,
    call: str,
    data: dict[str, Any],
    secs: float,
    tag: str,
    cpus: set[int] | None,
) -> dict[str, Any]:
    """One ghz run of call against addr for secs seconds; its JSON goes to
    bench/out/ghz-<tag>.json."""
    args = [
        ghz_bin, "--insecure", "--protoset", str(protoset()), "--call", call,
        "-d", json.dumps(data),
        # wait: the calls in flight when the time is up finish and count. ghz's default
        # (close) cuts them off and counts each as an Unavailable error, ~100 a run.
        "-c", str(CONCURRENCY), "-z", f"{secs}s", "--duration-stop", "wait",
        "--cpus", str(len(cpus) if cpus else 2),
        "-O", "json", addr,
    ]  # fmt: skip
    return summarize_ghz(run_json(args, secs + 60, OUT / f"ghz-{tag}.json", cpus))


def create_user(addr: str) -> int:
    """A user for GetUser to read, created through the service at addr."""
    import grpc
    from polychat.user.v1 import user_pb2, user_pb2_grpc

    with grpc.insecure_channel(addr) as ch:
        stub = user_pb2_grpc.UserServiceStub(ch)
        email = f"bench-{os.getpid()}-{time.time_ns()}@example.com"
        req = user_pb2.CreateUserRequest(name="Bench User", email=email, age=30)
        return stub.CreateUser(req, timeout=10).user_id


def mean_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from a call's rounds: mean RPS and latencies, errors added up."""
    good = [r for r in runs if "rps" in r]
    if not good:
        return runs[-1] if runs else {"error": "not run"}
    out: dict[str, Any] = {
        key: round(sum(r[key] for r in good) / len(good), 3)
        for key in ("rps", "avg_ms", "p50_ms", "p99_ms")
    }
    out["rps"] = round(out["rps"], 1)
    out["rounds_rps"] = [r["rps"] for r in good]
    out["count"] = sum(r["count"] or 0 for r in good)
    out["ok"] = sum(r["ok"] for r in good)
    errors: dict[str, int] = {}
    for r in good:
        for code, n in r["errors"].items():
            errors[code] = errors.get(code, 0) + n
    out["errors"] = errors
    return out


Runs = dict[str, dict[str, list[dict[str, Any]]]]  # each server's rounds, by call


def paired_ratios(runs: Runs, kind: str, call: str) -> list[float]:
    """kind's RPS for call over pybaseline's in each round where both ran, to 3 places:
    the two ran one after the other, on the machine as it was then."""
    real, base = runs.get(kind, {}).get(call, []), runs.get("pybaseline", {}).get(call, [])
    return [
        round(r["rps"] / b["rps"], 3)
        for r, b in zip(real, base, strict=False)  # both have a result (or error) per round
        if "rps" in r and "rps" in b and b["rps"]
    ]


def median_ratio(ratios: list[float]) -> float | None:
    """The median of a call's paired ratios; None when no round has one."""
    if not ratios:
        return None
    xs = sorted(ratios)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else round((xs[mid - 1] + xs[mid]) / 2, 3)


def server_args(level: str | None, user_port: int, random_port: int, data_dir: str) -> list[str]:
    """The command line of pyservices at log level `level`, or of pybaseline (None)."""
    if level is not None:
        return [
            PY, "-m", "pyservices", "user", "random",
            "--user-addr", f"127.0.0.1:{user_port}", "--random-addr", f"127.0.0.1:{random_port}",
            "--data-dir", data_dir, "--log-level", level,
        ]  # fmt: skip
    return [
        PY, "bench/pybaseline.py", "--user-addr", f"127.0.0.1:{user_port}",
        "--random-addr", f"127.0.0.1:{random_port}", "--max-lifetime", "300",
    ]  # fmt: skip


def python_services(ghz_bin: str, secs: float) -> dict[str, Any]:
    """PY_ROUNDS rounds of each server in PY_KINDS, a fresh process each, with ghz against
    GetUser and (but for pyservices-info) StreamRandomNumbers; the mean of the rounds and
    the ratios to pybaseline."""
    out: dict[str, Any] = {
        "concurrency": CONCURRENCY,
        "seconds": secs,
        "rounds": PY_ROUNDS,
        "server_cpus": sorted(SERVER_CPUS) if SERVER_CPUS else None,
        "ghz_cpus": sorted(CLIENT_CPUS) if CLIENT_CPUS else None,
        "log_levels": {k: v for k, v in PY_KINDS.items() if v},
    }
    runs: Runs = {k: {} for k in PY_KINDS}
    with tempfile.TemporaryDirectory(prefix="polychat-bench-") as data_dir:
        # Rounds alternate the servers, so a slow moment of the machine hits all of them.
        for rnd in range(PY_ROUNDS):
            for kind, level in PY_KINDS.items():
                pu, pr = free_port(), free_port()
                args = server_args(level, pu, pr, data_dir)
                log(f"python services: {kind}, round {rnd + 1} of {PY_ROUNDS}")
                proc = PROCS.start(args, OUT / f"{kind}.log", SERVER_CPUS)
                calls = ["unary"] if kind == "pyservices-info" else ["unary", "stream"]
                try:
                    wait_port(pu, proc, 30)
                    wait_port(pr, proc, 30)
                    user_id = create_user(f"127.0.0.1:{pu}") if level is not None else 1
                    for call in calls:
                        if call == "unary":
                            method, data = GET_USER, {"user_id": user_id}
                            addr = f"127.0.0.1:{pu}"
                        else:
                            method, data = STREAM_RANDOM, STREAM_REQUEST
                            addr = f"127.0.0.1:{pr}"
                        rep = ghz(
                            ghz_bin, addr, method, data, secs, f"{kind}-{call}-{rnd}", CLIENT_CPUS
                        )
                        runs[kind].setdefault(call, []).append(rep)
                except Exception as err:  # the report says what failed; the rest goes on
                    for call in calls:
                        runs[kind].setdefault(call, []).append({"error": str(err)})
                finally:
                    PROCS.stop(proc)
    for kind, by_call in runs.items():
        out[kind] = {call: mean_of(results) for call, results in by_call.items()}
    for kind, call, key in RATIOS:
        rounds = paired_ratios(runs, kind, call)
        out[key], out[key + "_rounds"] = median_ratio(rounds), rounds
    out["stream_request"] = STREAM_REQUEST
    return out
