#!/usr/bin/env python3
"""Where a handoff's time goes, from a tcpdump of the testbed's router.

Reads `tcpdump -i any -nn -tt -l tcp` text (from the router namespace) and, for every client
connection whose request was handed off, prints the median and extremes of:
  request -> first control segment   the entry: parse, route, send the handoff request
  control -> response                the chosen node: replay the handshake, its server answers
  request -> response                the whole handoff as the router sees it
Usage: handoff-timeline.py DUMP [ENTRY_IP]   (default 10.200.1.1)
"""
import re
import sys

CLIENT = "10.200.0.2."
LINE = re.compile(r"(\d+\.\d+) (\S+)\s+(In|Out)\s+IP (\S+) > (\S+): Flags \[([^\]]*)\].*length (\d+)")


def main():
    dump = sys.argv[1]
    entry = (sys.argv[2] if len(sys.argv) > 2 else "10.200.1.1") + "."
    events = []
    with open(dump) as f:
        for line in f:
            m = LINE.match(line)
            if m:
                t, dev, way, src, dst, flags, length = m.groups()
                events.append((float(t), dev, way, src, dst.rstrip(":"), flags, int(length)))
    conns = {}
    control = []
    for t, dev, way, src, dst, flags, length in events:
        if dev == "baton-r" and way == "In" and src.startswith(CLIENT) and length > 0:
            conns.setdefault(src.rsplit(".", 1)[1], {}).setdefault("req", t)
        if dev == "baton-r" and way == "Out" and dst.startswith(CLIENT) and length > 0:
            conns.setdefault(dst.rsplit(".", 1)[1], {}).setdefault("resp", t)
        # Control segments the entry sends (on the router's side of its wire TUN).
        if way == "In" and length > 0 and src.startswith(entry) and dst.endswith(".7070"):
            control.append(t)
    rows = []
    for c in conns.values():
        if "req" not in c or "resp" not in c:
            continue
        sent = [t for t in control if c["req"] < t < c["resp"]]
        if sent:  # handed off: the entry spoke on the control channel in between
            rows.append(((sent[0] - c["req"]) * 1e6, (c["resp"] - sent[0]) * 1e6, (c["resp"] - c["req"]) * 1e6))
    if not rows:
        print("no handed-off request found in", dump)
        return 1
    for i, name in enumerate(["request -> first control segment", "control -> response", "request -> response"]):
        v = sorted(r[i] for r in rows)
        print(f"{name:34s} p50 {v[len(v) // 2]:7.0f} us   min {v[0]:7.0f}   max {v[-1]:7.0f}")
    print(f"{len(rows)} handed-off requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
