#!/usr/bin/env bash
# ddb diff (issue 20), on a fresh in-memory DynamoDB Local: two tables of the same synthetic
# items, the right one then given 10 changed and 10 new items.
#  - speed: `ddb diff A B -o ndjson` against the two sides' parallel scans alone (`ddb scan
#    --raw -o ndjson` of A and of B at the same time, default segments), items of both sides
#    per second, best of ROUNDS alternating rounds (goal >= 0.8); the raw HTTP scanner of both
#    sides at once for reference; diff of the two tables' exports (CPU only).
#  - memory: peak RSS of diff at 20,000 and 200,000 items per side (goal <= 100 MB, flat).
# Prints figures and ratios; asserts nothing about time.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS="${DIFF_BENCH_ROUNDS:-2}"
SMALL="${DIFF_BENCH_SMALL:-20000}"
BIG="${DIFF_BENCH_BIG:-200000}"
RAW="${RAW_SCAN:-$BENCH_ROOT/target/release/examples/raw_scan}"
WORK="$(mktemp -d)"
trap 'stop_local; rm -rf "$WORK"' EXIT

start_fresh_local
ddb() { "$DDB" --endpoint-url "$ENDPOINT" "$@"; }
# Without a stream: two stream-enabled tables on one instance make writes crawl.
python3 -c "import json,sys;s=json.load(open(sys.argv[1]));s.pop('StreamSpecification',None);json.dump(s,open(sys.argv[2],'w'))" \
  "$BENCH_ROOT/fixtures/schema.json" "$WORK/schema.json"
ddb --table bench-a schema-load --schema "$WORK/schema.json" >/dev/null
ddb --table bench-b schema-load --schema "$WORK/schema.json" >/dev/null
best() { python3 -c "import sys;print(f'{max(float(a) for a in sys.argv[1:]):.0f}')" "$@"; }
# per_s ITEMS SECONDS
per_s() { python3 -c "import sys;print(f'{float(sys.argv[1]) / float(sys.argv[2]):.0f}')" "$1" "$2"; }

# fill N SEED: N more items (messages and their group rows) into both tables, the same ones.
COUNT=0
fill() {
  local add=$(( $1 - COUNT )) groups
  groups=$((add / 200))
  for t in bench-a bench-b; do
    measure "seed $t +$add items" "$DDB" --endpoint-url "$ENDPOINT" --table "$t" \
      seed --synthetic $((add - 2 * groups)) --groups "$groups" --rng-seed "$2" --now 2026-01-01T00:00:00Z -o json
  done
  COUNT="$1"
}

# A known difference: 10 of B's items changed, 10 new ones (put with the import path).
change_right() {
  ddb --table bench-b scan --limit 10 --raw -o ndjson >"$WORK/ten.ndjson"
  python3 - "$WORK/ten.ndjson" "$WORK/change.json" <<'PY'
import json, sys
out = open(sys.argv[2], "w")
for i, line in enumerate(open(sys.argv[1])):
    item = json.loads(line)
    item["bench_changed"] = {"S": "yes"}
    out.write(json.dumps({"Item": item}) + "\n")
    new = dict(item, pk={"S": f"MSG#bench-new-{i}"})
    out.write(json.dumps({"Item": new}) + "\n")
PY
  ddb --table bench-b import "$WORK/change.json" >/dev/null
}

# diff_once LABEL ARGS...: `ddb diff ARGS -o ndjson`, its wall time and peak RSS; checks the
# 20 differences; sets WALL, RSS_MB.
diff_once() {
  local label="$1"; shift
  measure "$label" bash -c "\"$DDB\" --endpoint-url $ENDPOINT diff $* -o ndjson >$WORK/diff.ndjson"
  local n
  n="$(wc -l <"$WORK/diff.ndjson")"
  [[ "$n" == 20 ]] || { echo "bench: expected 20 differences, got $n" >&2; exit 1; }
}

echo "diff at $SMALL items per side:"
fill "$SMALL" 21
change_right
diff_once "ddb diff bench-a bench-b" bench-a bench-b
SMALL_RSS="$RSS_MB"

echo "diff at $BIG items per side:"
fill "$BIG" 22
ddb --table bench-a scan -o ndjson >/dev/null # warm up
PER_SIDE=$((BIG + 10))
diff_best=0 scans_best=0 raw_best=0
for round in $(seq 1 "$ROUNDS"); do
  diff_once "round $round: ddb diff bench-a bench-b" bench-a bench-b
  diff_best="$(best "$diff_best" "$(per_s $((BIG + PER_SIDE)) "$WALL")")"
  BIG_RSS="$(best "${BIG_RSS:-0}" "$RSS_MB")"
  measure "round $round: ddb scan of both sides at once" bash -c \
    "\"$DDB\" --endpoint-url $ENDPOINT --table bench-a scan --raw -o ndjson >/dev/null & \"$DDB\" --endpoint-url $ENDPOINT --table bench-b scan --raw -o ndjson >/dev/null & wait"
  scans_best="$(best "$scans_best" "$(per_s $((BIG + PER_SIDE)) "$WALL")")"
  measure "round $round: raw_scan (32 segments) of both at once" bash -c \
    "\"$RAW\" $ENDPOINT bench-a 32 >/dev/null & \"$RAW\" $ENDPOINT bench-b 32 >/dev/null & wait"
  raw_best="$(best "$raw_best" "$(per_s $((BIG + PER_SIDE)) "$WALL")")"
done
echo "  items of both sides per second, best of $ROUNDS: diff $diff_best, both ddb scans alone $scans_best, both raw scans $raw_best"
echo "  diff / the two sides' parallel scans: $(ratio "$diff_best" "$scans_best")   (goal >= 0.8)"
echo "  diff / the raw scans:                 $(ratio "$diff_best" "$raw_best")"
echo "  diff peak RSS $SMALL -> $BIG items per side: $SMALL_RSS -> $BIG_RSS MB (x$(ratio "$BIG_RSS" "$SMALL_RSS"); goal <= 100 MB, flat)"

echo "diff of the two tables' exports ($BIG items per side, no DynamoDB in the loop):"
ddb --table bench-a export "$WORK/a" >/dev/null
ddb --table bench-b export "$WORK/b" >/dev/null
diff_once "ddb diff EXPORT_A EXPORT_B" "$WORK/a" "$WORK/b"
echo "  $(per_s $((BIG + PER_SIDE)) "$WALL") items of both sides per second, peak RSS $RSS_MB MB"
