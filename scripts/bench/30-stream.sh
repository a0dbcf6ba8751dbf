#!/usr/bin/env bash
# Stream handler throughput (issue 5): 1,000 messages across 100 conversations.
#  1. the table's stream after `seed --synthetic` (DescribeStream, GetShardIterator, GetRecords,
#     then per message one Query of the group index, plus a TransactWriteItems per GRP# row
#     that moves);
#  2. the write path on its own: 1,000 newer messages for the same conversations as a Lambda
#     event file (every message moves both rows), handled one record at a time and with
#     --concurrency 4 (records of one conversation stay in order).
# Prints figures and ratios; asserts nothing about time.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=1000
NGROUPS=100
WORK="$(mktemp -d)"
trap 'stop_local; rm -rf "$WORK"' EXIT


# summarise FILE WALL LABEL: per-second figures from a simulate-stream JSON result and the wall
# time measured around the whole process (startup and stream discovery included).
summarise() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
out = json.load(open(sys.argv[1]))
s, wall, label = out["summary"], float(sys.argv[2]), sys.argv[3]
print(f"    {label}: {s['processed']} stream records, {s['messages']} messages "
      f"(updated {s['updated']} / {s['rows_updated']} rows, skipped {s['skipped']}, "
      f"failed {s['failed']}, retries {s['retries']})")
print(f"    {label}: {s['messages'] / wall:8.1f} messages/s   {s['processed'] / wall:8.1f} records/s"
      f"   (ddb's own clock: {s['messages_per_s']} messages/s, {s['records_per_s']} records/s)")
PY
}

# 0. NGROUPS conversations between 2*NGROUPS users, seeded in the past; their stream records
# are consumed into a checkpoint first, so the measured run reads only the new messages.
start_fresh_local
"$DDB" --endpoint-url "$ENDPOINT" schema-load >/dev/null
python3 "$BENCH_ROOT/scripts/bench/stream_fixture.py" fixture "$NGROUPS" "$N" >"$WORK/fixture.json"
python3 "$BENCH_ROOT/scripts/bench/stream_fixture.py" puts "$NGROUPS" "$N" >"$WORK/puts.txt"
"$DDB" --endpoint-url "$ENDPOINT" seed --fixture "$WORK/fixture.json" --now 2026-01-01T00:00:00Z >/dev/null
"$DDB" --endpoint-url "$ENDPOINT" simulate-stream --from trim-horizon --checkpoint "$WORK/cp.json" -o json >/dev/null
# Not measured: the new messages, written by put-message four processes at a time, as the app
# writes them (MSG# only; the GRP# rows are left to the handler).
xargs -P 4 -L 1 bash -c '"$0" --endpoint-url "$1" put-message --fixture "$2" --group "$3" --handle "$4" --message "$5" >/dev/null' \
  "$DDB" "$ENDPOINT" "$WORK/fixture.json" <"$WORK/puts.txt"
echo "  stream: $N new messages (put-message) in $NGROUPS seeded conversations, read after the checkpoint"
measure "simulate-stream (the new messages)" \
  bash -c "\"$DDB\" --endpoint-url $ENDPOINT simulate-stream --from trim-horizon --checkpoint $WORK/cp.json -o json >$WORK/new.json"
summarise "$WORK/new.json" "$WALL" "new messages"

# 1. A fresh instance for the synthetic data (a second stream table would halve write rates).
stop_local
start_fresh_local
"$DDB" --endpoint-url "$ENDPOINT" schema-load >/dev/null
"$DDB" --endpoint-url "$ENDPOINT" seed --synthetic "$N" --groups "$NGROUPS" -o json >"$WORK/seed.json"
echo "  stream: $N messages in $NGROUPS conversations, seeded, read from TRIM_HORIZON (rows already current: the skip path)"
measure "simulate-stream --from trim-horizon" \
  bash -c "\"$DDB\" --endpoint-url $ENDPOINT simulate-stream --from trim-horizon -o json >$WORK/stream.json"
summarise "$WORK/stream.json" "$WALL" "stream"

# Event files of $N newer messages for the conversations seen in the stream (round-robin,
# strictly newer than anything seeded), as the Lambda would receive them.
make_event() {
  python3 - "$WORK/stream.json" "$1" "$2" <<'PY'
import json, sys, uuid
out, offset = json.load(open(sys.argv[1])), int(sys.argv[3])
msgs = [r for r in out["records"] if r["pk"].startswith("MSG#")]
groups = sorted({r["pk"] for r in msgs})
n = len(msgs)
records = []
for i in range(n):
    pk = groups[i % len(groups)]
    sk = f"2999-01-01T00:00:00.{offset + i:06d}+00:00"
    image = {"pk": {"S": pk}, "sk": {"S": sk}, "message_uuid": {"S": str(uuid.uuid4())},
             "message": {"S": f"bench message {offset + i}"}, "user_uuid": {"S": str(uuid.uuid4())},
             "user_display_name": {"S": "Bench"}, "user_handle": {"S": "bench"}}
    records.append({"eventID": str(i), "eventName": "INSERT", "eventSource": "aws:dynamodb",
                    "dynamodb": {"Keys": {"pk": image["pk"], "sk": image["sk"]}, "NewImage": image,
                                 "SequenceNumber": f"{offset + i:021d}", "StreamViewType": "NEW_IMAGE"}})
json.dump({"Records": records}, open(sys.argv[2], "w"))
PY
}
make_event "$WORK/event1.json" 0
make_event "$WORK/event4.json" 500000
# The handler applies only messages that exist (a replay must not revive a deleted one): write
# them first, as the app does before the stream delivers them.
python3 "$BENCH_ROOT/scripts/bench/stream_fixture.py" write "$ENDPOINT" "$WORK/event1.json"
python3 "$BENCH_ROOT/scripts/bench/stream_fixture.py" write "$ENDPOINT" "$WORK/event4.json"

echo "  write path: $N newer messages as a Lambda event (each moves both GRP# rows)"
measure "simulate-stream --event (--concurrency 1)" \
  bash -c "\"$DDB\" --endpoint-url $ENDPOINT simulate-stream --event $WORK/event1.json --concurrency 1 -o json >$WORK/event1.out"
WALL1="$WALL"
summarise "$WORK/event1.out" "$WALL1" "concurrency 1"
measure "simulate-stream --event (--concurrency 4)" \
  bash -c "\"$DDB\" --endpoint-url $ENDPOINT simulate-stream --event $WORK/event4.json --concurrency 4 -o json >$WORK/event4.out"
WALL4="$WALL"
summarise "$WORK/event4.out" "$WALL4" "concurrency 4"
echo "    speed-up of --concurrency 4 over 1: $(ratio "$WALL1" "$WALL4")x"
