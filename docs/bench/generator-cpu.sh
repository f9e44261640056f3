#!/usr/bin/env bash
# Generator and emulator CPU per QoS 1 shadow update, each process on its
# own: 2000 things (capacity-qos1.yaml), emulator with --limits none, CPU
# read from /proc/PID/stat of both processes every half second and taken
# over the steady window of the run (cpu_split.py).
#
#   docs/bench/generator-cpu.sh 5000            # updates per second, MQTT 5
#   PROTOCOL=mqtt311 docs/bench/generator-cpu.sh 5000
#
# BIN is the shadowload binary (go build -o shadowload ./cmd/shadowload),
# EMU_BIN the one serving the emulator (default BIN, to compare builds),
# WORK a directory for the data (the fleet is provisioned once), PROTOCOL
# the fleet's protocol (mqtt5, mqtt311, or a mix such as mqtt5:70,mqtt311:30),
# THINGS the fleet size (default 2000), RUN_ARGS extra flags for run (e.g.
# --cpuprofile /tmp/gen.prof), GEN_ENV extra environment for the generator
# (e.g. GOMAXPROCS=1), EMU_FLAGS extra emulator flags (e.g. "--durability
# off").
set -uo pipefail
cd "$(dirname "$0")"
BIN=${BIN:-../../shadowload}
EMU_BIN=${EMU_BIN:-$BIN}
WORK=${WORK:-/tmp/shadowload-bench}
RATE=${1:?usage: generator-cpu.sh RATE}
PORT=${PORT:-18886}
PROTOCOL=${PROTOCOL:-mqtt5}
THINGS=${THINGS:-2000}
[ -d "$WORK/data/bundles" ] || "$BIN" provision --data "$WORK/data" --things 2000 --quiet
"$EMU_BIN" emulator --data "$WORK/data" --listen 127.0.0.1:$PORT --limits none ${EMU_FLAGS:-} >"$WORK/emulator.log" 2>&1 &
EMU=$!
sleep 1
PROTO_FLAG=()
"$BIN" run --help 2>&1 | grep -q -- '--protocol' && PROTO_FLAG=(--protocol "$PROTOCOL")
env ${GEN_ENV:-} "$BIN" run capacity-qos1.yaml --endpoint 127.0.0.1:$PORT --bundles "$WORK/data/bundles" --rate "$RATE/s" \
  --things "$THINGS" "${PROTO_FLAG[@]}" ${RUN_ARGS:-} --quiet --out "$WORK/report.json" >"$WORK/run.txt" 2>&1 &
GEN=$!
( while kill -0 $GEN 2>/dev/null; do
    echo "$(date +%s.%N) $(awk '{print $14+$15}' /proc/$GEN/stat 2>/dev/null || echo -1) $(awk '{print $14+$15}' /proc/$EMU/stat)"
    sleep 0.5
  done ) >"$WORK/samples.txt" &
SAMPLER=$!
wait $GEN
wait $SAMPLER
kill -INT $EMU; wait $EMU 2>/dev/null
python3 cpu_split.py "$WORK/report.json" "$WORK/samples.txt"
uptime
