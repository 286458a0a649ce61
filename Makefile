# bearerguard developer interface. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

AS_DIR := tests/authorization-server
VENV := .venv
PY := $(VENV)/bin/python

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := token_parser jwks_parser introspection_parser header_parser

.PHONY: help setup test test-rust test-python test-node lint lint-rust lint-deps lint-python lint-js fmt demo bench fuzz soak ci

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(AS_DIR)/node_modules/.installed: $(AS_DIR)/package-lock.json
	cd $(AS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(AS_DIR)/node_modules/.installed ## install the test authorization server (npm, into the checkout)

test: lint test-rust test-python test-node ## every suite: Rust (lint + cargo deny + unit + fake AS + real AS + shared cases), Python, Node
	@echo "all suites passed"

test-rust: setup ## Rust core tests, including the real authorization server interop
	cargo test --workspace --lib --tests --examples -- --skip conformance_cases
	cargo test -p bearerguard --test cases -- --nocapture
	cargo test -p bearerguard --benches
	cargo test --workspace --doc

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

test-node: setup node-build ## Node package: addon build, tsc --noEmit, node --test (real AS and shared cases included)
	cd node && npx --no-install tsc --noEmit -p .
	cd node && node --test

# The Node addon is built release, as `npm install` builds it for users: napi's build passes
# --target, so it shares no artifacts with `cargo test` anyway, and the tests that time the
# event loop mean something only with optimized code. NODE_BUILD=debug builds a debug addon.
NODE_BUILD ?= release

# `npm install`, not `npm ci`: the lock holds only this platform's optional packages of
# @napi-rs/cli's helpers (the registry here serves no others), and `npm ci` refuses such a lock.
# --ignore-scripts: the package's own install step would build the addon, which node-build does
# (no dependency has an install script), so `make lint-js` needs the dev tools and not a build.
node/node_modules/.installed: node/package.json node/package-lock.json
	cd node && npm install --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# Rebuilt when a Rust source, a manifest or the lock changed, or the other kind was built last.
NODE_SOURCES := $(shell find core/src node/src -name '*.rs') core/Cargo.toml node/Cargo.toml node/build.rs Cargo.lock

# The tests' addon has the test hooks (cargo feature `test-hooks`: a fixed clock, panics in the
# guards); the one `npm install` and `npm run build` make for users has none.
node/.built-$(NODE_BUILD)-test-hooks: node/node_modules/.installed $(NODE_SOURCES)
	rm -f node/.built-*
	cd node && npm run --silent build$(if $(filter debug,$(NODE_BUILD)),:debug) -- --features test-hooks
	touch $@

.PHONY: node-build
node-build: node/.built-$(NODE_BUILD)-test-hooks ## build the Node addon (with the test hooks) from the current sources (npm install first when needed)

lint-rust: ## cargo fmt --check and clippy -D warnings
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

# Dependencies (SECURITY.md): bans (one crypto backend, no `rsa`, jsonwebtoken >= 11.1),
# licenses and sources always; RustSec advisories whenever the database can be fetched. It lives
# on GitHub, which some machines (this project's CI among them) cannot reach: then the target
# says so in capitals rather than passing as if it had looked.
lint-deps: ## cargo deny: bans, licenses, sources, and RustSec advisories when reachable
	command -v cargo-deny >/dev/null || cargo install cargo-deny --locked --quiet
	cargo deny --offline check bans licenses sources
	@if cargo deny fetch db >/dev/null 2>&1; then cargo deny check advisories; \
	else echo "NOTE: RUSTSEC ADVISORIES NOT CHECKED: github.com/RustSec/advisory-db is unreachable from this machine"; fi

# Python: ruff (pinned in python/requirements-dev.txt, configured in ruff.toml) over python/ and
# tests/bench/report.py. JS/TS: Biome (pinned in node/package.json, configured in biome.jsonc)
# over node/ and tests/. Both take well under a second; neither needs the native code built.
RUFF := $(VENV)/bin/ruff
BIOME := node/node_modules/.bin/biome

lint-python: $(VENV)/.python-dev-installed ## ruff check and ruff format --check
	$(RUFF) check python tests
	$(RUFF) format --check python tests

lint-js: node/node_modules/.installed ## biome: lint and format check of the JS/TS in node/ and tests/
	$(BIOME) ci --error-on-warnings .

lint: lint-rust lint-deps lint-python lint-js ## all linters

fmt: $(VENV)/.python-dev-installed node/node_modules/.installed ## format the Rust, Python and JS/TS code
	cargo fmt --all
	$(RUFF) check --select I --fix --quiet python tests
	$(RUFF) format --quiet python tests
	$(BIOME) format --write .

demo: setup python-dev node-build ## the main job: real AS + protected apps, one table of decisions
	cargo build -q -p bearerguard --example protected_api
	node tests/demo/run.mjs

ci: test ## what CI runs

fuzz: ## run every cargo-fuzz target for FUZZ_SECONDS each (not in CI; installs cargo-fuzz on demand)
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t && \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run $$t corpus/$$t seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) -max_len=20000 || exit 1; \
	done

# Figures only, never in CI. Each run rewrites BENCHMARKS.md: the core's criterion benches,
# memory and 2-thread scaling, then the Python and Node bindings against their peers (pinned in
# python/bench/requirements.txt and node/bench/package.json) on one loopback RFC 7662 server.
BENCH_SERVER := target/release/examples/introspection_server
bench: setup ## measure: criterion benches, memory, scaling, Python and Node vs their peers; writes BENCHMARKS.md
	cargo bench -p bearerguard --bench validate -- --warm-up-time 1 --measurement-time 3
	cargo build --release -p bearerguard --example introspection_server --example bench_memory_scaling
	mkdir -p target/bench
	target/release/examples/bench_memory_scaling > target/bench/rust.json
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r python/requirements-dev.txt -r python/bench/requirements.txt
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(VENV)/bin/maturin develop --release --quiet -m python/Cargo.toml
	$(PY) -W ignore python/bench/compare.py --server $(BENCH_SERVER) --out target/bench/python.json
	rm -f node/.built-*
	cd node && BEARERGUARD_BUILD=release npm install --no-audit --no-fund --loglevel=error && npm run --silent build
	cd node/bench && npm ci --no-audit --no-fund --loglevel=error
	cd node && node bench/compare.mjs --server ../$(BENCH_SERVER) --out ../target/bench/node.json
	python3 tests/bench/report.py --root . > BENCHMARKS.md
	@echo "wrote BENCHMARKS.md"

soak: ## stream a million distinct tokens through a caching validator; prints memory figures (not in CI)
	SOAK_TOKENS=$${SOAK_TOKENS:-1000000} cargo test --release -p bearerguard --test soak -- --ignored --nocapture
