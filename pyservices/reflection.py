"""Server reflection that also answers for method names.

grpcio-reflection looks symbols up with the protobuf descriptor pool, which
knows services and messages but not methods. Tools that ask for the file of
`package.Service.Method` (ghz does) get NOT_FOUND, so calling a method by
name fails. The reflection protocol says any fully-qualified symbol works,
as it does against grpc-go; this servicer falls back from a method name to
its service.
"""

from __future__ import annotations

import grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer

SERVICE_NAME = reflection.SERVICE_NAME


class MethodAwareReflectionServicer(ReflectionServicer):
    """grpcio-reflection's aio servicer, resolving `Service.Method` symbols too."""

    def _file_containing_symbol(self, request, fully_qualified_name):  # type: ignore[override]
        service_name, _, method_name = fully_qualified_name.rpartition(".")
        if service_name and method_name:
            try:
                service = self._pool.FindServiceByName(service_name)
            except KeyError:
                pass
            else:
                if method_name in service.methods_by_name:
                    fully_qualified_name = service_name
        return super()._file_containing_symbol(request, fully_qualified_name)


def enable_server_reflection(service_names: tuple[str, ...], server: grpc.aio.Server) -> None:
    """Add reflection for `service_names` to an aio server."""
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
        MethodAwareReflectionServicer(service_names), server
    )
