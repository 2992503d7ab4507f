#!/usr/bin/env python3
"""The hub's JSON-RPC methods as the docs name them.

What the hub serves is read from its sources (the method table of
app/hub/rpc.c and every bmq_server_add_method* call in app/hub), never from
a list kept here:
  - every method the hub registers has a row in the table of
    docs/hub.md's "RPC methods" section (README.md links there);
  - every hub.NAME the docs and man pages write as a method is one the hub
    serves;
  - the hub.status row names every member the hub puts in its result.

usage: docs_rpc.py SOURCE_DIR
"""
import glob
import os
import re
import sys

src = sys.argv[1]
failures = []


def fail(msg):
    failures.append(msg)


served = {}
for f in glob.glob(os.path.join(src, "app", "hub", "**", "*.c"), recursive=True):
    text = open(f, encoding="utf-8").read()
    for name in re.findall(r'\.name = "(hub\.\w+)"', text) + \
            re.findall(r'bmq_server_add_method\w*\([^,]+,\s*"(hub\.\w+)"', text):
        served[name] = os.path.relpath(f, src)
if not served:
    fail("found no hub.* methods in app/hub (has the registration changed shape? teach this test)")

hub_md = open(os.path.join(src, "docs", "hub.md"), encoding="utf-8").read()
m = re.search(r"^## RPC methods.*?\n(.*?)(?=^## |\Z)", hub_md, re.M | re.S)
rows = {}
if not m:
    fail("docs/hub.md has no '## RPC methods' section")
else:
    for line in m.group(1).split("\n"):
        if line.startswith("| `"):
            first = line.split("|")[1]
            for name in re.findall(r"`(hub\.\w+)`", first):
                rows[name] = line
for name in sorted(served):
    if name not in rows:
        fail("docs/hub.md: the RPC method %s (%s) has no row in the 'RPC methods' table"
             % (name, served[name]))

# Methods named anywhere in the docs: `hub.NAME` or `hub.NAME(`, not files
# such as hub.json or hub.lock, nor host names such as hub.lan.
NOT_METHODS = {"json", "lock", "sock", "log", "service", "desktop", "md", "c", "h", "db", "conf", "lan"}
docs = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md"))) + \
    sorted(glob.glob(os.path.join(src, "docs", "man", "*.scd")))
for path in docs:
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        for name in re.findall(r'(?<![\w./-])(hub\.[a-z_]+)\b(?![./-]\w)', line):
            if name.split(".", 1)[1] in NOT_METHODS or name in served:
                continue
            fail("%s:%d: names the RPC method %s, which the hub does not serve"
                 % (os.path.relpath(path, src), n, name))

# hub.status: what its row says the result holds.
rpc_c = open(os.path.join(src, "app", "hub", "rpc.c"), encoding="utf-8").read()
m = re.search(r"m_status\(hub \*h.*?\n\{(.*?)\n\}", rpc_c, re.S)
if not m:
    fail("app/hub/rpc.c: no m_status (teach this test)")
else:
    members = set(re.findall(r'json_object_object_add\(\s*o,\s*"(\w+)"', m.group(1)))
    row = rows.get("hub.status", "")
    for k in sorted(members):
        if '"%s"' % k not in row:
            fail('docs/hub.md: the hub.status row does not name the member "%s" of its result' % k)

for f in failures:
    print("FAIL " + f)
print("%d problems" % len(failures))
sys.exit(1 if failures else 0)
