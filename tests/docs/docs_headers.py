#!/usr/bin/env python3
"""docs_headers.py - every function of libberrymq's public headers documents
what it returns: a non-void function has a "Returns:" line in its comment,
and a function returning a pointer says who owns it ("transfer full" /
"transfer none", with how to free or how long it stays valid). The
function-pointer fields of the public structs (the plugin host's table,
the plugin descriptor, the history provider) count as functions.

A function's comment is the comment block(s) right above it, shared by the
declarations that follow one another without a blank line or another
comment between them (a group such as the message accessors), plus a
comment on the declaration's own lines.

Usage: docs_headers.py SOURCE_DIR [BINARY_DIR]  (exit 1 and one line per
gap)."""
import pathlib
import re
import sys

DECL = re.compile(r"^(?:BMQ_API\s+)?(?P<ret>[A-Za-z_][\w\s\*]*?)\s*\b(?P<name>bmq_\w+)\s*\(")


def items(text):
    """Yield ('comment', text) / ('decl', text, trailing) / ('blank',) /
    ('other',) for the top level of a header."""
    i, n = 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.index("*/", i) + 2
            yield ("comment", text[i:j])
            i = j
        elif text[i] == "\n":
            # a line with nothing but white space ends a group
            j = text.find("\n", i + 1)
            line = text[i + 1:j if j >= 0 else n]
            if line.strip() == "":
                yield ("blank",)
            i += 1
        elif text[i].isspace():
            i += 1
        elif text[i] == "#":
            while True:  # a preprocessor line, with its continuations
                j = text.find("\n", i)
                if j < 0 or text[j - 1] != "\\":
                    break
                i = j + 1
            yield ("other",)
            i = j if j >= 0 else n
        elif text.startswith('extern "C"', i):
            i = text.index("{", i) + 1
            yield ("other",)
        else:
            # a statement: to the ';' at brace depth 0 (or a '}' closing
            # extern "C")
            depth, j = 0, i
            while j < n:
                c = text[j]
                if text.startswith("/*", j):
                    j = text.index("*/", j) + 2
                    continue
                if c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                    if depth < 0:
                        j += 1
                        break
                elif c == ";" and depth == 0:
                    j += 1
                    break
                j += 1
            stmt = text[i:j]
            # a comment on the statement's last line belongs to it
            k = j
            while k < n and text[k] in " \t":
                k += 1
            trailing = ""
            if text.startswith("/*", k):
                e = text.index("*/", k) + 2
                trailing = text[k:e]
                j = e
            yield ("decl", stmt, trailing)
            i = j


MEMBER = re.compile(r"^(?P<ret>[A-Za-z_][\w\s\*]*?)\s*\(\s*\*\s*(?P<name>\w+)\s*\)\s*\(")


def check_text(fname, text, base, seen, gaps, members):
    """Check the declarations at the top level of @text (the functions, or
    with @members the function-pointer fields of a struct body), and the
    function-pointer fields of the structs it declares."""
    above = []      # comments of the current group
    in_group = False
    pos = 0
    for it in items(text):
        if it[0] == "comment":
            if in_group:
                above, in_group = [], False
            above.append(it[1])
            continue
        if it[0] in ("blank", "other"):
            above, in_group = [], False
            continue
        stmt, trailing = it[1], it[2]
        at = text.find(stmt, pos)
        pos = at + len(stmt)
        line = base + text.count("\n", 0, at)
        code = re.sub(r"/\*.*?\*/", " ", stmt, flags=re.S).strip()
        if "{" in code and re.match(r"^(typedef\s+)?(struct|union)\b", code):
            # a struct: its function-pointer fields are documented like
            # functions (the plugin host's table, the descriptor)
            o = stmt.index("{")
            c = stmt.rindex("}")
            check_text(fname, stmt[o + 1:c], line + stmt.count("\n", 0, o), seen, gaps, True)
            above, in_group = [], False
            continue
        if members:
            m = MEMBER.match(code)
        else:
            if code.startswith("typedef"):
                continue  # a callback type between a comment and its function
            m = DECL.match(code)
            if m and "(*" in code.split("(", 1)[0]:
                m = None
        if not m:
            above, in_group = [], False
            continue
        in_group = True
        ret = " ".join(m.group("ret").replace("BMQ_API", "").split())
        doc = " ".join(above) + " " + trailing + " " + " ".join(
            re.findall(r"/\*.*?\*/", stmt, flags=re.S))
        name = m.group("name")
        seen.append(name)
        where = f"{fname}:{line}: {name}"
        if ret != "void" and "Returns:" not in doc:
            gaps.append(f"{where}: returns {ret} but its comment has no 'Returns:'")
        if "*" in ret and "transfer" not in doc:
            gaps.append(f"{where}: returns a pointer but says nothing of ownership "
                        "('transfer full' / 'transfer none')")


def check(path, seen):
    gaps = []
    check_text(path.name, path.read_text(), 1, seen, gaps, False)
    return gaps


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    headers = sorted((root / "sdk/include/berrymq").glob("*.h"))
    seen = []
    gaps = [g for h in headers for g in check(h, seen)]
    for g in gaps:
        print(g)
    print(f"{len(seen)} functions, {len(gaps)} gap(s) in {len(headers)} headers")
    # A reader that stopped finding declarations would pass everything.
    for name in ("bmq_twitter", "bmq_message_uid", "bmq_instance_find", "bmq_server_node_id",
                 "bmq_gtk_bridge_new", "bmq_json_parse", "bmq_config_get_int", "history_cursor",
                 "twitter_message", "create", "open"):
        if name not in seen:
            print(f"{name}: not found in the headers (is the reader broken?)")
            gaps.append(name)
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
