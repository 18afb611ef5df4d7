#!/bin/sh
# The health check of the Polychat services image: asks every service this
# container runs for its gRPC health (grpc.health.v1) with grpc_health_probe and
# fails when any is not SERVING.
#
# The services are the NAME arguments of the `python -m pyservices` process (all
# six when it names none), and each one's address is its NAME_ADDR variable or its
# default port, the same as the services read. A wildcard host ([::], 0.0.0.0 or
# none) is dialled as localhost. With POLYCHAT_TLS_CERT set the probe uses TLS,
# trusting POLYCHAT_TLS_CA and presenting POLYCHAT_TLS_CLIENT_CERT and
# POLYCHAT_TLS_CLIENT_KEY when they are set.
set -eu

ALL="file random logger auth streaming user"
NL='
'
DEFAULT_IFS=$IFS

default_port() {
	case "$1" in
	file) echo 50051 ;;
	random) echo 50052 ;;
	auth) echo 50054 ;;
	logger) echo 50055 ;;
	streaming) echo 50056 ;;
	user) echo 50057 ;;
	esac
}

# The service names on the command line of the services process.
started=""
found=no
for cmdline in /proc/[0-9]*/cmdline; do
	# A process may end while we look: then its file reads empty or fails.
	args=$(tr '\0' '\n' <"$cmdline" 2>/dev/null) || continue
	module=no
	names=""
	previous=""
	value=no
	# One argument a line: split on newlines only, and expand no patterns.
	IFS=$NL
	set -f
	for arg in $args; do
		if [ "$module" = no ]; then
			if [ "$previous" = -m ] && [ "$arg" = pyservices ]; then module=yes; fi
			previous=$arg
		elif [ "$value" = yes ]; then
			value=no
		else
			case "$arg" in
			-*=*) ;;
			# Every flag of `python -m pyservices` takes a value: the next argument.
			-*) value=yes ;;
			*) names="$names $arg" ;;
			esac
		fi
	done
	set +f
	IFS=$DEFAULT_IFS
	if [ "$module" = yes ]; then
		found=yes
		started=${names:-$ALL}
		break
	fi
done
if [ "$found" = no ]; then
	echo "no 'python -m pyservices' process is running" >&2
	exit 1
fi

set --
if [ -n "${POLYCHAT_TLS_CERT:-}" ]; then
	set -- -tls
	if [ -n "${POLYCHAT_TLS_CA:-}" ]; then set -- "$@" -tls-ca-cert "$POLYCHAT_TLS_CA"; fi
	if [ -n "${POLYCHAT_TLS_CLIENT_CERT:-}" ]; then
		set -- "$@" -tls-client-cert "$POLYCHAT_TLS_CLIENT_CERT" -tls-client-key "${POLYCHAT_TLS_CLIENT_KEY:-}"
	fi
fi

status=0
for name in $started; do
	variable=$(echo "$name" | tr '[:lower:]' '[:upper:]')_ADDR
	address=$(printenv "$variable" || true)
	port=$(default_port "$name")
	case "$address" in
	"") address="localhost:$port" ;;
	unix:* | unix-abstract:*) ;;
	"[::]:"* | "0.0.0.0:"* | ":"*) address="localhost:${address##*:}" ;;
	esac
	if ! grpc_health_probe -addr="$address" -connect-timeout 2s -rpc-timeout 2s "$@" >/dev/null; then
		echo "$name service at $address is not serving" >&2
		status=1
	fi
done
exit $status
