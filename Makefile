# The two commands of the README:
#   make demo   installs what is needed, builds a release and runs the gateway on the simulated demo
#   make test   installs what the tests need and runs the whole test suite (what CI runs)
SWIFT ?= swift

.PHONY: demo test deps test-deps build release

deps:
	scripts/install-deps.sh runtime

test-deps:
	scripts/install-deps.sh test

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

build:
	$(SWIFT) build --build-tests

demo: release
	scripts/demo.sh

test: test-deps
	$(SWIFT) build --build-tests
	FIELDLINK_BIN=$$($(SWIFT) build --show-bin-path)/fieldlink $(SWIFT) test --skip-build
