#!/usr/bin/env bash
# Seed benchmark: `ddb seed --synthetic` against the engine's ceiling (examples/ceiling.rs, the
# fastest minimal BatchWriteItem loader for the same items, requests built before the clock
# starts), then peak RSS at 10x the messages. Every measured run gets its own fresh in-memory
# DynamoDB Local, warmed up first on a stream-less scratch table (the JVM's JIT makes a cold
# instance's first seconds slow; a second stream-enabled table would halve the rate, measured),
# with the measured table made by schema-load (stream on). ddb and the ceiling alternate for
# ROUNDS rounds and the best rate of each counts, which evens out a busy machine.
# Prints figures; asserts nothing about time.
# Targets (issue 3): >= 90% of the ceiling, peak RSS < 50 MB, flat from 20,000 to 200,000.
source "$(dirname "$0")/lib.sh"

N="${SEED_BENCH_MESSAGES:-20000}"
BIG="${SEED_BENCH_BIG:-200000}"
ROUNDS="${SEED_BENCH_ROUNDS:-3}"
CEILING="${CEILING:-$BENCH_ROOT/target/release/examples/ceiling}"
CEILING_CONCURRENCY="${CEILING_CONCURRENCY:-8 16}"
TABLE=cruddur-messages
out="$(mktemp -d)"
trap 'stop_local; rm -rf "$out"' EXIT
python3 -c "import json,sys;s=json.load(open(sys.argv[1]));s.pop('StreamSpecification',None);json.dump(s,open(sys.argv[2],'w'))" \
  "$BENCH_ROOT/fixtures/schema.json" "$out/warmup-schema.json"

groups() { local g=$(( $1 / 100 )); (( g > 1000 )) && g=1000; (( g < 1 )) && g=1; echo "$g"; }
field() { python3 -c "import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
max() { python3 -c "import sys;print(max(float(a) for a in sys.argv[1:]))" "$@"; }

# A fresh instance, warmed up on a separate table, and an empty measured table.
fresh_warm_table() {
  stop_local
  start_fresh_local
  "$DDB" --endpoint-url "$ENDPOINT" --table bench-warmup schema-load --schema "$out/warmup-schema.json" >/dev/null
  "$DDB" --endpoint-url "$ENDPOINT" --table bench-warmup seed --synthetic 5000 --rng-seed 99 >/dev/null
  "$DDB" --endpoint-url "$ENDPOINT" --table "$TABLE" schema-load >/dev/null
}

ddb_best=0
ceiling_best=0
for round in $(seq 1 "$ROUNDS"); do
  fresh_warm_table
  measure "ddb seed --synthetic $N (round $round)" \
    bash -c "'$DDB' --endpoint-url '$ENDPOINT' -o json seed --synthetic $N --groups $(groups "$N") > '$out/ddb.json'"
  rate="$(field "$out/ddb.json" items_per_sec)"
  echo "    $(field "$out/ddb.json" items_written) items, $rate items/s, $(field "$out/ddb.json" retries) retries"
  ddb_best="$(max "$ddb_best" "$rate")"
  ddb_rss="$RSS_MB"
  for c in $CEILING_CONCURRENCY; do
    fresh_warm_table
    "$CEILING" "$ENDPOINT" "$TABLE" "$N" "$(groups "$N")" "$c" > "$out/ceiling.json"
    rate="$(field "$out/ceiling.json" items_per_sec)"
    printf '  %-48s %s items/s\n' "ceiling, concurrency $c (round $round)" "$rate"
    ceiling_best="$(max "$ceiling_best" "$rate")"
  done
done
echo "  ddb best $ddb_best items/s, ceiling best $ceiling_best items/s"
echo "  ddb share of the ceiling: $(ratio "$ddb_best" "$ceiling_best") (target >= 0.90)"

fresh_warm_table
measure "ddb seed --synthetic $BIG" \
  bash -c "'$DDB' --endpoint-url '$ENDPOINT' -o json seed --synthetic $BIG --groups $(groups "$BIG") > '$out/big.json'"
echo "    $(field "$out/big.json" items_written) items, $(field "$out/big.json" items_per_sec) items/s"
echo "  peak RSS $N -> $BIG messages: $ddb_rss MB -> $RSS_MB MB (x$(ratio "$RSS_MB" "$ddb_rss"); target < 50 MB, flat)"
