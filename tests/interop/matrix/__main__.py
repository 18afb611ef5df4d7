"""`python -m tests.interop.matrix`: run the interop matrix and write its report.

    make interop-matrix     # installs grpc-go's reference binaries and the Node.js peer's packages

It makes a development CA with `go run ./tools/devcerts`, builds the chat server and Go
client, starts each server peer in plaintext and over TLS, runs every client peer's cases
against each, runs the chat row, then prints the report, writes it to `--out` and puts the
short version in the README. Exit status 0 when no cell failed, 1 otherwise, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

from pykit.config import ArgumentParser, fail
from tests.interop.matrix import report
from tests.interop.matrix.cells import REPO, Transport, run_cells
from tests.interop.matrix.chat import ChatTools, build, run_chat
from tests.interop.matrix.peers import go_peer, node_peer, python_peer


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = ArgumentParser(prog="python -m tests.interop.matrix", description=__doc__)
    parser.add_argument(
        "--reference", type=Path, required=True, help="folder with grpc-go's client and server"
    )
    parser.add_argument("--grpc-go-version", required=True, help="their grpc-go version")
    parser.add_argument("--out", type=Path, default=REPO / "interop" / "results" / "matrix.md")
    parser.add_argument("--readme", type=Path, default=REPO / "README.md")
    parser.add_argument("--jobs", type=int, default=2, help="client processes at a time")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds for one case")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each case this many times (to hunt flakes)"
    )
    args = parser.parse_args(argv)
    for name in ("client", "server"):
        if not (args.reference / name).is_file():
            parser.error(f"--reference {args.reference} has no {name} binary (make interop-matrix)")
    if args.jobs < 1 or args.repeat < 1 or args.timeout <= 0:
        parser.error("--jobs and --repeat must be at least 1 and --timeout more than 0")
    return args


def _grpc_js_version() -> str:
    """The @grpc/grpc-js version jsinterop/ installed (make interop-matrix runs npm ci)."""
    package = REPO / "jsinterop" / "node_modules" / "@grpc" / "grpc-js" / "package.json"
    try:
        return str(json.loads(package.read_text())["version"])
    except OSError:
        fail("jsinterop/node_modules is missing: run make interop-matrix (it runs npm ci)")


def _certs(folder: Path) -> tuple[Path, Path, Path]:
    """A fresh development CA and server certificate: (CA, certificate, key)."""
    subprocess.run(
        ["go", "run", "./tools/devcerts", "-out", str(folder)],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return folder / "ca.pem", folder / "server.pem", folder / "server-key.pem"


def main(argv: list[str]) -> int:
    args = _parse(argv)
    started = time.monotonic()
    peers = [
        go_peer(args.reference, args.grpc_go_version),
        python_peer(grpc.__version__),
        node_peer(_grpc_js_version()),
    ]
    with tempfile.TemporaryDirectory(prefix="interop-matrix-") as tmp:
        work = Path(tmp)
        ca, cert, key = _certs(work / "certs")
        server, client, stubs = build(work)
        transports = [Transport("plaintext"), Transport("TLS", ca, cert, key)]
        prepared = time.monotonic()
        cells, problems = run_cells(
            peers, transports, jobs=args.jobs, timeout=args.timeout, repeat=args.repeat
        )
        interop_done = time.monotonic()
        tools = ChatTools(server, client, stubs, ca, cert, key)
        chat = {t.name: run_chat(tools, t.ca is not None, args.timeout) for t in transports}
        finished = time.monotonic()
    matrix = report.Matrix(peers, [t.name for t in transports], cells, chat, problems)
    text = report.render(matrix)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    out = args.out.resolve()
    out_name = out.relative_to(REPO) if out.is_relative_to(REPO) else out
    report.update_readme(args.readme, report.summary(matrix, str(out_name)))
    print(text)
    for cell, outcome in cells.items():
        if outcome.status == "known":
            where = f"{cell.client} → {cell.server} ({cell.transport}) {cell.case}"
            print(f"known issue cell {where}: {outcome.detail} this run")
    print(
        f"prepared in {prepared - started:.1f}s, gRPC cases in {interop_done - prepared:.1f}s, "
        f"chat in {finished - interop_done:.1f}s; {finished - started:.1f}s in all"
    )
    print(f"wrote {out_name} and the README's interop section")
    print(report.closing_line(matrix))
    return 1 if matrix.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
