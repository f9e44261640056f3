#!/usr/bin/env bash
# Emulator CPU per shadow update: 2000 things, QoS 1, emulator and generator
# in separate processes, CPU read from /proc/PID/stat over the steady window.
#
#   docs/bench/shadow-cpu.sh 5000        # updates per second
#
# BIN is the shadowload binary (go build -o shadowload ./cmd/shadowload),
# EMU_BIN the one serving the emulator (default BIN, to compare builds),
# WORK a directory for the data (the fleet is provisioned once), EMU_ENV
# extra environment for the emulator (e.g. GOMAXPROCS=1), EMU_FLAGS extra
# emulator flags (e.g. "--durability off").
set -uo pipefail
cd "$(dirname "$0")"
BIN=${BIN:-../../shadowload}
EMU_BIN=${EMU_BIN:-$BIN}
WORK=${WORK:-/tmp/shadowload-bench}
RATE=${1:?usage: shadow-cpu.sh RATE}
PORT=${PORT:-18885}
[ -d "$WORK/data/bundles" ] || "$BIN" provision --data "$WORK/data" --things 2000 --quiet
env ${EMU_ENV:-} "$EMU_BIN" emulator --data "$WORK/data" --listen 127.0.0.1:$PORT --limits none ${EMU_FLAGS:-} >"$WORK/emulator.log" 2>&1 &
EMU=$!
sleep 1
( while kill -0 $EMU 2>/dev/null; do
    echo "$(date +%s.%N) $(awk '{print $14+$15, $14, $15}' /proc/$EMU/stat)"; sleep 0.5
  done ) >"$WORK/samples.txt" &
"$BIN" run capacity-qos1.yaml --endpoint 127.0.0.1:$PORT --bundles "$WORK/data/bundles" --rate "$RATE/s" \
  --quiet --out "$WORK/report.json" >"$WORK/run.txt" 2>&1
kill -INT $EMU; wait $EMU 2>/dev/null
python3 cpu_window.py "$WORK/report.json" "$WORK/samples.txt"
uptime
