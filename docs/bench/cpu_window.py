"""Emulator CPU per shadow update over the steady window of a run.

usage: cpu_window.py REPORT.json SAMPLES.txt

SAMPLES.txt holds lines "UNIX_TIME TICKS UTIME STIME" for the emulator
process (from /proc/PID/stat); the window is the last 30 one-second
intervals of the report but the final one.
"""
import datetime
import json
import os
import sys

report = json.load(open(sys.argv[1]))
tick = os.sysconf("SC_CLK_TCK")
samples = [tuple(map(float, l.split())) for l in open(sys.argv[2]) if len(l.split()) == 4]


def ts(s):
    s = s.rstrip("Z")
    base, frac = (s.split(".") + ["0"])[:2]
    t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return t.timestamp() + float("0." + frac)


window = report["intervals"][-31:-1]
t0 = ts(window[0]["at"]) - window[0]["elapsed_ns"] / 1e9
t1 = ts(window[-1]["at"])
s0 = min(samples, key=lambda s: abs(s[0] - t0))
s1 = min(samples, key=lambda s: abs(s[0] - t1))
accepted = sum(x.get("latencies", {}).get("update.accepted", {}).get("count", 0) for x in window)
cpu = (s1[1] - s0[1]) / tick
secs = s1[0] - s0[0]
acc = report["latencies"]["update.accepted"]
gen = report["generator"]
print("window %.1fs: %d updates accepted (%.0f/s); emulator CPU %.2fs (user %.2fs, sys %.2fs) = %.1f µs/update, %.2f cores"
      % (secs, accepted, accepted / secs, cpu, (s1[2] - s0[2]) / tick, (s1[3] - s0[3]) / tick, cpu / accepted * 1e6, cpu / secs))
print("update.accepted p50 %.2fms p99 %.2fms; time-outs %d; generator CPU %.1fs, lag p99 %.2fms; invalid: %s"
      % (acc["p50"] / 1e6, acc["p99"] / 1e6, report["counters"].get("update.timeout", 0), gen["cpu_seconds"],
         gen["scheduler_lag"]["p99"] / 1e6, report.get("invalid")))
