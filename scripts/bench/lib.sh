#!/usr/bin/env bash
# Shared by the benchmark parts in scripts/bench/*.sh: a fresh in-memory DynamoDB Local per
# part (writes collapse on an instance where a stream table was dropped and recreated), and a
# measurer that prints wall time and peak RSS of one command.
set -euo pipefail

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DDB="${DDB:-$BENCH_ROOT/target/release/ddb}"
# Where `ddb local install` keeps DynamoDB Local ($DDB_LOCAL_JAR_DIR, else the user's cache).
JAR_DIR="$("$DDB" local install -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["dir"])')"
BENCH_LOCAL_PID=""

# start_fresh_local: sets ENDPOINT to a new in-memory DynamoDB Local on a free port.
start_fresh_local() {
  local port
  port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
  # From /tmp: DynamoDB Local writes a metadata file into its working directory.
  (cd "${TMPDIR:-/tmp}" && exec java -Djava.library.path="$JAR_DIR/DynamoDBLocal_lib" -jar "$JAR_DIR/DynamoDBLocal.jar" \
    -inMemory -sharedDb -port "$port" -disableTelemetry >"/tmp/ddb-bench-local-$port.log" 2>&1) &
  BENCH_LOCAL_PID=$!
  ENDPOINT="http://127.0.0.1:$port"
  for _ in $(seq 1 240); do
    if curl -s -o /dev/null --max-time 1 "$ENDPOINT/"; then return 0; fi
    sleep 0.25
  done
  echo "bench: DynamoDB Local did not start on $ENDPOINT" >&2
  return 1
}

stop_local() {
  if [[ -n "$BENCH_LOCAL_PID" ]]; then
    kill "$BENCH_LOCAL_PID" 2>/dev/null || true
    wait "$BENCH_LOCAL_PID" 2>/dev/null || true
    BENCH_LOCAL_PID=""
  fi
}
trap stop_local EXIT

# measure LABEL CMD...: runs CMD (stdout to /dev/null), prints "LABEL: wall S s, peak RSS M MB"
# and sets WALL (seconds) and RSS_MB.
measure() {
  local label="$1"; shift
  local out
  out="$(python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
if r.returncode != 0:
    sys.exit(f"command failed with {r.returncode}: {' '.join(sys.argv[1:])}")
print(f"{wall:.3f} {rss:.1f}")
PY
)"
  WALL="${out% *}"
  RSS_MB="${out#* }"
  printf '  %-48s wall %7.2f s   peak RSS %6.1f MB\n' "$label" "$WALL" "$RSS_MB"
}

# ratio A B: prints A/B with two decimals.
ratio() { python3 -c "import sys;a,b=float(sys.argv[1]),float(sys.argv[2]);print(f'{a/b:.2f}' if b else 'n/a')" "$1" "$2"; }
