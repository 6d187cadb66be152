# Palisade's developer commands. `make test` is the README's test command.
# Go 1.26.8's standard library has known vulnerabilities (fixed in 1.26.9,
# which is not available here); everything built or tested through make uses
# 1.27.3, which the go command fetches from the module proxy on first use.
# go.mod stays at 1.26.8 so a plain `go run ./cmd/palisade dev` still works.
export GOTOOLCHAIN ?= go1.27.3
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
# Analysers must be built by the toolchain that builds the code (govulncheck
# refuses packages newer than itself), so each toolchain gets its own copy.
LINTBIN := $(TOOLS)/$(GOTOOLCHAIN)

.PHONY: test dev build lint vuln vulndb gosec infra-check services bench-list fuzz

# The summary at the end lists what was skipped, or ran on an embedded
# stand-in, for want of a real service (scripts/test-summary.sh).
test:
	@skips=$$(mktemp); trap 'rm -f "$$skips"' EXIT; \
	echo "$(GO) test $(RACE) -count=1 -timeout 30m $(PKGS)"; \
	PALISADE_TEST_SKIPLOG="$$skips" $(GO) test $(RACE) -count=1 -timeout 30m $(PKGS); rc=$$?; \
	bash scripts/test-summary.sh "$$skips"; exit $$rc

dev:
	$(GO) run ./cmd/palisade dev

build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags nodev -ldflags '$(LDFLAGS)' -o bin/palisade ./cmd/palisade

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@test -x $(LINTBIN)/staticcheck || (cd /tmp && GOFLAGS= GOBIN=$(LINTBIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2)
	$(LINTBIN)/staticcheck $(PKGS)
	$(MAKE) -s gosec
	$(MAKE) -s vuln

# govulncheck needs the Go vulnerability database. With no internet it is
# built locally from the OSV reports in the golang.org/x/vulndb module,
# which the module proxy serves: make vulndb, then make vuln uses it.
VULNDB_VERSION ?= v0.0.0-20261105234957-e22db6528018
VULNDB         ?= $(HOME)/.cache/palisade/vulndb
vuln:
	@test -x $(LINTBIN)/govulncheck || (cd /tmp && GOFLAGS= GOBIN=$(LINTBIN) $(GO) install golang.org/x/vuln/cmd/govulncheck@v1.9.0)
	@test -f $(VULNDB)/index/db.json || $(MAKE) -s vulndb
	$(LINTBIN)/govulncheck -db file://$(VULNDB) $(PKGS)

vulndb:
	GOFLAGS= $(GO) mod download golang.org/x/vulndb@$(VULNDB_VERSION)
	rm -rf $(VULNDB) && mkdir -p $(dir $(VULNDB))
	cd /tmp && GOFLAGS= $(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) \
		-vulns $$(GOFLAGS= $(GO) list -m -f '{{.Dir}}' golang.org/x/vulndb@$(VULNDB_VERSION))/data/osv -out $(VULNDB)

# gosec: security lint of everything that is not a _test.go file or a
# test helper. Findings that are false positives are justified
# in place with a #nosec comment that says why. bench/ is left out: it is
# load-generation tooling that never ships and only ever talks to a test
# stack, where math/rand and dropped close errors are by design.
#
# internal/testenv and internal/jobs/jobstest are test-only helpers (they
# start local services from PALISADE_TEST_* paths), so they are left out like
# _test.go files; the check before gosec keeps them out of shipped code.
gosec:
	@test -x $(LINTBIN)/gosec || (cd /tmp && GOFLAGS= GOBIN=$(LINTBIN) $(GO) install github.com/securego/gosec/v2/cmd/gosec@v2.30.0)
	@if git grep -l -e '/internal/testenv"' -e '/internal/jobs/jobstest"' -- '*.go' ':!*_test.go' ':!internal/jobs/jobstest/'; then \
		echo "gosec: the files above import a test-only helper package outside tests"; exit 1; fi
	$(LINTBIN)/gosec -quiet -exclude-generated -exclude-dir=bench -exclude-dir=internal/testenv -exclude-dir=internal/jobs/jobstest $(PKGS)

infra-check:
	bash scripts/infra-check.sh

# Start local MariaDB, Redis, Chromium and the node clients, and print the
# exports that make the suite use them: eval "$$(make -s services)".
services:
	@bash scripts/test-services.sh

bench-list:
	bash bench/list/run.sh

# The longer fuzz run: every target (discovered, see the script) for
# FUZZTIME each. CI runs the same script with 10s. See docs/reliability.md.
FUZZTIME ?= 5m
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash scripts/fuzz-short.sh

# Container images without a container engine: static binaries for both
# architectures, packed by cmd/imagebuild into one OCI layout (an index of
# linux/arm64 and linux/amd64). Stamped with the commit time, not the clock,
# so the same commit always gives the same digest.
SOURCE_DATE ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo 1970-01-01T00:00:00Z)
IMAGE_LDFLAGS := -s -w -X github.com/palisade-hq/palisade/internal/buildinfo.Version=$(VERSION) \
	-X github.com/palisade-hq/palisade/internal/buildinfo.Commit=$(COMMIT) \
	-X github.com/palisade-hq/palisade/internal/buildinfo.Date=$(SOURCE_DATE)

.PHONY: images release-check
images:
	@for arch in arm64 amd64; do \
		echo "go build linux/$$arch"; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -tags nodev -ldflags '$(IMAGE_LDFLAGS)' \
			-o dist/linux-$$arch/palisade ./cmd/palisade || exit 1; \
	done
	$(GO) run ./cmd/imagebuild build -out dist/images/palisade -version $(VERSION) -commit $(COMMIT) \
		-created $(SOURCE_DATE) -bin arm64=dist/linux-arm64/palisade -bin amd64=dist/linux-amd64/palisade \
		-sbom dist/images/palisade.spdx.json
	@ls -l dist/linux-arm64/palisade dist/linux-amd64/palisade

# Everything the release pipeline checks before an image is pushed
# (deploy/buildspec/build.yml runs this target), plus the infra checks.
release-check: lint test images infra-check
	@echo "release-check: all passed"
