"""`make bench`: Polychat's benchmarks, each against a baseline measured in the same run.

Builds the chat server, bench/baseline and bench/loadgen, then on loopback:

1. chat fan-out sweeps: N = 10, 100, 1000, 5000 clients in one room, 10 publishers, the
   publish rate raised step by step until saturation, against Polychat and the grpc-go
   baseline (a fresh server per N);
2. isolation: the same load at 1000 clients with and without one client that never reads;
3. memory: server RSS per idle client at 1,000 and 10,000 clients;
4. Python services: ghz against UserService.GetUser and RandomService.StreamRandomNumbers of
   the real pyservices and of bench/pybaseline.py.

Writes bench/results/latest.json, latest.md and latency.png (raw loadgen and ghz output go to
bench/out/). Every process it starts is stopped at the end, also on failure or Ctrl+C.

    .venv/bin/python bench/run.py [--quick] [--ghz .bin/ghz]
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "results"
PY = sys.executable

# The targets.
TARGET_DPS_1000 = 300_000
TARGET_P99_MS = 50.0
TARGET_RATIO = 0.8
TARGET_ISOLATION = 0.05
TARGET_RSS_KB = 30.0
TARGET_PY_UNARY = 0.9

PUBLISHERS = 10
PAYLOAD = 64
# Offered deliveries per second, step by step; the publish rate of a step is this divided by
# the number of receivers (N - 1).
LADDER = [25_000, 50_000, 100_000, 150_000, 225_000, 300_000, 400_000, 550_000, 750_000]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- processes --------------------------------------------------------------------------


class Procs:
    """Every server started, so that all are stopped however the run ends."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(
        self, args: list[str], log_path: Path, cpus: set[int] | None = None
    ) -> subprocess.Popen[bytes]:
        with open(log_path, "wb") as out:
            p = subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
                preexec_fn=pinned(cpus),
            )
        self.running.append(p)
        return p

    def stop(self, p: subprocess.Popen[bytes]) -> None:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        if p in self.running:
            self.running.remove(p)

    def stop_all(self) -> None:
        for p in list(self.running):
            self.stop(p)


PROCS = Procs()
atexit.register(PROCS.stop_all)


def _on_signal(signum: int, _frame: object) -> None:
    PROCS.stop_all()
    sys.exit(128 + signum)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def pinned(cpus: set[int] | None) -> Callable[[], None] | None:
    """A preexec_fn that runs the child on `cpus` only (None: anywhere)."""
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def run_json(
    args: list[str], timeout: float, raw: Path, cpus: set[int] | None = None
) -> dict[str, Any]:
    """Run a command that prints JSON; its stdout is kept in raw, its stderr passes through."""
    try:
        cp = subprocess.run(
            args,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            timeout=timeout,
            check=False,
            preexec_fn=pinned(cpus),
        )
        out = cp.stdout
    except subprocess.TimeoutExpired as err:
        out = err.stdout or b""
        raw.write_bytes(out)
        return {"error": f"timed out after {timeout:.0f}s"}
    raw.write_bytes(out)
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        return {"error": f"exit {cp.returncode}, no JSON output"}
    if cp.returncode != 0 and not data.get("error"):
        data["error"] = f"exit {cp.returncode}"
    return data


# ---- build and servers ------------------------------------------------------------------


def build(bindir: Path) -> None:
    for name, pkg in (
        ("chat-server", "./server"),
        ("baseline", "./bench/baseline"),
        ("loadgen", "./bench/loadgen"),
    ):
        subprocess.run(["go", "build", "-o", str(bindir / name), pkg], cwd=ROOT, check=True)


class Chat:
    """Starts the chat server under test, or the baseline, with the flags this build has."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        helptext = subprocess.run(
            [str(bindir / "chat-server"), "-h"], capture_output=True, text=True, check=False
        )
        have = set(re.findall(r"^\s+-([a-z][a-z-]*)", helptext.stdout + helptext.stderr, re.M))
        self.flags = ["-data-dir", "", "-log-level", "warn"]
        self.notes: list[str] = []
        for flag, value in (
            ("rate", "0"),
            ("max-connections", "20000"),
            ("max-streams-per-conn", "1000"),
        ):
            if flag in have:
                self.flags += [f"-{flag}", value]
            else:
                self.notes.append(f"chat-server has no -{flag} flag: not passed")

    def start(self, kind: str, tag: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        addr = f"127.0.0.1:{port}"
        if kind == "polychat":
            args = [str(self.bindir / "chat-server"), "-addr", addr, *self.flags]
        else:
            args = [str(self.bindir / "baseline"), "-addr", addr, "-max-lifetime", "10m"]
        p = PROCS.start(args, OUT / f"{tag}.{kind}.log")
        wait_port(port, p)
        return p, addr

    def server_command(self, kind: str) -> str:
        if kind == "polychat":
            return shlex.join(["chat-server", "-addr", "127.0.0.1:PORT", *self.flags])
        return "baseline -addr 127.0.0.1:PORT"


def loadgen(bindir: Path, addr: str, pid: int, extra: list[str], timeout: float, raw: Path):
    args = [str(bindir / "loadgen"), "-addr", addr, "-pid", str(pid), *extra]
    return run_json(args, timeout, raw)


# ---- chat benches -------------------------------------------------------------------------


def rates_for(n: int, quick: bool) -> list[float]:
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


JOIN_BUDGET_S = 75.0


def join_estimate(results: list[dict], kind: str, n: int) -> float | None:
    """Seconds the join phase of n clients should take: filling one room sends every member
    the join notice of everyone after it, N(N-1)/2 notices, at the rate the largest room so
    far was filled."""
    done = [r for r in results if r["server"] == kind and r.get("connect")]
    if not done:
        return None
    last = max(done, key=lambda r: r["clients"])
    c = last["connect"]
    if last["clients"] < 100 or c["seconds"] <= 0:
        return None
    # Measured: the rate falls as the room grows (about 1.5x slower from 1,000 to 5,000).
    return 1.5 * n * (n - 1) / 2 / (c["notices"] / c["seconds"])


def fanout(chat: Chat, ns: list[int], quick: bool, timing: dict[str, float]) -> list[dict]:
    results: list[dict] = []
    for n in ns:
        for kind in ("baseline", "polychat"):
            est = join_estimate(results, kind, n) if kind == "polychat" else None
            if est is not None and est > JOIN_BUDGET_S:
                why = (
                    f"skipped: its join phase ({n * (n - 1) // 2:,} join notices) would take "
                    f"about {est:.0f} s at this run's rate, over the {JOIN_BUDGET_S:.0f} s budget"
                )
                log(f"fan-out: {kind}, {n} clients {why}")
                results.append(
                    {
                        "server": kind, "clients": n, "conns": None, "publishers": None,
                        "connect": None, "steps": [], "summary": summarize([]), "error": why,
                    }
                )  # fmt: skip
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
            steps = rep.get("steps") or []
            results.append(
                {
                    "server": kind,
                    "clients": n,
                    "conns": rep.get("conns"),
                    "publishers": rep.get("publishers"),
                    "connect": rep.get("connect"),
                    "steps": steps,
                    "summary": summarize(steps),
                    "error": rep.get("error"),
                }
            )
    return results


def isolation(chat: Chat, n: int, offered: float, timing: dict[str, float]) -> dict[str, Any]:
    """The same load with and without a client that never reads, run as A, B, A."""
    rate = round(offered / (n - 1), 2)
    runs = []
    for i, stuck in enumerate((False, True, False)):
        log(f"isolation: {n} clients, offered {offered:.0f}/s, stuck client: {stuck}")
        proc, addr = chat.start("polychat", f"isolation-{i}")
        try:
            extra = [
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

    def agg(run: dict[str, Any]) -> tuple[float | None, float | None]:
        steps = run["steps"]
        if not steps:
            return None, None
        dps = sum(s["deliveries_per_s"] for s in steps) / len(steps)
        p99 = sum(s["latency"]["p99_ms"] for s in steps) / len(steps)
        return dps, p99

    a1, b, a2 = (agg(r) for r in runs)
    out: dict[str, Any] = {"clients": n, "offered_dps": offered, "runs": runs}
    if None in (a1[0], b[0], a2[0]):
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


def memory(chat: Chat, counts: list[int]) -> list[dict[str, Any]]:
    results = []
    for n in counts:
        for kind in ("baseline", "polychat"):
            log(f"memory: {kind}, {n} idle clients")
            proc, addr = chat.start(kind, f"memory-{n}")
            time.sleep(0.5)  # let the server settle before the "before" sample
            try:
                extra = [
                    "-label", kind,
                    "-idle",
                    "-clients", str(n),
                    "-conns", str(max(1, n // 100)),
                    "-room-size", "100",
                    "-connect-timeout", "90s",
                    "-hold", "2s",
                ]  # fmt: skip
                rep = loadgen(
                    chat.bindir, addr, proc.pid, extra, 150, OUT / f"memory-{n}-{kind}.json"
                )
            finally:
                PROCS.stop(proc)
            results.append(
                {
                    "server": kind,
                    "clients": n,
                    "memory": rep.get("memory"),
                    "error": rep.get("error"),
                }
            )
    return results


# ---- Python services ------------------------------------------------------------------------


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


def ghz(
    ghz_bin: str, addr: str, call: str, data: dict, secs: float, tag: str, cpus: set[int] | None
) -> dict[str, Any]:
    args = [
        ghz_bin, "--insecure", "--protoset", str(protoset()), "--call", call,
        "-d", json.dumps(data),
        "-c", "50", "-z", f"{secs}s", "--cpus", str(len(cpus) if cpus else 2), "-O", "json", addr,
    ]  # fmt: skip
    rep = run_json(args, secs + 60, OUT / f"ghz-{tag}.json", cpus)
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


def create_user(addr: str) -> int:
    import grpc
    from polychat.user.v1 import user_pb2, user_pb2_grpc

    with grpc.insecure_channel(addr) as ch:
        stub = user_pb2_grpc.UserServiceStub(ch)
        email = f"bench-{os.getpid()}-{time.time_ns()}@example.com"
        req = user_pb2.CreateUserRequest(name="Bench User", email=email, age=30)
        return stub.CreateUser(req, timeout=10).user_id


# The Python servers are single-threaded: each runs on CPU 0 and ghz on CPU 1, so that neither
# takes the other's core and runs repeat within a few percent instead of ±10%.
SERVER_CPUS, CLIENT_CPUS = ({0}, {1}) if (os.cpu_count() or 1) >= 2 else (None, None)
PY_ROUNDS = 2
# pyservices as the chat server is measured (request log off: warning), and as it runs by
# default, with one request log line per call (info). Both have metrics on.
PY_KINDS = {
    "pybaseline": None,
    "pyservices": "warning",
    "pyservices-info": "info",
}


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


def python_services(ghz_bin: str, secs: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "concurrency": 50,
        "seconds": secs,
        "rounds": PY_ROUNDS,
        "server_cpus": sorted(SERVER_CPUS) if SERVER_CPUS else None,
        "ghz_cpus": sorted(CLIENT_CPUS) if CLIENT_CPUS else None,
        "log_levels": {k: v for k, v in PY_KINDS.items() if v},
    }
    stream_req = {"min": 1, "max": 100, "count": 10, "interval": "0.01s"}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {k: {} for k in PY_KINDS}
    with tempfile.TemporaryDirectory(prefix="polychat-bench-") as data_dir:
        # Rounds alternate the servers, so a slow moment of the machine hits all of them.
        for rnd in range(PY_ROUNDS):
            for kind, level in PY_KINDS.items():
                pu, pr = free_port(), free_port()
                if level is not None:
                    args = [
                        PY, "-m", "pyservices", "user", "random",
                        "--user-addr", f"127.0.0.1:{pu}", "--random-addr", f"127.0.0.1:{pr}",
                        "--data-dir", data_dir, "--log-level", level,
                    ]  # fmt: skip
                else:
                    args = [
                        PY, "bench/pybaseline.py", "--user-addr", f"127.0.0.1:{pu}",
                        "--random-addr", f"127.0.0.1:{pr}", "--max-lifetime", "300",
                    ]  # fmt: skip
                log(f"python services: {kind}, round {rnd + 1} of {PY_ROUNDS}")
                proc = PROCS.start(args, OUT / f"{kind}.log", SERVER_CPUS)
                calls = ["unary"] if kind == "pyservices-info" else ["unary", "stream"]
                try:
                    wait_port(pu, proc, 30)
                    wait_port(pr, proc, 30)
                    user_id = create_user(f"127.0.0.1:{pu}") if level is not None else 1
                    for call in calls:
                        if call == "unary":
                            method, data = (
                                "polychat.user.v1.UserService.GetUser",
                                {"user_id": user_id},
                            )
                            addr = f"127.0.0.1:{pu}"
                        else:
                            method, data = (
                                "polychat.random.v1.RandomService.StreamRandomNumbers",
                                stream_req,
                            )
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
    for kind, call, key in (
        ("pyservices", "unary", "unary_ratio"),
        ("pyservices", "stream", "stream_ratio"),
        ("pyservices-info", "unary", "unary_info_ratio"),
    ):
        try:
            real, base = out[kind][call], out["pybaseline"][call]
            out[key] = round(real["rps"] / base["rps"], 3) if base["rps"] else None
        except (KeyError, TypeError):
            out[key] = None
    out["stream_request"] = stream_req
    return out


# ---- report ---------------------------------------------------------------------------------


def machine(command: str) -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    go = subprocess.run(["go", "version"], capture_output=True, text=True, check=False).stdout
    grpc_go = re.search(r"google.golang.org/grpc (v\S+)", (ROOT / "go.mod").read_text())
    import grpc

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "go": go.strip().removeprefix("go version "),
        "grpc_go": grpc_go.group(1) if grpc_go else None,
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }


def fmt_num(v: float | None, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{v:,.{digits}f}"


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**missed**")


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    by = {(r["server"], r["clients"]): r for r in res["fanout"]}
    t = []
    p1000 = by.get(("polychat", 1000))
    sus = p1000["summary"]["sustained_step"] if p1000 else None
    t.append(
        {
            "target": "chat fan-out at 1,000 clients: ≥ 300,000 deliveries/s, p99 ≤ 50 ms, "
            "no drops below saturation",
            "value": (
                f"{fmt_num(sus['deliveries_per_s'])}/s sustained, p99 "
                f"{sus['latency']['p99_ms']:.1f} ms, drops below saturation "
                f"{p1000['summary']['drops_below_saturation']}"
                if sus
                else "no step below saturation"
            ),
            "met": bool(
                sus
                and sus["deliveries_per_s"] >= TARGET_DPS_1000
                and p1000["summary"]["drops_below_saturation"] == 0
            )
            if p1000
            else None,
        }
    )
    b1000 = by.get(("baseline", 1000))
    ratio = None
    if p1000 and b1000 and p1000["summary"]["peak_dps"] and b1000["summary"]["peak_dps"]:
        ratio = p1000["summary"]["peak_dps"] / b1000["summary"]["peak_dps"]
    t.append(
        {
            "target": "Polychat ≥ 0.8 x baseline peak deliveries/s (1,000 clients)",
            "value": f"{ratio:.2f}" if ratio is not None else "—",
            "met": None if ratio is None else ratio >= TARGET_RATIO,
        }
    )
    iso = res.get("isolation") or {}
    iso_ok = None
    if "dps_change" in iso:
        iso_ok = (
            abs(iso["dps_change"]) <= TARGET_ISOLATION
            and (iso["p99_change"] is not None and iso["p99_change"] <= TARGET_ISOLATION)
            and iso["stuck_disconnected"]
        )
    t.append(
        {
            "target": "isolation: one client stops reading → others' deliveries/s and p99 "
            "within 5%, and it is disconnected",
            "value": (
                f"deliveries/s {iso['dps_change']:+.1%}, p99 {iso['p99_change']:+.1%}, "
                f"stuck client ended with {iso['stuck_code']}"
                if "dps_change" in iso
                else iso.get("error", "—")
            ),
            "met": iso_ok,
        }
    )
    for m in res["memory"]:
        if m["server"] != "polychat":
            continue
        per = (m["memory"] or {}).get("rss_per_client_kb")
        t.append(
            {
                "target": f"≤ 30 KB server RSS per idle client ({m['clients']:,} clients)",
                "value": f"{per:.1f} KB" if per is not None else (m.get("error") or "—"),
                "met": None if per is None else per <= TARGET_RSS_KB,
            }
        )
    py = res.get("python") or {}
    ur, uir = py.get("unary_ratio"), py.get("unary_info_ratio")
    value = "—"
    if ur is not None:
        value = f"{ur:.2f} (--log-level warning)"
        if uir is not None:
            value += f"; {uir:.2f} with a request log line per call (info)"
    t.append(
        {
            "target": "Python unary (GetUser) ≥ 0.9 x bare grpcio aio RPS",
            "value": value,
            "met": None if ur is None else ur >= TARGET_PY_UNARY,
        }
    )
    return t


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        "# Polychat benchmark results",
        "",
        f"Generated by `{m['command']}` on {m['date']}.",
        "",
        "| machine | |",
        "|---|---|",
        f"| CPU | {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB |",
        f"| kernel | {m['kernel']} |",
        f"| Go | {m['go']}, grpc-go {m['grpc_go']} |",
        f"| Python | {m['python']}, grpcio {m['grpcio']} |",
        f"| load average at start / end | {m['load_average_start']} / {m['load_average_end']} |",
        f"| chat server | `{res['chat_server_command']}` |",
        f"| run time | {res['elapsed_s']:.0f} s |",
        "",
        "Load generator, servers and ghz share the machine's cores on loopback, so absolute "
        "numbers move with whatever else runs; read the ratios against the baselines measured "
        "in the same run.",
        "",
        "## Targets",
        "",
        "| target | result | |",
        "|---|---|---|",
    ]
    for t in res["targets"]:
        lines.append(f"| {t['target']} | {t['value']} | {verdict(t['met'])} |")
    lines += [
        "",
        f"## Chat fan-out (one room, {PUBLISHERS} publishers, {PAYLOAD}-byte text)",
        "",
        "Peak: most deliveries/s of any step. Sustained: best step with no drops or "
        "disconnects, p99 ≤ 50 ms and ≥ 90% of the offered load delivered; its p50/p99.",
        "",
        "| clients | conns | server | join s | peak deliveries/s | sustained deliveries/s "
        "| p50 ms | p99 ms | ratio (peak) | saturated at offered/s | why |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    by = {(r["server"], r["clients"]): r for r in res["fanout"]}
    for n in res["clients"]:
        for kind in ("baseline", "polychat"):
            r = by.get((kind, n))
            if r is None:
                continue
            s = r["summary"]
            st = s["sustained_step"]
            ratio = ""
            base = by.get(("baseline", n))
            if kind == "polychat" and base and base["summary"]["peak_dps"] and s["peak_dps"]:
                ratio = f"{s['peak_dps'] / base['summary']['peak_dps']:.2f}"
            sat = s.get("saturated_at") or {}
            why = (sat.get("why") or r.get("error") or "").replace("|", "/")
            lines.append(
                f"| {n:,} | {r['conns'] or '—'} | {kind} | "
                f"{fmt_num((r['connect'] or {}).get('seconds'), 1)} | "
                f"{fmt_num(s['peak_dps'])} | {fmt_num(s['sustained_dps'])} | "
                f"{fmt_num(st['latency']['p50_ms'] if st else None, 2)} | "
                f"{fmt_num(st['latency']['p99_ms'] if st else None, 2)} | {ratio} | "
                f"{fmt_num(sat.get('offered'))} | {why} |"
            )
    lines += [
        "",
        "Every step (offered → delivered deliveries/s, latency, drops, server CPU/RSS) is in "
        "`latest.json`; `latency.png` plots p50 and p99 against offered load.",
        "",
        "## Isolation (a client that stops reading)",
        "",
    ]
    iso = res.get("isolation") or {}
    if "dps_change" in iso:
        lines += [
            f"{iso['clients']:,} clients, offered {iso['offered_dps']:,.0f} deliveries/s; "
            "runs without / with / without the stuck client (the two without are averaged).",
            "",
            "| | deliveries/s | p99 ms |",
            "|---|---:|---:|",
            f"| without | {iso['without_dps']:,} | {iso['without_p99_ms']:.2f} |",
            f"| with one stuck client | {iso['with_dps']:,} | {iso['with_p99_ms']:.2f} |",
            f"| change | {iso['dps_change']:+.1%} | {iso['p99_change']:+.1%} |",
            "",
            f"The stuck client's stream ended with `{iso['stuck_code']}`.",
        ]
    else:
        lines.append(f"Not measured: {iso.get('error', 'skipped')}.")
    lines += [
        "",
        "## Memory (idle clients, rooms of 100)",
        "",
        "| clients | server | RSS before KB | RSS after KB | KB per client |",
        "|---:|---|---:|---:|---:|",
    ]
    for r in res["memory"]:
        mm = r["memory"] or {}
        lines.append(
            f"| {r['clients']:,} | {r['server']} | {fmt_num(mm.get('rss_before_kb'))} | "
            f"{fmt_num(mm.get('rss_after_kb'))} | {fmt_num(mm.get('rss_per_client_kb'), 1)} |"
        )
    py = res.get("python") or {}
    lines += [
        "",
        f"## Python services (ghz, concurrency {py.get('concurrency')}, "
        f"{py.get('seconds')} s each)",
        "",
        "Stream: StreamRandomNumbers with count 10, interval 10 ms; a call is one stream. "
        f"Mean of {py.get('rounds')} alternating rounds; servers on CPUs "
        f"{py.get('server_cpus')}, ghz on {py.get('ghz_cpus')}. `pyservices` runs with "
        "`--log-level warning` (no line per call, as the chat server is measured at `warn`), "
        "`pyservices-info` as it starts by default, with one request log line per call; "
        "both keep their metrics.",
        "",
        "| call | server | RPS | p50 ms | p99 ms | errors | ratio |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    ratios = {
        ("unary", "pyservices"): "unary_ratio",
        ("unary", "pyservices-info"): "unary_info_ratio",
        ("stream", "pyservices"): "stream_ratio",
    }
    for call, name in (("unary", "GetUser"), ("stream", "StreamRandomNumbers")):
        for kind in ("pybaseline", "pyservices", "pyservices-info"):
            if (py.get(kind) or {}).get(call) is None and kind == "pyservices-info":
                continue
            r = (py.get(kind) or {}).get(call) or {}
            key = ratios.get((call, kind))
            ratio = py.get(key) if key else None
            lines.append(
                f"| {name} | {kind} | {fmt_num(r.get('rps'), 0)} | {fmt_num(r.get('p50_ms'), 2)} "
                f"| {fmt_num(r.get('p99_ms'), 2)} | {r.get('errors') or r.get('error') or ''} "
                f"| {fmt_num(ratio, 2) if ratio is not None else ''} |"
            )
    if res.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in res["notes"]]
    return "\n".join(lines) + "\n"


def plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = res["clients"]
    cols = 2
    rows = math.ceil(len(ns) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 4 * rows), squeeze=False)
    styles = {"polychat": ("tab:blue", "Polychat"), "baseline": ("tab:gray", "grpc-go baseline")}
    by = {(r["server"], r["clients"]): r for r in res["fanout"]}
    for ax, n in zip(axes.flat, ns, strict=False):
        for kind in ("baseline", "polychat"):
            r = by.get((kind, n))
            if not r or not r["steps"]:
                continue
            color, label = styles[kind]
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


# ---- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Polychat's benchmarks.")
    parser.add_argument("--quick", action="store_true", help="a smaller sweep, as a sanity check")
    parser.add_argument("--ghz", default=str(ROOT / ".bin" / "ghz"), help="ghz binary")
    parser.add_argument("--command", default=None, help="the command shown in the report")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where results go")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

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

    if args.quick:
        ns, timing, mem_counts, py_secs = (
            [10, 100, 1000],
            {"warmup": 0.5, "duration": 1.5},
            [1000],
            3,
        )
    else:
        ns, timing, mem_counts, py_secs = (
            [10, 100, 1000, 5000],
            {"warmup": 0.5, "duration": 2.0},
            [1000, 10000],
            5,
        )
    res: dict[str, Any] = {
        "machine": machine(command),
        "quick": args.quick,
        "clients": ns,
        "publishers": PUBLISHERS,
        "payload_bytes": PAYLOAD,
        "timing_s": timing,
        "chat_server_command": chat.server_command("polychat"),
        "baseline_command": chat.server_command("baseline"),
        "notes": list(chat.notes),
    }
    res["fanout"] = fanout(chat, ns, args.quick, timing)

    by = {(r["server"], r["clients"]): r for r in res["fanout"]}
    # Isolation runs at half of Polychat's peak at 1,000 clients: below saturation, and fast
    # enough to fill the stuck client's window and queue within seconds.
    iso_n = 1000
    peak = (by.get(("polychat", iso_n)) or {}).get("summary", {}).get("peak_dps")
    offered = max(round(0.5 * peak, -3), LADDER[1]) if peak else LADDER[1]
    res["isolation"] = isolation(chat, iso_n, offered, timing)
    res["memory"] = memory(chat, mem_counts)
    if Path(args.ghz).exists():
        res["python"] = python_services(args.ghz, py_secs)
    else:
        res["python"] = {}
        res["notes"].append(f"ghz not found at {args.ghz}: Python services not measured")

    res["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    res["elapsed_s"] = round(time.monotonic() - started, 1)
    res["targets"] = targets(res)

    (args.results / "latest.json").write_text(json.dumps(res, indent=2, sort_keys=True) + "\n")
    (args.results / "latest.md").write_text(markdown(res))
    plot(res, args.results / "latency.png")
    log(f"done in {res['elapsed_s']:.0f}s: {args.results / 'latest.md'}")
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
