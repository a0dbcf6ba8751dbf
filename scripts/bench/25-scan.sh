#!/usr/bin/env bash
# Scan at the ceiling (issue 13, part 1), on one fresh in-memory DynamoDB Local:
#  - `ddb scan -o ndjson` of 100,000 items with its default segments, `--segments 1`, and a
#    boto3 Scan paginator, alternating for ROUNDS rounds (best rate of each counts, which evens
#    out a busy machine); items/s and the ratios to boto3 (goal: default >= 3x).
#  - the default (8 segments locally) against 4 in the same rounds, and 2 and 16 once each, to
#    show where the local default sits against the engine's parallel ceiling.
#  - peak RSS of the default scan at 20,000 and 200,000 items (goal: <= 50 MB, flat).
# Every figure comes from this run; prints figures and ratios, asserts nothing about time.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS="${SCAN_BENCH_ROUNDS:-3}"
TABLE=cruddur-messages

if ! python3 -c "import boto3" 2>/dev/null; then
  echo "installing boto3 from PyPI (the comparison's paginator)"
  python3 -m pip install --quiet --user boto3
fi

start_fresh_local
ddb() { "$DDB" --endpoint-url "$ENDPOINT" "$@"; }
ddb schema-load >/dev/null

# grow_to TOTAL RNG_SEED: add synthetic messages (and their 2 group rows per conversation)
# until the table holds TOTAL items; each call uses its own generator seed, so it adds items.
COUNT=0
grow_to() {
  local total="$1" seed="$2" add groups
  add=$((total - COUNT))
  groups=$((add / 200))
  (( groups > 1000 )) && groups=1000
  measure "seed +$add items (rng seed $seed)" \
    "$DDB" --endpoint-url "$ENDPOINT" seed --synthetic $((add - 2 * groups)) --groups "$groups" --rng-seed "$seed" -o json
  COUNT="$total"
}

# run_scan LABEL CMD...: runs CMD, counts its ndjson lines as they stream; sets ITEMS, WALL,
# RATE, RSS_MB and prints them.
run_scan() {
  local label="$1"; shift
  local out
  out="$(python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
lines = 0
while True:
    chunk = p.stdout.read(1 << 20)
    if not chunk:
        break
    lines += chunk.count(b"\n")
code = p.wait()
wall = time.perf_counter() - t
if code != 0:
    sys.exit(f"failed with {code}: {' '.join(sys.argv[1:])}")
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{lines} {wall:.3f} {lines / wall:.0f} {rss:.1f}")
PY
)"
  read -r ITEMS WALL RATE RSS_MB <<<"$out"
  printf '  %-36s %7d items  wall %6.2f s  %7d items/s  peak RSS %6.1f MB\n' \
    "$label" "$ITEMS" "$WALL" "$RATE" "$RSS_MB"
}

# The comparison: a boto3 Scan paginator, one line per item like ddb's ndjson.
BOTO3_SCAN="$(mktemp)"
trap 'stop_local; rm -f "$BOTO3_SCAN"' EXIT
cat >"$BOTO3_SCAN" <<'PY'
import json, sys
import boto3
client = boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
out = sys.stdout
for page in client.get_paginator("scan").paginate(TableName=sys.argv[2]):
    for item in page["Items"]:
        out.write(json.dumps(item))
        out.write("\n")
PY

best() { python3 -c "import sys;print(max(float(a) for a in sys.argv[1:]))" "$@"; }

echo "scan at 20,000 items (peak RSS):"
grow_to 20000 11
run_scan "ddb scan -o ndjson (default)" "$DDB" --endpoint-url "$ENDPOINT" scan -o ndjson
[[ "$ITEMS" == 20000 ]] || { echo "bench: expected 20000 items, scanned $ITEMS" >&2; exit 1; }
SMALL_RSS=$RSS_MB

echo "scan at 100,000 items, $ROUNDS rounds (best items/s of each):"
grow_to 100000 12
# One unmeasured scan first: a fresh instance's JIT makes its first scans slow.
"$DDB" --endpoint-url "$ENDPOINT" scan -o ndjson >/dev/null
default_rates=() seq_rates=() boto_rates=() four_rates=()
for round in $(seq 1 "$ROUNDS"); do
  run_scan "round $round: ddb scan -o ndjson (default)" "$DDB" --endpoint-url "$ENDPOINT" scan -o ndjson
  [[ "$ITEMS" == 100000 ]] || { echo "bench: expected 100000 items, scanned $ITEMS" >&2; exit 1; }
  default_rates+=("$RATE")
  run_scan "round $round: ddb scan --segments 4" "$DDB" --endpoint-url "$ENDPOINT" scan -o ndjson --segments 4
  four_rates+=("$RATE")
  run_scan "round $round: ddb scan --segments 1" "$DDB" --endpoint-url "$ENDPOINT" scan -o ndjson --segments 1
  seq_rates+=("$RATE")
  run_scan "round $round: boto3 paginator" python3 "$BOTO3_SCAN" "$ENDPOINT" "$TABLE"
  [[ "$ITEMS" == 100000 ]] || { echo "bench: boto3 scanned $ITEMS items" >&2; exit 1; }
  boto_rates+=("$RATE")
done
DEFAULT_RATE="$(best "${default_rates[@]}")"
SEQ_RATE="$(best "${seq_rates[@]}")"
BOTO_RATE="$(best "${boto_rates[@]}")"
FOUR_RATE="$(best "${four_rates[@]}")"
for n in 2 16; do
  run_scan "ddb scan --segments $n (one run)" "$DDB" --endpoint-url "$ENDPOINT" scan -o ndjson --segments "$n"
done
printf '  best items/s: default (8) %.0f, --segments 4 %.0f, --segments 1 %.0f, boto3 %.0f\n' \
  "$DEFAULT_RATE" "$FOUR_RATE" "$SEQ_RATE" "$BOTO_RATE"
echo "  default / --segments 4:            $(ratio "$DEFAULT_RATE" "$FOUR_RATE")"
echo "  ddb default / boto3:               $(ratio "$DEFAULT_RATE" "$BOTO_RATE")   (goal >= 3)"
echo "  ddb --segments 1 / boto3:          $(ratio "$SEQ_RATE" "$BOTO_RATE")"

echo "scan at 200,000 items (peak RSS):"
grow_to 200000 13
run_scan "ddb scan -o ndjson (default)" "$DDB" --endpoint-url "$ENDPOINT" scan -o ndjson
[[ "$ITEMS" == 200000 ]] || { echo "bench: expected 200000 items, scanned $ITEMS" >&2; exit 1; }
echo "  peak RSS 20k -> 200k:              $SMALL_RSS -> $RSS_MB MB, ratio $(ratio "$RSS_MB" "$SMALL_RSS")   (goal <= 50 MB, ~1.0)"
