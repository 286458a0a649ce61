# bearerguard developer interface. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

AS_DIR := tests/authorization-server
VENV := .venv
PY := $(VENV)/bin/python

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := token_parser jwks_parser introspection_parser header_parser

.PHONY: help setup test test-rust test-python test-node lint lint-rust fmt demo bench fuzz ci

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(AS_DIR)/node_modules/.installed: $(AS_DIR)/package-lock.json
	cd $(AS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(AS_DIR)/node_modules/.installed ## install the test authorization server (npm, into the checkout)

test: lint-rust test-rust test-python test-node ## every suite: Rust (lint + unit + fake AS + real AS + shared cases), Python, Node
	@echo "all suites passed"

test-rust: setup ## Rust core tests, including the real authorization server interop
	cargo test --workspace --all-targets
	cargo test --workspace --doc

test-python: ## Python package tests (filled in by the Python package)
	@true

test-node: ## Node package tests (filled in by the Node package)
	@true

lint-rust: ## cargo fmt --check and clippy -D warnings
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

lint: lint-rust ## all linters

fmt: ## format the Rust code
	cargo fmt --all

demo: setup ## the main job: real AS + protected apps, one table of decisions
	cargo build -q -p bearerguard --example protected_api
	node tests/demo/run.mjs

ci: test ## what CI runs

fuzz: ## run every cargo-fuzz target for FUZZ_SECONDS each (not in CI; installs cargo-fuzz on demand)
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t && \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run $$t corpus/$$t seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) -max_len=20000 || exit 1; \
	done

bench: ## criterion benchmarks of the core (figures only)
	cargo bench -p bearerguard --bench validate -- --warm-up-time 1 --measurement-time 3
