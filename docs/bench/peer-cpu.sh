#!/usr/bin/env bash
# krylovsk/mqtt-benchmark's own CPU per QoS 1 publish against the emulator
# (--limits none), beside the emulator's: the peer generator-cpu.sh is
# compared with. 100 clients, 2000 publishes each, 100-byte payloads,
# mutual TLS with one identity (mqtt-benchmark has one certificate for all
# its clients), closed loop (-message-interval 0); CPU of each process over
# the whole benchmark run.
#
#   docs/bench/peer-cpu.sh
#
# Needs mqtt-benchmark on PATH (../shared/peers/README.md) and BIN as in
# generator-cpu.sh.
set -uo pipefail
cd "$(dirname "$0")"
BIN=${BIN:-../../shadowload}
WORK=${WORK:-/tmp/shadowload-peer-bench}
PORT=${PORT:-18892}
CLIENTS=${CLIENTS:-100}
COUNT=${COUNT:-2000}
mkdir -p "$WORK"
if [ ! -d "$WORK/data/bundles/bench-client" ]; then
  echo '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}' >"$WORK/open.json"
  "$BIN" provision --data "$WORK/data" --things 1 --policy "$WORK/open.json" --policy-name open --name bench-client --quiet
fi
"$BIN" emulator --data "$WORK/data" --listen 127.0.0.1:$PORT --limits none >"$WORK/emulator.log" 2>&1 &
EMU=$!
sleep 1
B=$WORK/data/bundles/bench-client
e0=$(awk '{print $14+$15}' /proc/$EMU/stat)
/usr/bin/time -f "%U %S" -o "$WORK/peer-time.txt" mqtt-benchmark -broker ssl://127.0.0.1:$PORT \
  -client-cert $B/certificate.pem.crt -client-key $B/private.pem.key -broker-ca-cert "$WORK/data/ca/root-ca.pem" \
  -clients "$CLIENTS" -count "$COUNT" -qos 1 -size 100 -topic bench/t -message-interval 0 -quiet -format json >"$WORK/bench.json"
e1=$(awk '{print $14+$15}' /proc/$EMU/stat)
kill -INT $EMU; wait $EMU 2>/dev/null
python3 - "$e0" "$e1" "$WORK/peer-time.txt" "$WORK/bench.json" <<'PY'
import json, os, sys
e0, e1 = float(sys.argv[1]), float(sys.argv[2])
user, sys_ = map(float, open(sys.argv[3]).read().split()[-2:])
tot = json.load(open(sys.argv[4]))["totals"]
n = tot["successes"]
peer = user + sys_
emu = (e1 - e0) / os.sysconf("SC_CLK_TCK")
print("%d QoS 1 publishes at %.0f msg/s: mqtt-benchmark %.1f µs/publish (user %.2fs, sys %.2fs), emulator %.1f µs/publish"
      % (n, tot["total_msgs_per_sec"], peer / n * 1e6, user, sys_, emu / n * 1e6))
PY
uptime
