#!/usr/bin/env bash
# `just bench`: every benchmark part, each on its own fresh in-memory DynamoDB Local.
# Prints figures and ratios measured in this run; asserts nothing about time.
set -euo pipefail
cd "$(dirname "$0")/.."
for part in scripts/bench/[0-9]*.sh; do
  echo "== $(basename "$part" .sh)"
  bash "$part"
done
