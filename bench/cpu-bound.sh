#!/usr/bin/env bash
# CPU-bound throughput: a handler that answers at once (no timer), 2 workers, `wrk -t1 -c100 -d5s`, mycluster
# (`servers.web.handler`) against PM2 7 in cluster mode (`pm2 start -i 2`, a PM2_HOME of its own), in rounds
# whose order alternates. Prints one line per run: round, peer, req/s, p99, wrk's errors if any.
#
#   bash bench/cpu-bound.sh [rounds]      # default 5
set -euo pipefail
rounds=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
export PM2_HOME="$work/pm2"
pm2="$root/node_modules/.bin/pm2"
free_port() { node -e "const s=require('net').createServer().listen(0,()=>{console.log(s.address().port);s.close()})"; }
my_port=$(free_port)
pm2_port=$(free_port)

cat >"$work/handler.js" <<'EOF'
module.exports = function handler(_request, response) {
  response.writeHead(200, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify({ pid: process.pid }));
};
EOF
sed "s|require('./handler')|require('$work/handler.js')|" "$root/bench/apps/server.js" >"$work/server.js"
cp -r "$root/bench/apps/mycluster" "$work/app"
mkdir -p "$work/app/pids"

cleanup() {
  [[ -f "$work/app/pids/cluster_pidfile" ]] && kill "$(cat "$work/app/pids/cluster_pidfile")" 2>/dev/null || true
  "$pm2" kill >/dev/null 2>&1 || true
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$work/app" && BENCH_HANDLER="$work/handler.js" PORT=$my_port NODE_ENV=production "$root/bin/mycluster" start --workers=2 >"$work/mycluster.log" 2>&1 &)
PORT=$pm2_port "$pm2" start "$work/server.js" --name cpu-bound -i 2 --wait-ready >"$work/pm2.log" 2>&1
sleep 3
for port in $my_port $pm2_port; do wrk -t1 -c100 -d2s "http://127.0.0.1:$port/" >/dev/null; done # warm-up

for round in $(seq 1 "$rounds"); do
  if ((round % 2)); then order="$my_port $pm2_port"; else order="$pm2_port $my_port"; fi
  for port in $order; do
    peer=$([[ $port == "$my_port" ]] && echo mycluster || echo pm2)
    wrk -t1 -c100 -d5s --latency "http://127.0.0.1:$port/" |
      awk -v round="$round" -v peer="$peer" '/Requests\/sec/ {rps = $2} / 99%/ {p99 = $2} /Socket errors|Non-2xx/ {errors = errors " " $0} END {print round, peer, rps, p99, errors}'
  done
done
