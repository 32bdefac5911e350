# iem — Exchange to IceWarp migration. See README.md.
GO       ?= go
FUZZTIME ?= 8s
BIN      := bin

.PHONY: all build test test-long testbed corpora fuzz fuzz-smoke bench demo lint vectors clean
.PHONY: dist dist-check cross

all: build

build:
	$(GO) build ./...
	@mkdir -p $(BIN)
	@for c in cmd/*/; do [ -f $$c/main.go ] && $(GO) build -o $(BIN)/ ./$$c || true; done

# testbed installs (idempotently, from Debian's packages) the real servers the
# tests start on loopback: Samba AD, OpenLDAP, Dovecot, Radicale.
testbed:
	./scripts/testbed-install

# corpora fetches outside test data (Debian packages, never committed).
corpora:
	@if [ -x format/testdata/fetch-corpora.sh ]; then format/testdata/fetch-corpora.sh; fi

test: testbed corpora lint cross
	$(GO) test -race -timeout 19m ./...
	$(MAKE) fuzz-smoke

test-long: testbed corpora
	IEM_TEST_LONG=1 $(GO) test -timeout 60m ./...

# fuzz-smoke runs every fuzz target briefly; fuzz runs them longer.
fuzz-smoke:
	./scripts/fuzz $(FUZZTIME)

fuzz:
	./scripts/fuzz 2m

# bench runs the Go benchmarks of the hot paths (archive, APPEND against
# mbsync into the same Dovecot, the importer into Dovecot and in path mode
# against a plain copy), then the end-to-end harness (bench/), which writes
# bench/results.md.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./archive/
	$(GO) test -run '^$$' -bench 'MIMEDecode' ./exchange/internal/soap/
	$(GO) test -run '^$$' -bench 'Append|Mbsync' -benchtime 1000x ./icewarp/imapsink/
	$(GO) test -run '^$$' -bench 'ImportDovecot|PathMode' -benchtime 1x ./cmd/iem-import/
	$(GO) test -run '^$$' -bench 'Harness' -benchtime 1x -timeout 15m -v ./bench/

demo:
	@if [ -x scripts/demo ]; then ./scripts/demo; else \
	  echo "iem demo: not yet — the end-to-end demo lands with issue 6 (export and import first)."; fi

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...

# vectors regenerates the spec's test vectors from the independent generator
# into a temporary folder and fails if a plain (unencrypted) vector differs
# from the committed one; encrypted vectors hold fresh random keys each time.
vectors:
	@tmp=$$(mktemp -d) && $(GO) run ./spec/internal/gen -out $$tmp && \
	  for f in spec/testdata/*.vec; do n=$$(basename $$f); \
	    grep -q -a -e '^identity: ' -e '^passphrase: ' -e '^comment: .*encrypt' $$f && continue; \
	    cmp -s $$f $$tmp/$$n || { echo "vector differs: $$n"; rm -rf $$tmp; exit 1; }; done; \
	  rm -rf $$tmp; echo "spec vectors: plain vectors reproduce byte for byte"

# dist cross-builds the committed HEAD for windows/amd64, linux/amd64 and
# linux/arm64 into dist/ with SHA256SUMS (reproducible; see scripts/dist).
# dist-check builds it a second time with an empty build cache and fails
# unless both builds are byte-identical.
dist:
	./scripts/dist

dist-check:
	./scripts/dist -check

# cross builds both commands for the other release targets (discarding the
# binaries), so a change that breaks Windows or arm64 fails make test and CI;
# linux/amd64 is built by the tests themselves.
cross:
	@for t in windows/amd64 linux/arm64; do echo "cross: $$t"; \
	  CGO_ENABLED=0 GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build ./cmd/iem-export ./cmd/iem-import || exit 1; done

clean:
	rm -rf $(BIN) demo/archive demo/archive-graph
