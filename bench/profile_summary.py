#!/usr/bin/env python3
"""Summarise a Chrome trace written by `bench_translate --profile FILE`.

Prints, per operator name, the self time (its duration less the time spent in
the operators it called), its share of all self time, and the call count.

    python3 bench/profile_summary.py /tmp/trace.json [--top 30]
"""
import argparse
import collections
import json


def self_times(events):
    """Yield (name, self_us) for the complete ("X") events of one thread."""
    events = sorted(events, key=lambda e: (e["ts"], -e["dur"]))
    out = []
    open_ = []  # [name, start, end, time in children], innermost last
    for e in events:
        start, end = e["ts"], e["ts"] + e["dur"]
        while open_ and open_[-1][2] <= start:
            name, s, en, children = open_.pop()
            out.append((name, (en - s) - children))
            if open_:
                open_[-1][3] += en - s
        open_.append([e["name"], start, end, 0.0])
    while open_:
        name, s, en, children = open_.pop()
        out.append((name, (en - s) - children))
        if open_:
            open_[-1][3] += en - s
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trace")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    with open(args.trace) as f:
        events = [e for e in json.load(f) if e.get("ph") == "X"]
    by_thread = collections.defaultdict(list)
    for e in events:
        by_thread[e.get("tid")].append(e)
    total = collections.Counter()
    calls = collections.Counter()
    for thread_events in by_thread.values():
        for name, us in self_times(thread_events):
            total[name] += us
            calls[name] += 1
    all_us = sum(total.values())
    print(f"{'operator':48s} {'self ms':>10s} {'share':>7s} {'calls':>8s}")
    for name, us in total.most_common(args.top):
        print(f"{name[:48]:48s} {us / 1000:10.1f} {100 * us / all_us:6.1f}% {calls[name]:8d}")
    print(f"{'all':48s} {all_us / 1000:10.1f}")


if __name__ == "__main__":
    main()
