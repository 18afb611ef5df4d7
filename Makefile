# Polychat: one Makefile for the Go chat server, the Python services and the
# generated code both share. `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    ?= .venv
PYTHON  ?= $(VENV)/bin/python
BIN     := .bin
PROTOS  := $(shell find proto -name '*.proto' | sort)
# gRPC's own interop test protos (package grpc.testing) get Python code only:
# grpc-go's reference interop client and server bring their own Go code, and a
# second Go copy would register the same proto names twice in a binary that
# linked both.
INTEROP_PROTOS := $(filter proto/polychat/grpc_testing/%,$(PROTOS))
GO_PROTOS := $(filter-out $(INTEROP_PROTOS),$(PROTOS))
GO_GEN  := gen/go
PY_GEN  := gen/python
BUF     := go tool -modfile=tools/buf/go.mod buf

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

# ---- setup ---------------------------------------------------------------

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	@touch $@

.PHONY: setup
setup: $(VENV)/.installed ## Install Go modules and the Python virtualenv (.venv).
	go mod download

# ---- generated code ------------------------------------------------------

$(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc: go.mod go.sum
	GOBIN=$(abspath $(BIN)) go install google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc

.PHONY: proto
proto: $(VENV)/.installed $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc ## Regenerate Go and Python code from proto/.
	rm -rf $(GO_GEN) $(PY_GEN)
	mkdir -p $(GO_GEN) $(PY_GEN)
	$(PYTHON) -m grpc_tools.protoc -I proto \
	  --plugin=protoc-gen-go=$(BIN)/protoc-gen-go \
	  --plugin=protoc-gen-go-grpc=$(BIN)/protoc-gen-go-grpc \
	  --go_out=$(GO_GEN) --go_opt=paths=source_relative \
	  --go-grpc_out=$(GO_GEN) --go-grpc_opt=paths=source_relative \
	  $(patsubst proto/%,%,$(GO_PROTOS))
	$(PYTHON) -m grpc_tools.protoc -I proto \
	  --python_out=$(PY_GEN) --pyi_out=$(PY_GEN) --grpc_python_out=$(PY_GEN) \
	  $(patsubst proto/%,%,$(PROTOS))
	find $(PY_GEN) -mindepth 1 -type d -exec touch {}/__init__.py \;
	$(MAKE) proto-web

.PHONY: checkgenerate
checkgenerate: proto web ## Fail if the committed generated code or page differs from proto/ and web/.
	@test -z "$$(git status --porcelain -- $(GO_GEN) $(PY_GEN) $(WEB_GEN) $(WEB_DIST))" || \
	  { echo "generated code is out of date: run 'make proto web' and commit"; git status --short -- $(GO_GEN) $(PY_GEN) $(WEB_GEN) $(WEB_DIST); exit 1; }

# ---- lint ------------------------------------------------------------------

.PHONY: lint
lint: lint-proto lint-go lint-py lint-js lint-web ## Lint protos, Go, Python, JavaScript and the page's TypeScript.

.PHONY: lint-proto
lint-proto: ## buf lint and buf format on proto/.
	$(BUF) lint proto
	@# gRPC's interop protos keep upstream's layout, so a diff against
	@# grpc/grpc-proto shows only their import lines (proto/buf.yaml says why).
	$(BUF) format --diff --exit-code --exclude-path proto/polychat/grpc_testing proto

.PHONY: lint-go
lint-go: ## gofmt and go vet.
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'); echo "run gofmt -w"; exit 1; }
	go vet ./...

.PHONY: lint-js
lint-js: ## node --check on jsinterop/ (syntax; it has no build step).
	@for f in jsinterop/*.js; do node --check "$$f" || exit 1; done

.PHONY: lint-py
lint-py: $(VENV)/.installed ## ruff check and ruff format --check.
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# ---- build and run -------------------------------------------------------------

.PHONY: build
build: ## Build bin/chat-server and bin/chat-client.
	go build -o bin/chat-server ./server
	go build -o bin/chat-client ./client

.PHONY: run
run: setup build ## Set up, then run the chat server and the Python services (Ctrl+C stops all).
	scripts/run.sh

# nats-server for make run-cluster: the release go.mod pins (the cluster tests
# build the same from go.mod; a test checks the two agree), from the module proxy.
NATS_SERVER_VERSION := v2.15.3
NATS_SERVER := $(BIN)/nats-server-$(NATS_SERVER_VERSION)/nats-server

$(NATS_SERVER):
	GOBIN=$(abspath $(dir $(NATS_SERVER))) go install github.com/nats-io/nats-server/v2@$(NATS_SERVER_VERSION)

.PHONY: run-cluster
run-cluster: setup build $(NATS_SERVER) ## A 3-node NATS cluster, 3 chat servers on it and the Python services, on loopback (Ctrl+C stops all).
	scripts/run-cluster.sh $(NATS_SERVER)

.PHONY: user-demo
user-demo: $(VENV)/.installed ## Start UserService, run the five documented scenarios, stop it.
	scripts/user-demo.sh

.PHONY: certs
certs: ## Create a development CA and TLS certificates in certs/ (refuses to overwrite).
	go run ./tools/devcerts -out certs

# ---- benchmarks ----------------------------------------------------------------

GHZ_VERSION := v0.93.0

$(BIN)/ghz:
	GOBIN=$(abspath $(BIN)) go install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)

$(VENV)/.bench-installed: $(VENV)/.installed pyproject.toml
	$(PYTHON) -m pip install --quiet -e '.[dev,bench]'
	@touch $@

.PHONY: bench bench-quick
bench: $(VENV)/.bench-installed $(BIN)/ghz ## Benchmarks (~10 min): bench/results/latest.{json,md}, latency.png.
	$(PYTHON) bench/run.py --ghz $(BIN)/ghz --command "make bench"

bench-quick: $(VENV)/.bench-installed $(BIN)/ghz ## A smaller benchmark sweep, as a sanity check (~2 min).
	$(PYTHON) bench/run.py --quick --ghz $(BIN)/ghz --command "make bench-quick"

# ---- interop matrix ------------------------------------------------------------

# grpc-go's reference interop client and server, at the grpc-go release go.mod
# build the same from go.mod; a test checks the two agree), from the module proxy.
GRPC_GO_VERSION := v1.85.0
GRPC_GO_INTEROP := $(BIN)/grpc-go-interop-$(GRPC_GO_VERSION)

$(GRPC_GO_INTEROP)/client $(GRPC_GO_INTEROP)/server &:
	GOBIN=$(abspath $(GRPC_GO_INTEROP)) go install \
	  google.golang.org/grpc/interop/client@$(GRPC_GO_VERSION) \
	  google.golang.org/grpc/interop/server@$(GRPC_GO_VERSION)

# The Node.js peer's packages (@grpc/grpc-js, @grpc/proto-loader), as package-lock.json pins.
JS_INSTALLED := jsinterop/node_modules/.installed

$(JS_INSTALLED): jsinterop/package.json jsinterop/package-lock.json
	npm ci --prefix jsinterop --no-audit --no-fund
	@touch $@

.PHONY: interop-matrix
interop-matrix: $(VENV)/.installed $(JS_INSTALLED) $(GRPC_GO_INTEROP)/client $(GRPC_GO_INTEROP)/server ## gRPC's interop cases, grpc-go's reference peers against ours, and the chat clients (~2 min): interop/results/matrix.md.
	$(PYTHON) -m tests.interop.matrix --reference $(GRPC_GO_INTEROP) --grpc-go-version $(GRPC_GO_VERSION)

# ---- tests -----------------------------------------------------------------------

.PHONY: test
test: setup ## Everything a change can break: generated-code drift, lint, Go (-race), Python, Node.js, interop matrix, the page in a browser.
	$(MAKE) checkgenerate
	$(MAKE) lint
	$(MAKE) test-go
	$(MAKE) test-py
	$(MAKE) test-js
	$(MAKE) interop-matrix
	$(MAKE) test-web

.PHONY: test-go
test-go: ## Go unit tests with the race detector.
	go test -race -count=1 ./...

.PHONY: test-js
test-js: $(JS_INSTALLED) ## Node.js tests of jsinterop/ (node --test).
	node --test jsinterop/

.PHONY: test-py
test-py: $(VENV)/.installed ## Python tests, including the cross-language interop tests.
	$(PYTHON) -m pytest -q

.PHONY: tools-check
tools-check: $(VENV)/.installed ## grpcurl, grpc_health_probe and ghz against every server (also in test-py).
	$(PYTHON) -m pytest -q tests/tools

# ---- containers ------------------------------------------------------------------

$(VENV)/.containers-installed: $(VENV)/.installed pyproject.toml
	$(PYTHON) -m pip install --quiet -e '.[dev,containers]'
	@touch $@

.PHONY: test-containers
test-containers: $(VENV)/.containers-installed ## Lint the container files, build both images, run compose.yaml with podman (root).
	$(VENV)/bin/hadolint deploy/Dockerfile
	$(VENV)/bin/shellcheck deploy/healthcheck.sh
	$(PYTHON) -m pytest -q -p no:cacheprovider deploy/tests

.PHONY: interop
interop: $(VENV)/.installed ## Only the cross-language tests: real server and clients as processes.
	$(PYTHON) -m pytest -q tests/interop

# ---- the chat page (web/) -----------------------------------------------------
# TypeScript generated from proto/ (protoc-gen-es) and bundled by esbuild into
# server/web/dist, which is committed and embedded in the chat server, so that
# `go run server/main.go` serves the page without Node.

WEB_DIR  := web
WEB_GEN  := web/src/gen
WEB_DIST := server/web/dist

$(WEB_DIR)/node_modules/.installed: $(WEB_DIR)/package.json $(WEB_DIR)/package-lock.json
	cd $(WEB_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: web-deps proto-web web lint-web test-web
web-deps: $(WEB_DIR)/node_modules/.installed ## Install the page's pinned npm packages (web/node_modules).

proto-web: $(VENV)/.installed web-deps ## Regenerate the page's TypeScript from proto/ (web/src/gen).
	rm -rf $(WEB_GEN)
	mkdir -p $(WEB_GEN)
	$(PYTHON) -m grpc_tools.protoc -I proto \
	  --plugin=protoc-gen-es=$(WEB_DIR)/node_modules/.bin/protoc-gen-es \
	  --es_out=$(WEB_GEN) --es_opt=target=ts \
	  polychat/chat/chat.proto polychat/auth/v1/auth.proto

web: web-deps ## Build the page into server/web/dist.
	cd $(WEB_DIR) && node build.mjs

lint-web: web-deps ## Type-check the page and its tests (tsc).
	cd $(WEB_DIR) && node_modules/.bin/tsc --noEmit -p .

test-web: web-deps $(VENV)/.installed ## The page's unit tests, and the page in chromium with real servers and clients.
	scripts/chromium.sh
	cd $(WEB_DIR) && node build.mjs --tests && node --test --test-reporter=spec .test-build/
