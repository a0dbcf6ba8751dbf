#!/usr/bin/env bash
# Stream handler: ddb's coalescing handler vs a straight Python port of the ORIGINAL handler
# logic (original_handler.py: record by record, query the group index, delete + put each row),
# on the same records: 1,000 new messages in 100 conversations, written round-robin, delivered
# as one Lambda event (Lambda allows batches of up to 10,000 records with a batching window).
# Each side runs on its own fresh DynamoDB Local with identical data (the messages exist, as
# the app wrote them); both must leave every GRP# row at its conversation's newest message.
# Prints messages/s for both and the ratio; asserts nothing about time.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=1000
NGROUPS=100
FIX="$BENCH_ROOT/scripts/bench/stream_fixture.py"
WORK="$(mktemp -d)"
trap 'stop_local; rm -rf "$WORK"' EXIT

python3 "$FIX" fixture "$NGROUPS" "$N" >"$WORK/fixture.json"
python3 "$FIX" event "$NGROUPS" "$N" >"$WORK/event.json"

# prepare: a fresh instance with the seeded conversations and the new messages (not measured).
prepare() {
  stop_local
  start_fresh_local
  "$DDB" --endpoint-url "$ENDPOINT" schema-load >/dev/null
  "$DDB" --endpoint-url "$ENDPOINT" seed --fixture "$WORK/fixture.json" --now 2026-01-01T00:00:00Z >/dev/null
  python3 "$FIX" write "$ENDPOINT" "$WORK/event.json"
}

# rows_right LABEL: every GRP# row must carry its conversation's newest message.
rows_right() {
  local right
  right="$(python3 "$FIX" check "$ENDPOINT" "$NGROUPS" "$N")"
  echo "    $1: $right of $((2 * NGROUPS)) GRP# rows at their conversation's newest message"
}

echo "  handler: $N new messages in $NGROUPS conversations (round-robin), one Lambda event, same records for both"
prepare
measure "python port of the original handler (boto3)" \
  python3 "$BENCH_ROOT/scripts/bench/original_handler.py" "$ENDPOINT" "$WORK/event.json"
WALL_PY="$WALL"
rows_right "python port"

prepare
measure "ddb simulate-stream --event (coalesced, --concurrency 16)" \
  bash -c "\"$DDB\" --endpoint-url $ENDPOINT simulate-stream --event $WORK/event.json --concurrency 16 -o json >$WORK/ddb.json"
WALL_DDB="$WALL"
rows_right "ddb"
python3 - "$WORK/ddb.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
print(f"    ddb: {s['processed']} records, updated {s['updated']} ({s['rows_updated']} rows), "
      f"skipped {s['skipped']} (superseded), failed {s['failed']}, retries {s['retries']}; "
      f"its own clock: {s['messages_per_s']} messages/s over {s['elapsed_s']} s")
PY
python3 - "$N" "$WALL_PY" "$WALL_DDB" <<'PY'
import sys
n, py, ddb = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"    python port: {n / py:8.1f} messages/s (whole process)")
print(f"    ddb:         {n / ddb:8.1f} messages/s (whole process)")
print(f"    ddb / python port: {py / ddb:.2f}x   (goals: ddb >= 1,000 messages/s, >= 5x)")
PY
