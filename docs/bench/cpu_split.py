"""Generator and emulator CPU per shadow update over the steady window.

usage: cpu_split.py REPORT.json SAMPLES.txt

SAMPLES.txt holds lines "UNIX_TIME GENERATOR_TICKS EMULATOR_TICKS"
(utime+stime from /proc/PID/stat); the window is the last 30 one-second
intervals of the report but the final one (steady_window.py).
"""
import sys

from steady_window import Window

w = Window(sys.argv[1], sys.argv[2], 3)
# Updates are counted over the sampled span: the intervals inside it.
rate = w.accepted / (w.t1 - w.t0)
n = rate * w.secs
gen, emu = w.cpu(1), w.cpu(2)
c = w.report["counters"]
slots = c.get("schedule.slots", 0)
late = c.get("schedule.late", 0)
acc = w.report["latencies"]["update.accepted"]
lag = w.report["latencies"]["schedule.lag"]
print("window %.1fs: %.0f updates/s accepted; generator %.1f µs/update (%.2f cores), emulator %.1f µs/update (%.2f cores)"
      % (w.secs, rate, gen / n * 1e6, gen / w.secs, emu / n * 1e6, emu / w.secs))
print("late %d of %d slots (%.2f%%); update.accepted p50 %.2fms p99 %.2fms; lag p50 %.2fms p99 %.2fms; time-outs %d; invalid: %s"
      % (late, slots, 100.0 * late / max(slots, 1), acc["p50"] / 1e6, acc["p99"] / 1e6, lag["p50"] / 1e6, lag["p99"] / 1e6,
         c.get("update.timeout", 0), w.report.get("invalid")))
