#!/usr/bin/env bash
# Broker CPU per plain QoS 1 publish, the emulator beside mosquitto, under
# krylovsk/mqtt-benchmark (100 clients, QoS 1, 100-byte payloads, mutual
# TLS, no subscribers), CPU of the broker and of mqtt-benchmark from
# /proc/PID/stat over the benchmark's run.
#
#   docs/bench/broker-cpu.sh emulator
#   docs/bench/broker-cpu.sh mosquitto
#
# Paced instead of closed-loop: INTERVAL=1 CLIENTS=2000 COUNT=40 publishes
# once a second from each of 2000 clients (the load a fleet puts on a
# broker: many connections, few messages each); the CPU is then read over
# the steady middle of the run, without the connects (8 s after the start
# to 2 s before the end), and the publishes counted as CLIENTS/INTERVAL a
# second.
#
# Needs mosquitto (apt-get install -y mosquitto) and mqtt-benchmark
# (../shared/peers/README.md) on PATH, openssl, and BIN as in shadow-cpu.sh.
# MQ_PORT and EMU_PORT choose the loopback ports (defaults 18890, 18891);
# the mosquitto configuration in WORK keeps the port it was written with.
set -uo pipefail
cd "$(dirname "$0")"
BIN=${BIN:-../../shadowload}
WORK=${WORK:-/tmp/shadowload-broker-bench}
MQ_PORT=${MQ_PORT:-18890}
EMU_PORT=${EMU_PORT:-18891}
mkdir -p "$WORK"
if [ ! -d "$WORK/data/bundles/bench-client" ]; then
  echo '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}' >"$WORK/open.json"
  "$BIN" provision --data "$WORK/data" --things 1 --policy "$WORK/open.json" --policy-name open --name bench-client --quiet
  # mosquitto drops root for its own user: its files must be world-readable.
  mkdir -p "$WORK/mq" && chmod 755 "$WORK" "$WORK/mq"
  cp "$WORK/data/ca/root-ca.pem" "$WORK/mq/"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/mq/srv.key" \
    -subj /CN=localhost -out "$WORK/mq/srv.csr" 2>/dev/null
  openssl x509 -req -in "$WORK/mq/srv.csr" -CA "$WORK/data/ca/root-ca.pem" -CAkey "$WORK/data/ca/root-ca.key" \
    -CAcreateserial -out "$WORK/mq/srv.pem" -days 30 \
    -extfile <(printf "subjectAltName=DNS:localhost,IP:127.0.0.1") 2>/dev/null
  chmod 644 "$WORK/mq/"*
  printf 'listener %s 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\nallow_anonymous true\npersistence false\nlog_type error\n' \
    "$MQ_PORT" "$WORK/mq/root-ca.pem" "$WORK/mq/srv.pem" "$WORK/mq/srv.key" >"$WORK/mosquitto.conf"
fi
case ${1:?usage: broker-cpu.sh emulator|mosquitto} in
  emulator) env ${EMU_ENV:-} "$BIN" emulator --data "$WORK/data" --listen 127.0.0.1:$EMU_PORT --limits none >"$WORK/emulator.log" 2>&1 & PORT=$EMU_PORT ;;
  mosquitto) mosquitto -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 & PORT=$(awk '/^listener/ {print $2}' "$WORK/mosquitto.conf") ;;
esac
PID=$!
sleep 1
CLIENTS=${CLIENTS:-100}
COUNT=${COUNT:-1000}
INTERVAL=${INTERVAL:-0}
B=$WORK/data/bundles/bench-client
start=$(date +%s.%N)
mqtt-benchmark -broker ssl://127.0.0.1:$PORT -client-cert $B/certificate.pem.crt -client-key $B/private.pem.key \
  -broker-ca-cert "$WORK/data/ca/root-ca.pem" -clients "$CLIENTS" -count "$COUNT" -qos 1 -size 100 -topic bench/t \
  -message-interval "$INTERVAL" -quiet -format json >"$WORK/bench.json" &
BENCH=$!
# "time broker-ticks client-ticks": utime+stime of the broker and of
# mqtt-benchmark.
( while kill -0 $BENCH 2>/dev/null; do
    echo "$(date +%s.%N) $(awk '{print $14+$15}' /proc/$PID/stat) $(awk '{print $14+$15}' /proc/$BENCH/stat 2>/dev/null)"; sleep 0.5
  done ) >"$WORK/samples.txt" &
SAMPLER=$!
wait $BENCH
end=$(date +%s.%N)
kill $PID; wait $PID 2>/dev/null
wait $SAMPLER 2>/dev/null
python3 - "$start" "$end" "$CLIENTS" "$INTERVAL" "$WORK/bench.json" "$WORK/samples.txt" <<'PY'
import json, os, sys
start, end, clients, interval = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
tot = json.load(open(sys.argv[5]))["totals"]
samples = [tuple(map(float, l.split())) for l in open(sys.argv[6]) if len(l.split()) == 3]
tick = os.sysconf("SC_CLK_TCK")
if interval == 0:
    a, b = samples[0], samples[-1]
    n = tot["successes"]
else:
    a = min(samples, key=lambda s: abs(s[0] - (start + 8)))
    b = min(samples, key=lambda s: abs(s[0] - (end - 2)))
    n = clients / interval * (b[0] - a[0])
broker, client = (b[1] - a[1]) / tick, (b[2] - a[2]) / tick
print("broker CPU %.2fs for %d publishes = %.1f µs/publish; mqtt-benchmark %.1f µs/publish; %d of %d published, %.0f msg/s"
      % (broker, n, broker / n * 1e6, client / n * 1e6, tot["successes"], tot["successes"] + tot["failures"], tot["total_msgs_per_sec"]))
PY
uptime
