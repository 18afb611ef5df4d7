"""What the servers do with every call they observe: the request log and the gRPC metrics.

The mechanism that tells them about calls is `pyservices.observe`.
"""

from __future__ import annotations

import logging

import grpc

from pyservices import metrics
from pyservices.logs import direct_handler
from pyservices.observe import Call, MethodInfo, Observer, Observers

log = logging.getLogger("pyservices.rpc")

HEALTH_SERVICE = "grpc.health.v1.Health"
_QUIET_SERVICES = frozenset({HEALTH_SERVICE})  # probes poll it: logged at DEBUG only
# Every call's code is named twice (request log, metrics): StatusCode.name is a property, and
# hashing a StatusCode runs Python code, so OK (nearly every call) is told by identity.
_OK = grpc.StatusCode.OK
_CODE_NAMES = {code: code.name for code in grpc.StatusCode}


def _code_name(code: grpc.StatusCode) -> str:
    return "OK" if code is _OK else _CODE_NAMES[code]


_LOUD_CODES = frozenset(
    {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS}
)


class LogObserver(Observer):
    """One line per finished RPC: `rpc service=… method=… peer=… code=… duration_ms=…`."""

    def __init__(self, logger: logging.Logger = log, *, client_certs: bool = True) -> None:
        self.log = logger
        self.wants_client_cert = client_certs

    def finished(self, call: Call) -> None:
        level = logging.INFO
        if call.service in _QUIET_SERVICES:
            level = logging.DEBUG
        elif call.code is not _OK and call.code in _LOUD_CODES:
            level = logging.WARNING
        logger = self.log
        if not logger.isEnabledFor(level):
            return
        extra = f" received={call.received} sent={call.sent}" if call.streaming else ""
        cert = f" client_cert={call.client_cert!r}" if call.client_cert else ""
        code = _code_name(call.code)
        message = (
            f"rpc service={call.service} method={call.method} type={call.kind} peer={call.peer}"
            f"{cert} code={code} duration_ms={call.duration * 1000:.1f}{extra}"
        )
        # One line per call: where only our handler would see it, it is given the line
        # without the LogRecord (logs.direct_handler), which costs as much as the rest.
        handler = direct_handler(logger, level)
        if handler is not None:
            handler.emit_message(level, logger.name, message)
        else:
            logger.log(level, message)


class MetricsObserver(Observer):
    """The grpc_server_* Prometheus metrics (`pyservices.metrics.RPC`)."""

    def __init__(self, table: metrics.RpcMetrics = metrics.RPC) -> None:
        self._table = table
        self._methods: dict[MethodInfo, metrics.MethodStats] = {}

    def _for(self, call: Call) -> metrics.MethodStats:
        found = self._methods.get(call.info)
        if found is None:
            info = call.info
            found = self._methods[info] = self._table.method(info.kind, info.service, info.method)
        return found

    def started(self, call: Call) -> None:
        (self._methods.get(call.info) or self._for(call)).started += 1

    def received(self, call: Call) -> None:
        self._for(call).received += 1

    def sent(self, call: Call) -> None:
        self._for(call).sent += 1

    def finished(self, call: Call) -> None:
        stats = self._methods.get(call.info) or self._for(call)
        if not call.streaming:  # counted here, not message by message
            stats.received += call.received
            stats.sent += call.sent
        stats.finished(_code_name(call.code), call.duration)


def request_observer(*, client_certs: bool = True) -> Observer:
    """Request logging and Prometheus metrics together.

    `client_certs` logs the client certificate's name; only useful with mutual TLS.
    """
    return Observers(LogObserver(client_certs=client_certs), MetricsObserver())
