#!/usr/bin/env bash
# ddb tail latency (issue 20), on a fresh in-memory DynamoDB Local: `ddb tail -o ndjson` runs
# while boto3 writes WRITES items one at a time, each after a random pause (so writes land
# anywhere in tail's poll cycle); for each, the time from PutItem's answer to tail's line
# reaching the reader. p50 and p95 against the poll interval + 100 ms (the goal).
# Prints figures; asserts nothing about time.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WRITES="${TAIL_BENCH_WRITES:-200}"
POLL_MS="${TAIL_BENCH_POLL_MS:-250}"

if ! python3 -c "import boto3" 2>/dev/null; then
  echo "installing boto3 from PyPI (the writer)"
  python3 -m pip install --quiet --user boto3
fi

start_fresh_local
"$DDB" --endpoint-url "$ENDPOINT" schema-load >/dev/null
python3 - "$DDB" "$ENDPOINT" "$WRITES" "$POLL_MS" <<'PY'
import json, random, statistics, subprocess, sys, threading, time
import boto3

ddb, endpoint, writes, poll_ms = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tail = subprocess.Popen(
    [ddb, "--endpoint-url", endpoint, "tail", "-o", "ndjson", "--count", str(writes),
     "--poll-interval", str(poll_ms)],
    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
seen = {}
def read():
    for line in tail.stdout:
        seen[json.loads(line)["dynamodb"]["Keys"]["sk"]["S"]] = time.perf_counter()
reader = threading.Thread(target=read)
reader.start()
# Writes start once tail follows the stream.
for line in tail.stderr:
    if "following the stream" in line:
        break
client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
random.seed(20)
written = {}
for i in range(writes):
    time.sleep(random.uniform(0, 2 * poll_ms / 1000))
    sk = f"2026-01-01T00:00:00.{i:06d}+00:00"
    client.put_item(TableName="cruddur-messages",
                    Item={"pk": {"S": "MSG#bench-tail"}, "sk": {"S": sk}, "message": {"S": f"m{i}"}})
    written[sk] = time.perf_counter()
reader.join(timeout=60)
tail.wait(timeout=60)
if tail.returncode != 0 or len(seen) != writes:
    sys.exit(f"tail exited {tail.returncode} after {len(seen)} of {writes} records")
lat = sorted((seen[k] - written[k]) * 1000 for k in written)
p50 = statistics.median(lat)
p95 = lat[int(0.95 * len(lat)) - 1]
print(f"  {writes} writes, poll interval {poll_ms} ms: latency p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
      f"max {lat[-1]:.0f} ms (goal: within {poll_ms + 100} ms)")
PY
