#!/usr/bin/env python3
"""The rules of tests/: one assertion style, folders that stand on
tests/support only.

Tests assert with tests/support/check.h: no g_assert*, no assert(), and no
header other than check.h defines CHECK/EXPECT/REQUIRE/ASSERT-like macros.

A file under tests/<folder>/ may include headers of its own folder, of
tests/support/ and of the project (sdk/, app/, plugins/), never a header of
another test folder and never a .c file. A tests/<folder>/*.cmake fragment
names sources and include directories of its own folder or tests/support/
only. Something two folders share moves to tests/support/.

Usage: test_rules.py SOURCE_DIR. Prints every offence and exits 1 when
there is one.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
OTHER_ASSERT = re.compile(r'\bg_assert\w*\s*\(|(?<![\w.])assert\s*\(|#\s*include\s*<assert\.h>')
ASSERT_MACRO = re.compile(r'^\s*#\s*define\s+(\w*(?:CHECK|EXPECT|REQUIRE|ASSERT)\w*)\b')
# A path into the source tree's tests/ folder, in a CMake fragment.
CMAKE_PATH = re.compile(
    r'\$\{(?:CMAKE_SOURCE_DIR|PROJECT_SOURCE_DIR)\}/tests/([A-Za-z0-9_]+)'
    r'|\$\{CMAKE_CURRENT_(?:LIST|SOURCE)_DIR\}/\.\./([A-Za-z0-9_]+)')


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "."
    tests = os.path.join(src, "tests")
    folders = sorted(d for d in os.listdir(tests) if os.path.isdir(os.path.join(tests, d)))
    owner = {}  # header name -> test folders that hold it
    for d in folders:
        for root, _, names in os.walk(os.path.join(tests, d)):
            for n in names:
                if n.endswith(".h"):
                    owner.setdefault(n, set()).add(d)
    bad = []
    checked = 0
    for d in folders:
        for root, _, names in os.walk(os.path.join(tests, d)):
            for n in sorted(names):
                path = os.path.join(root, n)
                rel = os.path.relpath(path, src)
                if n.endswith((".c", ".h")):
                    checked += 1
                    with open(path, encoding="utf-8", errors="replace") as f:
                        for lineno, line in enumerate(f, 1):
                            code = line.split("//", 1)[0]
                            if OTHER_ASSERT.search(code):
                                bad.append("%s:%d: asserts without check.h: %s"
                                           % (rel, lineno, line.strip()))
                            m = ASSERT_MACRO.match(line)
                            if m and n.endswith(".h") and rel != os.path.join("tests", "support", "check.h"):
                                bad.append("%s:%d: defines %s: assertions come from "
                                           "tests/support/check.h" % (rel, lineno, m.group(1)))
                            m = INCLUDE.match(line)
                            if not m:
                                continue
                            name = m.group(2)
                            where = "%s:%d: #include %s" % (rel, lineno, name)
                            if name.endswith(".c"):
                                bad.append(where + ": includes a .c file")
                            elif ".." in name.split("/"):
                                bad.append(where + ": reaches out of its folder")
                            elif m.group(1) == '"':
                                holders = owner.get(os.path.basename(name), set())
                                if holders and not holders & {d, "support"}:
                                    bad.append("%s: header of tests/%s (shared helpers "
                                               "belong in tests/support)"
                                               % (where, "/".join(sorted(holders))))
                elif n.endswith(".cmake"):
                    checked += 1
                    with open(path, encoding="utf-8") as f:
                        for lineno, line in enumerate(f, 1):
                            code = line.split("#", 1)[0]
                            for m in CMAKE_PATH.finditer(code):
                                other = m.group(1) or m.group(2)
                                if other not in (d, "support"):
                                    bad.append("%s:%d: uses tests/%s (shared helpers belong "
                                               "in tests/support)" % (rel, lineno, other))
    for b in bad:
        print(b)
    print("%d files checked, %d offence(s)" % (checked, len(bad)))
    return 1 if bad or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
