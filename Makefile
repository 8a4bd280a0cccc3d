# sessiond developer tasks. `make test` is what CI runs (.ci/run).

GO ?= go
BIN ?= sessiond
IMAGE ?= sessiond:dev

.PHONY: test fuzz-smoke openapi-lint check-tools vet run build fmt fmt-check docker-build compose-config clean

## test: lint the OpenAPI document, vet and run every test with the race detector against a real redis-server,
## then the store and endpoint suites again on a real Redis Cluster and Sentinel set,
## then every fuzz target briefly (FUZZ_SECONDS each; new failing inputs are printed
## and kept in FUZZ_KEEP_DIR and in the package's testdata/fuzz).
## The storage tests are never skipped: a missing redis-server fails here, loudly.
FUZZ_SECONDS ?= 10
FUZZ_KEEP_DIR ?= $(CURDIR)/fuzz-findings
test: check-tools openapi-lint
	$(GO) vet ./...
	$(GO) test -race -count=1 -p 1 ./...
	SESSIOND_TEST_TOPOLOGIES=cluster,sentinel $(GO) test -race -count=1 -p 1 ./redisstore ./handlers ./internal/testtopology
	$(MAKE) fuzz-smoke

## openapi-lint: Redocly CLI's recommended rules on handlers/openapi.yaml
## (redocly.yaml); any error or warning fails.
openapi-lint:
	bash scripts/openapi-lint.sh

## fuzz-smoke: run each fuzz target for FUZZ_SECONDS (scripts/fuzz.sh); fails on a new finding.
fuzz-smoke:
	FUZZ_KEEP_DIR=$(FUZZ_KEEP_DIR) bash scripts/fuzz.sh $(FUZZ_SECONDS)

## check-tools: fail with install instructions when a test prerequisite is missing.
check-tools:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "error: redis-server is not on PATH; the storage and server tests start a real one." >&2; \
	  echo "Install it:" >&2; \
	  echo "  sudo apt-get install -y redis-server   # Debian/Ubuntu" >&2; \
	  echo "  brew install redis                     # macOS" >&2; \
	  exit 1; }
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  echo "error: nginx is not installed; the gateway end-to-end tests (e2e/) run a real one." >&2; \
	  echo "Install it:" >&2; \
	  echo "  sudo apt-get install -y nginx          # Debian/Ubuntu" >&2; \
	  exit 1; }
	@for tool in docker-compose:docker-compose promtool:prometheus redis-cli:redis-tools redis-sentinel:redis-sentinel caddy:caddy chromium:chromium; do \
	  command -v $${tool%%:*} >/dev/null 2>&1 || { \
	    echo "error: $${tool%%:*} is not installed; the deploy/, topology, gateway or console tests run it." >&2; \
	    echo "Install it:  sudo apt-get install -y $${tool##*:}   # Debian/Ubuntu" >&2; \
	    exit 1; }; \
	done
	@command -v npx >/dev/null 2>&1 || { \
	  echo "error: npx is not installed; the OpenAPI lint (make openapi-lint) runs Redocly CLI from npm." >&2; \
	  echo "Install Node.js >= 20.19 with npm:  sudo apt-get install -y nodejs npm   # Debian/Ubuntu" >&2; \
	  exit 1; }
	@command -v $(GO) >/dev/null 2>&1 || { \
	  echo "error: $(GO) is not on PATH; install Go 1.26 (https://go.dev/dl/) or add /usr/local/go/bin to PATH." >&2; \
	  exit 1; }
	@[ "$$($(GO) env CGO_ENABLED)" = "1" ] || { \
	  echo "error: go test -race needs cgo and a C compiler, and cgo is disabled (no C toolchain found?)." >&2; \
	  echo "Install one:" >&2; \
	  echo "  sudo apt-get install -y gcc libc6-dev   # Debian/Ubuntu" >&2; \
	  exit 1; }

## bench: the benchmark suite (bench/suite, BENCHMARKS.md), run by hand and never by
## CI or `make test`: its own redis-server on loopback, sessiond vs the ceiling server,
## about 15 minutes on 2 cores. Writes bench/results/<date-time>.md and raw logs.
## BENCH_QUICK=1 for a quick smoke run; BENCH_FLAGS for more (e.g. -phases verify,micro).
.PHONY: bench
BENCH_QUICK ?=
BENCH_FLAGS ?=
bench:
	@mkdir -p bench/results/tmp
	$(GO) build -o bench/results/tmp/suite ./bench/suite
	BENCH_QUICK=$(BENCH_QUICK) bench/results/tmp/suite $(BENCH_FLAGS)

## vet: go vet every package.
vet:
	$(GO) vet ./...

## run: start sessiond in dev mode (embedded in-memory store, prints tokens).
run:
	$(GO) run ./cmd/sessiond

## build: a static binary, as the container image builds it.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(BIN) ./cmd/sessiond

## fmt: gofmt every file in place; fmt-check: fail when a file needs it.
fmt:
	gofmt -w .
fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:" >&2; echo "$$out" >&2; exit 1; fi

## docker-build: build the container image.
docker-build:
	docker build -f deploy/Dockerfile -t $(IMAGE) .

## compose-config: validate docker-compose.yml (needs SESSIOND_JWT_HS256_SECRET set).
compose-config:
	docker-compose config -q

clean:
	rm -f $(BIN)
