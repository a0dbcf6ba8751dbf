#!/usr/bin/env bash
# Read path on a fresh in-memory DynamoDB Local:
#  - `ddb scan -o ndjson` at ~100,000 and ~200,000 items: items/s and peak RSS at each size;
#    scan streams page by page, so peak RSS must not grow with the table (ratio ~1.0).
#  - `ddb get-conversation <group> -o json` whole-process latency: median and p90 of 30 runs.
# Prints figures and ratios; asserts nothing about time.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS="${RUNS:-30}"
GROUPS_PER_BATCH="${GROUPS_PER_BATCH:-1000}"

start_fresh_local
ddb() { "$DDB" --endpoint-url "$ENDPOINT" "$@"; }
ddb schema-load >/dev/null

# load_batch N BATCH: write N more synthetic messages (plus their group rows). Batches after
# the first use another generator seed so they add items instead of rewriting the same ones.
load_batch() {
  local n="$1" batch="$2" extra=()
  if [[ "$batch" -gt 1 ]]; then
    if ddb seed --help | grep -q -- '--rng-seed'; then
      extra=(--rng-seed "$batch")
    else
      n=$((n * batch)) # a deterministic generator: a bigger N is a superset
    fi
  fi
  measure "seed --synthetic $n (batch $batch)" \
    "$DDB" --endpoint-url "$ENDPOINT" seed --synthetic "$n" --groups "$GROUPS_PER_BATCH" "${extra[@]}" -o json
}

# scan_measure LABEL ARGS...: runs `ddb scan ARGS`, counts the ndjson lines as they stream,
# prints items, wall, items/s and peak RSS; sets ITEMS, WALL, RSS_MB, RATE.
scan_measure() {
  local label="$1"; shift
  local out
  out="$(python3 - "$DDB" --endpoint-url "$ENDPOINT" scan "$@" <<'PY'
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
    sys.exit(f"scan failed with {code}")
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{lines} {wall:.3f} {rss:.1f} {lines / wall:.0f}")
PY
)"
  read -r ITEMS WALL RSS_MB RATE <<<"$out"
  printf '  %-34s %7d items  wall %6.2f s  %7d items/s  peak RSS %6.1f MB\n' \
    "$label" "$ITEMS" "$WALL" "$RATE" "$RSS_MB"
}

echo "scan (-o ndjson, streamed):"
load_batch 100000 1
scan_measure "scan, first size" -o ndjson
SMALL_ITEMS=$ITEMS SMALL_RSS=$RSS_MB SMALL_RATE=$RATE
load_batch 100000 2
scan_measure "scan, second size" -o ndjson
BIG_ITEMS=$ITEMS BIG_RSS=$RSS_MB BIG_RATE=$RATE
scan_measure "scan --segments 4, second size" -o ndjson --segments 4
echo "  items ratio (second/first):        $(ratio "$BIG_ITEMS" "$SMALL_ITEMS")"
echo "  peak RSS ratio (second/first):     $(ratio "$BIG_RSS" "$SMALL_RSS")   (flat memory: ~1.0)"
echo "  items/s ratio (second/first):      $(ratio "$BIG_RATE" "$SMALL_RATE")"

# A conversation with messages: the pk of the first MSG# item the scan meets.
GROUP="$(ddb scan -o ndjson --pk-prefix 'MSG#' --limit 1 |
  python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["pk"].removeprefix("MSG#"))')"
MESSAGES="$(ddb get-conversation "$GROUP" --all -o ndjson | wc -l)"
echo "get-conversation $GROUP ($MESSAGES messages), default --limit 20, -o json, $RUNS runs:"
python3 - "$RUNS" "$DDB" --endpoint-url "$ENDPOINT" get-conversation "$GROUP" -o json <<'PY'
import statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)  # warm-up
times = []
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    times.append((time.perf_counter() - t) * 1000)
times.sort()
p90 = times[min(len(times) - 1, int(round(0.9 * len(times))) - 1)]
print(f"  whole-process latency: median {statistics.median(times):.1f} ms, p90 {p90:.1f} ms, "
      f"min {times[0]:.1f} ms, max {times[-1]:.1f} ms")
PY
