#!/usr/bin/env python3
"""Imports in libberrymq run only downward.

sdk/src has three rooms: core/ at the bottom, net/ and plugin/ above it.
core/ includes only its own private headers and the core public headers;
net/ and plugin/ include their own private headers, the core public headers
and their own public headers, and never each other. The public headers obey
the same floors. sdk/gtk/ stands on the public headers only.

Usage: layout_includes.py SOURCE_DIR. Prints every include that runs upward
or sideways and exits 1 when there is one.
"""
import os
import re
import sys

# Public headers by room.
PUBLIC = {
    "core": {"berrymq.h", "json.h", "version.h"},
    "net": {"net.h"},
    "plugin": {"plugin.h", "host.h"},
    "gtk": {"gtk.h"},
}
# The rooms each room may see, itself included.
SEES = {
    "core": {"core"},
    "net": {"core", "net"},
    "plugin": {"core", "plugin"},
    "gtk": {"core", "gtk"},
}
# Documented exceptions: (file relative to the source dir, included name)
# -> reason. Keep empty unless a pair of files truly owns one thing.
ALLOWED = {}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def room_of_public(name):
    for room, names in PUBLIC.items():
        if name in names:
            return room
    return None


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "."
    sdk = os.path.join(src, "sdk")
    files = []  # (path, room, private dir or None)
    for room in ("core", "net", "plugin"):
        d = os.path.join(sdk, "src", room)
        for f in sorted(os.listdir(d)):
            if f.endswith((".c", ".h")):
                files.append((os.path.join(d, f), room, d))
    gtk = os.path.join(sdk, "gtk")
    if os.path.isdir(gtk):
        for f in sorted(os.listdir(gtk)):
            if f.endswith((".c", ".h")):
                files.append((os.path.join(gtk, f), "gtk", gtk))
    inc = os.path.join(sdk, "include", "berrymq")
    for f in sorted(os.listdir(inc)):
        if f.endswith((".h", ".h.in")):
            name = f[:-3] if f.endswith(".in") else f
            files.append((os.path.join(inc, f), room_of_public(name) or "?", None))

    bad = []
    checked = 0
    for path, room, privdir in files:
        rel = os.path.relpath(path, src)
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                kind, name = m.groups()
                checked += 1
                why = None
                if name.startswith("berrymq/"):
                    target = room_of_public(name[len("berrymq/"):])
                    if target is None:
                        why = "unknown public header"
                    elif room == "?":
                        why = "public header of no known room"
                    elif target not in SEES[room]:
                        why = "%s/ may not see %s's public header" % (room, target)
                elif kind == '"':
                    if privdir is None:
                        why = "public headers include only <berrymq/...>"
                    elif "/" in name or not os.path.exists(os.path.join(privdir, name)):
                        why = "a private header outside %s/" % room
                if why and ALLOWED.get((rel, name)) is None:
                    bad.append("%s:%d: #include %s%s%s: %s" % (
                        rel, lineno, kind, name, ">" if kind == "<" else '"', why))
    for b in bad:
        print(b)
    print("%d includes checked in %d files, %d running up or sideways" % (checked, len(files), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
