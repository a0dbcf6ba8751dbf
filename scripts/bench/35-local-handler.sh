#!/usr/bin/env bash
# The daily loop's handler (issue 19): `ddb local start --handler --in-memory` on a free port,
# the table seeded, then another client (boto3, as the app writes) puts ROUNDS messages one at
# a time; for each, the time until both participants' GRP# rows show it (polled every 10 ms
# with boto3). Prints the median, p90 and worst latency (goal: about a second), and the time
# `ddb local start` itself took. Asserts nothing about time.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS="${HANDLER_BENCH_ROUNDS:-20}"
if ! python3 -c "import boto3" 2>/dev/null; then
  echo "installing boto3 from PyPI (the other client)"
  python3 -m pip install --quiet --user boto3
fi

home="$(mktemp -d)"
port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
local_ddb() {
  HOME="$home" XDG_DATA_HOME="$home/data" XDG_CACHE_HOME="$home/cache" \
    DDB_LOCAL_JAR_DIR="$JAR_DIR" "$DDB" "$@"
}
trap 'local_ddb local stop >/dev/null 2>&1 || true; rm -rf "$home"' EXIT

measure "ddb local start --handler --in-memory" \
  env HOME="$home" XDG_DATA_HOME="$home/data" XDG_CACHE_HOME="$home/cache" \
  DDB_LOCAL_JAR_DIR="$JAR_DIR" "$DDB" local start --handler --in-memory --port "$port"
local_ddb --local schema-load >/dev/null
local_ddb --local seed >/dev/null
local_ddb local wait >/dev/null

python3 - "$port" "$ROUNDS" <<'PY'
import datetime, statistics, sys, time, uuid
import boto3
port, rounds = sys.argv[1], int(sys.argv[2])
c = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                 aws_access_key_id="local", aws_secret_access_key="local")
group = "5ae290ed-55d1-47a0-bc6d-fe2bc2700399"
owners = ["90b5d8b4-3e0c-4a8f-8f3a-6b5a8e3c1f01", "1c9d2f6e-7a4b-4c3d-9e8f-0a1b2c3d4e5f"]
def shows(text):
    for owner in owners:
        r = c.query(TableName="cruddur-messages", IndexName="message-group-sk-index",
                    KeyConditionExpression="message_group_uuid = :g",
                    ExpressionAttributeValues={":g": {"S": group}})
        rows = [i for i in r["Items"] if i["pk"]["S"] == f"GRP#{owner}"]
        if not rows or rows[0]["message"]["S"] != text:
            return False
    return True
latencies = []
for i in range(rounds):
    text = f"bench {i} {uuid.uuid4()}"
    sk = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None).isoformat()
    c.put_item(TableName="cruddur-messages", Item={
        "pk": {"S": f"MSG#{group}"}, "sk": {"S": sk}, "message_uuid": {"S": str(uuid.uuid4())},
        "message": {"S": text}, "user_uuid": {"S": owners[1]},
        "user_display_name": {"S": "Andrew Bayko"}, "user_handle": {"S": "bayko"}})
    t = time.perf_counter()
    while not shows(text):
        if time.perf_counter() - t > 30:
            sys.exit(f"round {i}: the rows did not move within 30 s")
        time.sleep(0.01)
    latencies.append(time.perf_counter() - t)
latencies.sort()
p90 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.9))]
print(f"  write -> both GRP# rows, {rounds} messages: median {statistics.median(latencies):.2f} s, "
      f"p90 {p90:.2f} s, worst {latencies[-1]:.2f} s (handler polls every 0.25 s)")
PY
