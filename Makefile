# One command sets up and runs every test on a fresh machine (Go, Node 20 + npm):
#   make test
# It installs the pinned npm emulators (package-lock.json), vets, and runs the
# whole suite with the race detector. CI (.ci/run) runs exactly this.

GO        ?= go
EMU_DIR   := internal/localaws/emulators
# -p 1: one package (build or test) at a time. The emulator-driven tests
# (redrive's kill and fault tests, kinesis-local in etl/archive) are
# timing-sensitive, and on a 2-core machine a second package compiling
# under the race detector beside them starved them into rare failures.
GOTESTFLAGS ?= -race -p 1 -timeout 45m

.PHONY: test emulators vet build fmt-check bench-rebuild bench-redrive localaws

test: emulators fmt-check vet
	CI=$${CI:-} $(GO) test $(GOTESTFLAGS) ./...

emulators: $(EMU_DIR)/node_modules/.package-lock.json

# `npm install` with the committed lockfile installs exactly the locked versions
# (--no-save: the lockfile is never rewritten). Not `npm ci`: the registry here
# serves only the linux-x64 builds of DuckDB's optional platform bindings, so
# the lockfile cannot list the others and `npm ci` would reject it as out of sync.
$(EMU_DIR)/node_modules/.package-lock.json: $(EMU_DIR)/package-lock.json $(EMU_DIR)/package.json
	npm install --prefix $(EMU_DIR) --no-save --no-audit --no-fund

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './$(EMU_DIR)/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

build:
	$(GO) build -o bin/opsctl ./cmd/opsctl

# The local AWS endpoint on 127.0.0.1:4566 (Ctrl-C to stop).
localaws: emulators
	$(GO) run ./internal/localaws/cmd/localaws -addr 127.0.0.1:4566
