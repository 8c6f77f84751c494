# The two commands of the README, plus the benchmarks. Each installs what is missing first.
SWIFT ?= swift
DEMO_ARGS ?=

.PHONY: deps test-deps build test demo bench clean

deps:
	@scripts/install-deps.sh

# The tests also run the deployment tools (prometheus, sshd in namespaces, podman, kubectl).
test-deps:
	@scripts/install-deps.sh --tests

build: deps
	$(SWIFT) build

# Build once (tests included), then run without a second build.
test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: deps
	$(SWIFT) build --product fedpulse
	"$$($(SWIFT) build --show-bin-path)/fedpulse" demo $(DEMO_ARGS)

# One release build of every product: fedpulse and fedpulse-bench (given `--product` twice,
# swift build builds only the last one).
# SCRATCH=DIR builds and runs from another scratch path, beside a developer's .build.
bench: deps
	$(SWIFT) build -c release $(if $(SCRATCH),--scratch-path $(SCRATCH))
	SWIFT="$(SWIFT)" SCRATCH="$(SCRATCH)" scripts/run-bench.sh

clean:
	rm -rf .build
