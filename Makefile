# The two commands of the README:
#   make demo   installs what is needed, builds a release and runs the gateway on the simulated demo
#   make test   installs what the tests need and runs the whole test suite (what CI runs)
#   make test-systemd   the package under a real systemd 252 in a QEMU Debian 12 guest (part of make test)
# Deployment (README: Deploy on a Raspberry Pi):
#   make deb [ARCH=arm64]             dist/fieldlink_<version>_<arch>.deb (release build, scripts/build-deb.sh;
#                                     ARCH=arm64 cross-builds from x86_64, scripts/cross-build.sh)
#   make install / make uninstall     elsewhere: PREFIX (default /usr/local) and DESTDIR, from a release build
SWIFT ?= swift

.PHONY: demo test test-systemd deps test-deps deb-deps build release deb install uninstall fuzz

deps:
	scripts/install-deps.sh runtime

test-deps:
	scripts/install-deps.sh test

deb-deps:
	scripts/install-deps.sh deb

release: deps
	$(SWIFT) build -c release --static-swift-stdlib --product fieldlink

build:
	$(SWIFT) build --build-tests

demo: release
	scripts/demo.sh

test: test-deps deb-deps
	SWIFT=$(SWIFT) scripts/test-all.sh

# The release package (as `make deb` builds it) installed with apt in a Debian 12 guest booted with
# systemd 252 under QEMU, and a deployment scenario run there (scripts/test-systemd.sh; README:
# Deploy on a Raspberry Pi). The bookworm root is cached; a cached run takes a few minutes.
test-systemd: test-deps deb-deps
	SWIFT=$(SWIFT) scripts/test-systemd.sh

# `make fuzz FUZZ_SECONDS=N`: every harness (fuzz/Harness) for N seconds; see scripts/fuzz.sh.
# `make fuzz FUZZ_RUNS=M FUZZ_SECONDS=N`: each stops after M executions, or N seconds at most.
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?=
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=$(FUZZ_RUNS) SWIFT=$(SWIFT) scripts/fuzz.sh

# ARCH=arm64 on an x86_64 machine cross-builds (scripts/cross-build.sh says what is missing, if anything).
deb: deb-deps
	SWIFT=$(SWIFT) scripts/build-deb.sh $(if $(ARCH),--arch $(ARCH))

# `make install` does not build (so `sudo make install` never runs the compiler as root): build first
# with `make release` or `swift build -c release --static-swift-stdlib --product fieldlink`. The unit's paths follow PREFIX
# (systemd and systemd-sysusers also read /usr/local/lib/...); the config stays in /etc/fieldlink,
# where the unit looks for it, and an existing one is kept.
PREFIX ?= /usr/local
DESTDIR ?=
BINARY ?= .build/release/fieldlink
bindir = $(PREFIX)/bin
unitdir = $(PREFIX)/lib/systemd/system
sysusersdir = $(PREFIX)/lib/sysusers.d
datadir = $(PREFIX)/share/fieldlink
docdir = $(PREFIX)/share/doc/fieldlink
confdir = /etc/fieldlink
# systemctl only on the running system (no DESTDIR) with systemd as init.
live_systemd = [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]

install:
	@test -x "$(BINARY)" || { echo "make install: $(BINARY) not found; build it first: make release (or swift build -c release --static-swift-stdlib --product fieldlink)" >&2; exit 1; }
	install -D -m 0755 "$(BINARY)" "$(DESTDIR)$(bindir)/fieldlink"
	install -d -m 0755 "$(DESTDIR)$(unitdir)"
	sed -e 's|/usr/bin/fieldlink|$(bindir)/fieldlink|g' -e 's|/usr/share/doc/fieldlink|$(docdir)|g' \
		systemd/fieldlink.service >"$(DESTDIR)$(unitdir)/fieldlink.service"
	chmod 0644 "$(DESTDIR)$(unitdir)/fieldlink.service"
	install -D -m 0644 systemd/fieldlink.sysusers "$(DESTDIR)$(sysusersdir)/fieldlink.conf"
	install -D -m 0644 README.md "$(DESTDIR)$(docdir)/README.md"
	cd devices && find . -type f -exec install -D -m 0644 {} "$(DESTDIR)$(datadir)/devices/{}" \;
	@if [ -e "$(DESTDIR)$(confdir)/fieldlink.yaml" ]; then \
		echo "keeping the existing $(DESTDIR)$(confdir)/fieldlink.yaml"; \
	else \
		install -D -m 0644 config/example.yaml "$(DESTDIR)$(confdir)/fieldlink.yaml"; \
		echo "installed the example config as $(DESTDIR)$(confdir)/fieldlink.yaml"; \
	fi
	@if $(live_systemd); then \
		systemd-sysusers fieldlink.conf && systemctl daemon-reload; \
		echo "next: edit $(confdir)/fieldlink.yaml, then systemctl enable --now fieldlink"; \
	fi

uninstall:
	@if $(live_systemd); then systemctl disable --now fieldlink.service || true; fi
	rm -f "$(DESTDIR)$(bindir)/fieldlink" "$(DESTDIR)$(unitdir)/fieldlink.service" \
		"$(DESTDIR)$(sysusersdir)/fieldlink.conf" "$(DESTDIR)$(docdir)/README.md"
	cd devices && find . -type f -exec rm -f "$(DESTDIR)$(datadir)/devices/{}" \;
	for dir in "$(DESTDIR)$(datadir)" "$(DESTDIR)$(docdir)"; do \
		if [ -d "$$dir" ]; then find "$$dir" -depth -type d -empty -delete; fi; \
	done
	@if $(live_systemd); then systemctl daemon-reload; fi
	@echo "left in place: $(DESTDIR)$(confdir) (your config and credentials) and /var/lib/fieldlink (the ring)"
