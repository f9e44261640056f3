#!/usr/bin/env bash
# Latency injection exactness: the emulator with --latency fixed:20ms, 200
# things at 200 updates/s for 30 s, emulator and generator in separate
# processes; prints update→accepted corrected and uncorrected quantiles.
# EMU_FLAGS adds emulator flags (e.g. "--durability off": with the default,
# sync, a reply also waits for its fdatasync, whose tail is the disk's);
# LATENCY the injected distribution (default fixed:20ms; "none" injects
# nothing, to see the pair's own round trip at the same load).
set -uo pipefail
cd "$(dirname "$0")"
BIN=${BIN:-../../shadowload}
WORK=$(mktemp -d)
LATENCY=${LATENCY:-fixed:20ms}
LAT_FLAG=(--latency "$LATENCY")
[ "$LATENCY" = none ] && LAT_FLAG=()
"$BIN" provision --data "$WORK/data" --things 200 --quiet >/dev/null
"$BIN" emulator --data "$WORK/data" --listen 127.0.0.1:18883 "${LAT_FLAG[@]}" --limits none ${EMU_FLAGS:-} >"$WORK/emulator.log" 2>&1 &
EMU=$!
sleep 1
"$BIN" run ../../scenarios/steady-fleet.yaml --endpoint 127.0.0.1:18883 --bundles "$WORK/data/bundles" --things 200 \
  --rate 200/s --duration 30s --quiet --out "$WORK/report.json" >"$WORK/run.txt" 2>&1
kill $EMU; wait $EMU 2>/dev/null
python3 - "$WORK/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for k in ["update.accepted", "update.accepted.uncorrected", "schedule.lag"]:
    a = r["latencies"][k]
    print("%-28s p50 %.2fms p99 %.2fms p99.9 %.2fms max %.2fms" % (k, a["p50"] / 1e6, a["p99"] / 1e6, a["p999"] / 1e6, a["max"] / 1e6))
PY
rm -rf "$WORK"
uptime
