"""Prometheus metrics of the Python services and the HTTP endpoint that serves them.

The gRPC metrics follow the names go-grpc-prometheus made common (`grpc_server_started_total`,
`grpc_server_handled_total`, `grpc_server_handling_seconds`, `grpc_server_msg_received_total`,
`grpc_server_msg_sent_total`), kept by `RpcMetrics` and filled in by
`pyservices.observers.MetricsObserver`. A service's own metrics (named `polychat_<service>_…`)
are defined by the service's module, in the same default registry, so they are served here too.
Label values are bounded: service and method names come from the registered services only,
never from what a client sends.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import itertools
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

import prometheus_client
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from pykit.config import split_host_port

log = logging.getLogger("pyservices.metrics")

_RPC_LABELS = ("grpc_type", "grpc_service", "grpc_method")
HANDLING_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class MethodStats:
    """The grpc_server_* numbers of one method, as plain numbers.

    Updated on the event loop for every call and read only when /metrics is
    scraped. prometheus_client's Counter and Histogram take a lock on every
    update, which made metrics about a tenth of the cost of a small unary call;
    plain attributes cost next to nothing.
    """

    __slots__ = ("buckets", "handled", "labels", "received", "seconds", "sent", "started")

    def __init__(self, labels: tuple[str, str, str]) -> None:
        self.labels = labels
        self.started = 0
        self.received = 0
        self.sent = 0
        self.handled: dict[str, int] = {}  # status code name -> calls
        self.buckets = [0] * (len(HANDLING_BUCKETS) + 1)  # the last one is +Inf
        self.seconds = 0.0

    def finished(self, code: str, seconds: float) -> None:
        self.handled[code] = self.handled.get(code, 0) + 1
        self.buckets[bisect.bisect_left(HANDLING_BUCKETS, seconds)] += 1
        self.seconds += seconds


class RpcMetrics(Collector):
    """Every method's MethodStats, exposed as go-grpc-prometheus names them."""

    def __init__(self) -> None:
        self._methods: dict[tuple[str, str, str], MethodStats] = {}
        self._lock = threading.Lock()  # new methods vs. a scrape in the HTTP thread

    def method(self, kind: str, service: str, method: str) -> MethodStats:
        """The stats of one method (grpc_type, grpc_service, grpc_method), made on first use."""
        key = (kind, service, method)
        stats = self._methods.get(key)
        if stats is None:
            with self._lock:
                stats = self._methods.setdefault(key, MethodStats(key))
        return stats

    def collect(self) -> Iterator[Metric]:
        started = CounterMetricFamily(
            "grpc_server_started", "RPCs started on the server.", labels=_RPC_LABELS
        )
        handled = CounterMetricFamily(
            "grpc_server_handled",
            "RPCs completed on the server, by status code.",
            labels=(*_RPC_LABELS, "grpc_code"),
        )
        seconds = HistogramMetricFamily(
            "grpc_server_handling_seconds",
            "Time from the start of an RPC to its status (streams: their whole life).",
            labels=_RPC_LABELS,
        )
        received = CounterMetricFamily(
            "grpc_server_msg_received", "Stream messages received from clients.", labels=_RPC_LABELS
        )
        sent = CounterMetricFamily(
            "grpc_server_msg_sent", "Stream messages sent to clients.", labels=_RPC_LABELS
        )
        with self._lock:
            methods = list(self._methods.values())
        for m in methods:
            labels = list(m.labels)
            started.add_metric(labels, m.started)
            received.add_metric(labels, m.received)
            sent.add_metric(labels, m.sent)
            for code, count in list(m.handled.items()):
                handled.add_metric([*labels, code], count)
            # Cumulative, with the count taken from the buckets themselves, so a
            # scrape in the middle of an update still shows a valid histogram.
            cumulative = list(itertools.accumulate(list(m.buckets)))
            bounds = [floatToGoString(b) for b in HANDLING_BUCKETS] + ["+Inf"]
            seconds.add_metric(labels, list(zip(bounds, cumulative, strict=True)), m.seconds)
        yield from (started, handled, seconds, received, sent)


RPC = RpcMetrics()
prometheus_client.REGISTRY.register(RPC)

_NO_IPV6 = (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT)


@dataclass
class MetricsServer:
    """The running /metrics endpoint (a daemon thread); `close()` stops it."""

    httpd: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.httpd.server_port)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def serve_metrics(address: str) -> MetricsServer | None:
    """Serve Prometheus /metrics on `address`; None (with an error logged) if it cannot.

    An empty address turns the endpoint off. A port that cannot be bound does not stop the
    services: metrics are worth less than the services themselves.
    """
    if not address.strip():
        log.info("metrics off")
        return None
    try:
        host, port = split_host_port(address)
    except ValueError as err:
        log.error("metrics off: bad metrics address: %r is %s", address, err)
        return None
    prometheus_client.disable_created_metrics()
    # An empty host means every interface: IPv6 and IPv4 where the machine has IPv6.
    hosts = [host] if host else ["::", "0.0.0.0"]
    error: OSError | None = None
    for candidate in hosts:
        try:
            httpd, thread = prometheus_client.start_http_server(port, addr=candidate)
        except OSError as err:
            error = err
            no_ipv6 = isinstance(err, socket.gaierror) or err.errno in _NO_IPV6
            if candidate == "::" and no_ipv6:
                continue  # a machine without IPv6: every IPv4 interface instead
            break
        server = MetricsServer(httpd, thread)
        log.info("metrics listening address=%s port=%d path=/metrics", address, server.port)
        return server
    reason = error.strerror if error is not None and error.strerror else error
    log.error("metrics off: cannot listen on %s: %s", address, reason)
    return None


def close_metrics(server: MetricsServer | None) -> None:
    if server is not None:
        with contextlib.suppress(Exception):
            server.close()
