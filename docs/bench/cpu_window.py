"""Emulator CPU per shadow update over the steady window of a run.

usage: cpu_window.py REPORT.json SAMPLES.txt

SAMPLES.txt holds lines "UNIX_TIME TICKS UTIME STIME" for the emulator
process (from /proc/PID/stat); the window is the last 30 one-second
intervals of the report but the final one (steady_window.py).
"""
import sys

from steady_window import Window

w = Window(sys.argv[1], sys.argv[2], 4)
cpu = w.cpu(1)
acc = w.report["latencies"]["update.accepted"]
gen = w.report["generator"]
print("window %.1fs: %d updates accepted (%.0f/s); emulator CPU %.2fs (user %.2fs, sys %.2fs) = %.1f µs/update, %.2f cores"
      % (w.secs, w.accepted, w.accepted / w.secs, cpu, w.cpu(2), w.cpu(3), cpu / w.accepted * 1e6, cpu / w.secs))
print("update.accepted p50 %.2fms p99 %.2fms; time-outs %d; generator CPU %.1fs, lag p99 %.2fms; invalid: %s"
      % (acc["p50"] / 1e6, acc["p99"] / 1e6, w.report["counters"].get("update.timeout", 0), gen["cpu_seconds"],
         gen["scheduler_lag"]["p99"] / 1e6, w.report.get("invalid")))
