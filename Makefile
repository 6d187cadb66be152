# Palisade's developer commands. `make test` is the README's test command.
GO      ?= go
PKGS    := ./...
# The race detector needs cgo; a machine with Go alone still runs the suite.
RACE    := $(shell $(GO) env CGO_ENABLED | grep -q 1 && command -v $$($(GO) env CC) >/dev/null 2>&1 && echo -race)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X github.com/palisade-hq/palisade/internal/buildinfo.Version=$(VERSION) \
	-X github.com/palisade-hq/palisade/internal/buildinfo.Commit=$(COMMIT) \
	-X github.com/palisade-hq/palisade/internal/buildinfo.Date=$(DATE)
TOOLS   := $(shell $(GO) env GOPATH)/bin

.PHONY: test dev build lint vuln infra-check services bench-list fuzz

test:
	$(GO) test $(RACE) -count=1 -timeout 30m $(PKGS)

dev:
	$(GO) run ./cmd/palisade dev

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/palisade ./cmd/palisade

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@test -x $(TOOLS)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	$(TOOLS)/staticcheck $(PKGS)

vuln:
	@test -x $(TOOLS)/govulncheck || $(GO) install golang.org/x/vuln/cmd/govulncheck@v1.9.0
	$(TOOLS)/govulncheck $(PKGS)

infra-check:
	bash scripts/infra-check.sh

# Start local MariaDB, Redis, Chromium and the node clients, and print the
# exports that make the suite use them: eval "$$(make -s services)".
services:
	@bash scripts/test-services.sh

bench-list:
	bash bench/list/run.sh

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzClassify -fuzztime 30s ./internal/tenancy
	$(GO) test -run '^$$' -fuzz FuzzParseCIDRs -fuzztime 30s ./internal/config
