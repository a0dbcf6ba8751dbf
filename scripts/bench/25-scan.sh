#!/usr/bin/env bash
# Scan at the engine's ceiling (issues 13 and 20), on one fresh in-memory DynamoDB Local with
# 100,000 items:
#  1. the raw-vs-ddb table: for 1, 2, 4, … 64 segments, a raw parallel Scan over plain HTTP
#     (examples/raw_scan.rs: no SDK, items counted, not parsed) against `ddb scan -o ndjson
#     --segments N`, alternating for ROUNDS rounds (the best items/s of each counts, which
#     evens out a busy machine); ddb's share of the raw figure per row.
#  2. the defaults: `ddb scan`, `ddb export` and `ddb diff` (the table against itself: both
#     sides scanned at once, items of both sides counted) without --segments, each against the
#     best raw figure of the table (goal >= 0.9), with peak RSS.
#  3. once: a boto3 Scan paginator, the reference of issue 13 (ddb's default >= 3x).
#  4. peak RSS of the default scan at 20,000 and 200,000 items (flat, <= 50 MB).
# Every figure comes from this run; prints figures and ratios, asserts nothing about time.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS="${SCAN_BENCH_ROUNDS:-2}"
SEGMENTS="${SCAN_BENCH_SEGMENTS:-1 2 4 8 16 32 64}"
RAW="${RAW_SCAN:-$BENCH_ROOT/target/release/examples/raw_scan}"
TABLE=cruddur-messages
WORK="$(mktemp -d)"
trap 'stop_local; rm -rf "$WORK"' EXIT

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

# rate LINES_OR_ITEMS CMD...: runs CMD; with LINES_OR_ITEMS=lines counts its stdout lines as
# they stream, with =json reads {"items": N} from its stdout; sets ITEMS, WALL, RATE, RSS_MB.
rate() {
  local how="$1"; shift
  local out
  out="$(python3 - "$how" "$@" <<'PY'
import json, resource, subprocess, sys, time
how, cmd = sys.argv[1], sys.argv[2:]
t = time.perf_counter()
p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
lines, text = 0, b""
while chunk := p.stdout.read(1 << 20):
    if how == "lines":
        lines += chunk.count(b"\n")
    else:
        text += chunk
code = p.wait()
wall = time.perf_counter() - t
if code != 0:
    sys.exit(f"failed with {code}: {' '.join(cmd)}")
items = lines if how == "lines" else json.loads(text)["items"]
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{items} {wall:.3f} {items / wall:.0f} {rss:.1f}")
PY
)"
  read -r ITEMS WALL RATE RSS_MB <<<"$out"
}

expect() { [[ "$ITEMS" == "$1" ]] || { echo "bench: expected $1 items, got $ITEMS ($2)" >&2; exit 1; }; }
best() { python3 -c "import sys;print(f'{max(float(a) for a in sys.argv[1:]):.0f}')" "$@"; }

echo "scan at 20,000 items (peak RSS):"
grow_to 20000 11
rate lines "$DDB" --endpoint-url "$ENDPOINT" scan -o ndjson
expect 20000 "ddb scan"
SMALL_RSS=$RSS_MB
printf '  %-44s %7d items/s  peak RSS %6.1f MB\n' "ddb scan -o ndjson (default)" "$RATE" "$RSS_MB"

grow_to 100000 12
# One unmeasured scan of each kind first: a fresh instance's JIT makes its first scans slow.
"$RAW" "$ENDPOINT" "$TABLE" 8 >/dev/null
ddb scan -o ndjson >/dev/null

echo "raw parallel Scan (HTTP only) vs ddb scan -o ndjson, 100,000 items, best items/s of $ROUNDS rounds:"
declare -A raw_best ddb_best ddb_rss
for n in $SEGMENTS; do raw_best[$n]=0; ddb_best[$n]=0; ddb_rss[$n]=0; done
for round in $(seq 1 "$ROUNDS"); do
  for n in $SEGMENTS; do
    rate json "$RAW" "$ENDPOINT" "$TABLE" "$n"
    expect 100000 "raw_scan $n"
    raw_best[$n]="$(best "${raw_best[$n]}" "$RATE")"
    rate lines "$DDB" --endpoint-url "$ENDPOINT" scan -o ndjson --segments "$n"
    expect 100000 "ddb scan --segments $n"
    ddb_best[$n]="$(best "${ddb_best[$n]}" "$RATE")"
    ddb_rss[$n]="$(best "${ddb_rss[$n]}" "$RSS_MB")"
  done
done
printf '  %8s %12s %12s %10s %14s\n' segments "raw items/s" "ddb items/s" "ddb/raw" "ddb peak RSS"
CEILING=0
for n in $SEGMENTS; do
  printf '  %8s %12s %12s %10s %11s MB\n' "$n" "${raw_best[$n]}" "${ddb_best[$n]}" \
    "$(ratio "${ddb_best[$n]}" "${raw_best[$n]}")" "${ddb_rss[$n]}"
  CEILING="$(best "$CEILING" "${raw_best[$n]}")"
done
BEST_N="$(for n in $SEGMENTS; do echo "${raw_best[$n]} $n"; done | sort -n | tail -1 | cut -d' ' -f2)"
echo "  best raw figure: $CEILING items/s ($BEST_N segments)"

echo "the defaults (no --segments) against the ceiling (the best raw figure of the whole run), best of $ROUNDS rounds:"
scan_rate=0 export_rate=0 diff_rate=0
for round in $(seq 1 "$ROUNDS"); do
  # The raw figure again, in the same rounds as the defaults: the ceiling is the best of all.
  rate json "$RAW" "$ENDPOINT" "$TABLE" "$BEST_N"
  CEILING="$(best "$CEILING" "$RATE")"
  rate lines "$DDB" --endpoint-url "$ENDPOINT" scan -o ndjson
  expect 100000 "ddb scan"
  scan_rate="$(best "$scan_rate" "$RATE")"; scan_rss="$RSS_MB"
  rm -rf "$WORK/snap"
  rate json "$DDB" --endpoint-url "$ENDPOINT" -o json export "$WORK/snap"
  expect 100000 "ddb export"
  export_rate="$(best "$export_rate" "$RATE")"; export_rss="$RSS_MB"
  # Both sides are the same table: 200,000 items read, no difference.
  python3 - "$DDB" --endpoint-url "$ENDPOINT" diff "$TABLE" "$TABLE" --exit-code >"$WORK/diff" <<'PY'
import resource, subprocess, sys, time
t = time.perf_counter()
code = subprocess.run(sys.argv[1:]).returncode
wall = time.perf_counter() - t
if code != 0:
    sys.exit(f"diff failed with {code}")
print(f"{200000 / wall:.0f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.1f}")
PY
  read -r RATE RSS_MB <"$WORK/diff"
  diff_rate="$(best "$diff_rate" "$RATE")"; diff_rss="$RSS_MB"
done
echo "  the ceiling: $CEILING items/s (raw, $BEST_N segments)"
printf '  %-46s %7s items/s  x%s of the ceiling  peak RSS %s MB\n' "ddb scan -o ndjson" "$scan_rate" "$(ratio "$scan_rate" "$CEILING")" "$scan_rss"
printf '  %-46s %7s items/s  x%s of the ceiling  peak RSS %s MB\n' "ddb export" "$export_rate" "$(ratio "$export_rate" "$CEILING")" "$export_rss"
printf '  %-46s %7s items/s  x%s of the ceiling  peak RSS %s MB\n' "ddb diff T T (both sides' items)" "$diff_rate" "$(ratio "$diff_rate" "$CEILING")" "$diff_rss"
echo "  (goal: each >= 0.90 of the ceiling)"

cat >"$WORK/boto3_scan.py" <<'PY'
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
rate lines python3 "$WORK/boto3_scan.py" "$ENDPOINT" "$TABLE"
expect 100000 "boto3"
echo "  boto3 Scan paginator (one run): $RATE items/s; ddb's default x$(ratio "$scan_rate" "$RATE") (issue 13's goal >= 3)"

echo "scan at 200,000 items (peak RSS):"
grow_to 200000 13
rate lines "$DDB" --endpoint-url "$ENDPOINT" scan -o ndjson
expect 200000 "ddb scan"
printf '  %-44s %7d items/s  peak RSS %6.1f MB\n' "ddb scan -o ndjson (default)" "$RATE" "$RSS_MB"
echo "  peak RSS 20k -> 200k: $SMALL_RSS -> $RSS_MB MB, ratio $(ratio "$RSS_MB" "$SMALL_RSS")   (goal <= 50 MB, ~1.0)"
