#!/usr/bin/env bash
# One long conversation read whole: `ddb get-conversation <group> --all -o json` at 25,000,
# 50,000 and 100,000 messages, wall time and peak RSS, beside `ddb query MSG#<group> --all -o json`
# (the same partition as generic items). get-conversation --all prints each page as it comes,
# so its peak RSS must stay flat as the conversation grows (issue 17: <= 50 MB at 100,000).
# Prints figures and ratios; asserts nothing about time.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZES="${CONVERSATION_BENCH_SIZES:-25000 50000 100000}"
start_fresh_local
ddb() { "$DDB" --endpoint-url "$ENDPOINT" "$@"; }
ddb schema-load >/dev/null

first_rss=""
for n in $SIZES; do
  table="conversation-$n"
  ddb --table "$table" schema-load >/dev/null
  # One conversation of n messages (the generator's data set for --groups 1).
  ddb --table "$table" seed --synthetic "$n" --groups 1 >/dev/null
  group="$(ddb --table "$table" scan -o ndjson --pk-prefix 'MSG#' --limit 1 |
    python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["pk"].removeprefix("MSG#"))')"
  echo "one conversation of $n messages:"
  measure "get-conversation --all -o json" \
    "$DDB" --endpoint-url "$ENDPOINT" --table "$table" get-conversation "$group" --all -o json
  conversation_rss="$RSS_MB"
  measure "query MSG#<group> --all -o json" \
    "$DDB" --endpoint-url "$ENDPOINT" --table "$table" query "MSG#$group" --all -o json
  first_rss="${first_rss:-$conversation_rss}"
  echo "  get-conversation --all peak RSS: $conversation_rss MB (x$(ratio "$conversation_rss" "$first_rss") of the first size; target <= 50 MB, flat)"
  ddb --table "$table" drop >/dev/null
done
