#!/usr/bin/env bash
# Export and import benchmark (issue 11), each measured run on a fresh in-memory DynamoDB Local
# warmed up on a stream-less scratch table:
#  - `ddb export` items/s against a raw 4-segment scan of the same table (`ddb scan --segments 4
#    --raw -o ndjson` to /dev/null): what writing gzip JSON Lines and manifests costs.
#  - `ddb import` items/s (the whole command: the checking pass and the writing pass) against
#    the seed ceiling loader (examples/ceiling.rs) writing the same items, requests built
#    before its clock starts. Target >= 0.90.
#  - peak RSS of export and import at ~100,000 and ~200,000 items (flat: ratio ~1.0).
# ddb and its reference alternate for ROUNDS rounds; the best rate of each counts.
# Prints figures and ratios; asserts nothing about time.
source "$(dirname "$0")/lib.sh"

N="${EXPORT_BENCH_MESSAGES:-20000}"
ROUNDS="${EXPORT_BENCH_ROUNDS:-3}"
SIZES="${EXPORT_BENCH_SIZES:-100000 200000}"
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
ddb() { "$DDB" --endpoint-url "$ENDPOINT" "$@"; }

# A fresh instance, warmed up on a separate table, and an empty measured table.
fresh_warm_table() {
  stop_local
  start_fresh_local
  ddb --table bench-warmup schema-load --schema "$out/warmup-schema.json" >/dev/null
  ddb --table bench-warmup seed --synthetic 5000 --rng-seed 99 >/dev/null
  ddb --table "$TABLE" schema-load >/dev/null
}

# scan_rate ARGS...: items/s of `ddb scan ARGS -o ndjson`, counting lines as they stream.
scan_rate() {
  python3 - "$DDB" --endpoint-url "$ENDPOINT" scan "$@" -o ndjson <<'PY'
import subprocess, sys, time
t = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
lines = 0
while chunk := p.stdout.read(1 << 20):
    lines += chunk.count(b"\n")
if p.wait() != 0:
    sys.exit("scan failed")
print(f"{lines / (time.perf_counter() - t):.1f}")
PY
}

echo "export vs a raw 4-segment scan, $N synthetic messages:"
fresh_warm_table
ddb seed --synthetic "$N" --groups "$(groups "$N")" >/dev/null
export_best=0
scan_best=0
for round in $(seq 1 "$ROUNDS"); do
  rm -rf "$out/snap"
  ddb -o json export "$out/snap" > "$out/export.json"
  rate="$(field "$out/export.json" items_per_sec)"
  printf '  %-48s %s items/s (%s items, %s bytes)\n' "ddb export (round $round)" "$rate" \
    "$(field "$out/export.json" items)" "$(field "$out/export.json" bytes)"
  export_best="$(max "$export_best" "$rate")"
  rate="$(scan_rate --segments 4 --raw)"
  printf '  %-48s %s items/s\n' "ddb scan --segments 4 --raw (round $round)" "$rate"
  scan_best="$(max "$scan_best" "$rate")"
done
echo "  export best $export_best items/s, raw scan best $scan_best items/s"
echo "  export share of the raw scan: $(ratio "$export_best" "$scan_best")"

echo "import vs the seed ceiling loader, the same $N messages:"
import_best=0
ceiling_best=0
for round in $(seq 1 "$ROUNDS"); do
  fresh_warm_table
  ddb -o json import "$out/snap" > "$out/import.json"
  rate="$(field "$out/import.json" items_per_sec)"
  printf '  %-48s %s items/s (%s written, checking %s ms)\n' "ddb import (round $round)" "$rate" \
    "$(field "$out/import.json" items_written)" "$(field "$out/import.json" check_ms)"
  import_best="$(max "$import_best" "$rate")"
  for c in $CEILING_CONCURRENCY; do
    fresh_warm_table
    "$CEILING" "$ENDPOINT" "$TABLE" "$N" "$(groups "$N")" "$c" > "$out/ceiling.json"
    rate="$(field "$out/ceiling.json" items_per_sec)"
    printf '  %-48s %s items/s\n' "ceiling, concurrency $c (round $round)" "$rate"
    ceiling_best="$(max "$ceiling_best" "$rate")"
  done
done
echo "  import best $import_best items/s, ceiling best $ceiling_best items/s"
echo "  import share of the ceiling: $(ratio "$import_best" "$ceiling_best") (target >= 0.90)"

echo "peak RSS by size:"
declare -A export_rss import_rss
first=""
for size in $SIZES; do
  fresh_warm_table
  ddb seed --synthetic "$size" --groups "$(groups "$size")" >/dev/null
  rm -rf "$out/big"
  measure "ddb export, $size messages" \
    bash -c "'$DDB' --endpoint-url '$ENDPOINT' -o json export '$out/big' > '$out/big-export.json'"
  export_rss[$size]="$RSS_MB"
  echo "    $(field "$out/big-export.json" items) items, $(field "$out/big-export.json" items_per_sec) items/s"
  # Into a fresh instance: a second stream-enabled table on the same one makes writes crawl.
  fresh_warm_table
  measure "ddb import, $size messages" \
    bash -c "'$DDB' --endpoint-url '$ENDPOINT' -o json import '$out/big' > '$out/big-import.json'"
  import_rss[$size]="$RSS_MB"
  echo "    $(field "$out/big-import.json" items_written) items, $(field "$out/big-import.json" items_per_sec) items/s"
  [[ -z "$first" ]] && first="$size"
  last="$size"
done
echo "  export peak RSS $first -> $last: ${export_rss[$first]} MB -> ${export_rss[$last]} MB (x$(ratio "${export_rss[$last]}" "${export_rss[$first]}"); flat: ~1.0)"
echo "  import peak RSS $first -> $last: ${import_rss[$first]} MB -> ${import_rss[$last]} MB (x$(ratio "${import_rss[$last]}" "${import_rss[$first]}"); flat: ~1.0)"
