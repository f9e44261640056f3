#!/usr/bin/env bash
# Broker CPU per plain QoS 1 publish, the emulator beside mosquitto, under
# krylovsk/mqtt-benchmark (100 clients, QoS 1, 100-byte payloads, mutual
# TLS, no subscribers), CPU from /proc/PID/stat over the benchmark's run.
#
#   docs/bench/broker-cpu.sh emulator
#   docs/bench/broker-cpu.sh mosquitto
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
B=$WORK/data/bundles/bench-client
t0=$(awk '{print $14+$15}' /proc/$PID/stat)
mqtt-benchmark -broker ssl://127.0.0.1:$PORT -client-cert $B/certificate.pem.crt -client-key $B/private.pem.key \
  -broker-ca-cert "$WORK/data/ca/root-ca.pem" -clients 100 -count 1000 -qos 1 -size 100 -topic bench/t \
  -message-interval 0 -quiet -format json >"$WORK/bench.json"
t1=$(awk '{print $14+$15}' /proc/$PID/stat)
kill $PID; wait $PID 2>/dev/null
python3 - "$t0" "$t1" "$WORK/bench.json" <<'PY'
import json, os, sys
t0, t1 = float(sys.argv[1]), float(sys.argv[2])
tot = json.load(open(sys.argv[3]))["totals"]
n = tot["successes"]
cpu = (t1 - t0) / os.sysconf("SC_CLK_TCK")
print("CPU %.2fs for %d publishes = %.1f µs/publish, %.0f msg/s" % (cpu, n, cpu / n * 1e6, tot["total_msgs_per_sec"]))
PY
uptime
