"""The steady window of a run: the last 30 one-second intervals of its
report but the final one, and the CPU samples closest to its ends.

SAMPLES.txt holds lines "UNIX_TIME TICKS..." with utime+stime (or other
tick counts) read from /proc/PID/stat; lines with another number of fields
are skipped. cpu_window.py and cpu_split.py print from it.
"""
import datetime
import json
import os

TICK = os.sysconf("SC_CLK_TCK")


def _ts(s):
    s = s.rstrip("Z")
    base, frac = (s.split(".") + ["0"])[:2]
    t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return t.timestamp() + float("0." + frac)


class Window:
    """report, intervals, t0 and t1 (the window's ends, Unix seconds), s0
    and s1 (the samples nearest them), secs (the sampled span) and accepted
    (update.accepted in the window's intervals)."""

    def __init__(self, report_path, samples_path, fields):
        self.report = json.load(open(report_path))
        samples = [tuple(map(float, l.split())) for l in open(samples_path) if len(l.split()) == fields]
        samples = [s for s in samples if min(s[1:]) >= 0]
        self.intervals = self.report["intervals"][-31:-1]
        first = self.intervals[0]
        self.t0 = _ts(first["at"]) - first["elapsed_ns"] / 1e9
        self.t1 = _ts(self.intervals[-1]["at"])
        self.s0 = min(samples, key=lambda s: abs(s[0] - self.t0))
        self.s1 = min(samples, key=lambda s: abs(s[0] - self.t1))
        self.secs = self.s1[0] - self.s0[0]
        self.accepted = sum(x.get("latencies", {}).get("update.accepted", {}).get("count", 0) for x in self.intervals)

    def cpu(self, column):
        """CPU seconds of a sample column over the sampled span."""
        return (self.s1[column] - self.s0[column]) / TICK
