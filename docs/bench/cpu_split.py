"""Generator and emulator CPU per shadow update over the steady window.

usage: cpu_split.py REPORT.json SAMPLES.txt

SAMPLES.txt holds lines "UNIX_TIME GENERATOR_TICKS EMULATOR_TICKS"
(utime+stime from /proc/PID/stat); the window is the last 30 one-second
intervals of the report but the final one.
"""
import datetime
import json
import os
import sys

report = json.load(open(sys.argv[1]))
tick = os.sysconf("SC_CLK_TCK")
samples = [tuple(map(float, l.split())) for l in open(sys.argv[2]) if len(l.split()) == 3]
samples = [s for s in samples if s[1] >= 0]


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
secs = s1[0] - s0[0]
# Updates are counted over the sampled span: the intervals inside it.
accepted = sum(x.get("latencies", {}).get("update.accepted", {}).get("count", 0) for x in window)
rate = accepted / (t1 - t0)
n = rate * secs
gen = (s1[1] - s0[1]) / tick
emu = (s1[2] - s0[2]) / tick
c = report["counters"]
slots = c.get("schedule.slots", 0)
late = c.get("schedule.late", 0)
acc = report["latencies"]["update.accepted"]
lag = report["latencies"]["schedule.lag"]
print("window %.1fs: %.0f updates/s accepted; generator %.1f µs/update (%.2f cores), emulator %.1f µs/update (%.2f cores)"
      % (secs, rate, gen / n * 1e6, gen / secs, emu / n * 1e6, emu / secs))
print("late %d of %d slots (%.2f%%); update.accepted p50 %.2fms p99 %.2fms; lag p50 %.2fms p99 %.2fms; time-outs %d; invalid: %s"
      % (late, slots, 100.0 * late / max(slots, 1), acc["p50"] / 1e6, acc["p99"] / 1e6, lag["p50"] / 1e6, lag["p99"] / 1e6,
         c.get("update.timeout", 0), report.get("invalid")))
