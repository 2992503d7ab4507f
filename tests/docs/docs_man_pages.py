#!/usr/bin/env python3
"""The man pages name everything a user can type or configure.

What must be documented is read from the programs and the sources, never
from a list kept here, so whoever adds a verb, an option, a config key, a
plugin or a host-table field finds this test failing until the man page
says what it is:
  - berrymq(1): every verb of `berrymq --help` as a section heading, every
    option of `berrymq --help` and of `berrymq VERB --help` (bold, in that
    verb's section), every `plugin` subcommand;
  - docs/cli.md (the guide to every verb): a section per verb naming each
    of its options;
  - berrymq-hub(1): every option of `berrymq-hub --help-all`;
  - berrymq-hub.json(5): every key the hub's config parser compares
    (strcmp(k, "...") in app/hub), and per plugin (plugins/NAME/) every key
    its config reading looks up, in that plugin's section;
  - berrymq-plugin(7): every field of struct bmq_host and of
    bmq_plugin_descriptor, and every plugin by name;
and every page renders with `man --warnings` at 80 columns without a word
from groff.

usage: docs_man_pages.py SOURCE_DIR BUILD_DIR
"""
import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helpinfo  # noqa: E402
from helpinfo import cli_global_options, cli_verbs, hub_options, verb_options, verb_subcommands  # noqa: E402

src, build = sys.argv[1], sys.argv[2]
mandir = os.path.join(src, "docs", "man")
failures = []


def fail(msg):
    failures.append(msg)


def page(name):
    path = os.path.join(mandir, name + ".scd")
    if not os.path.exists(path):
        fail("no man page source %s" % path)
        return ""
    return open(path, encoding="utf-8").read()


def sections(text, level):
    """{heading text: body} for headings of exactly @level '#'."""
    out, cur, body = {}, None, []
    for line in text.split("\n"):
        m = re.match(r"^(#+) (.*)$", line)
        if m and len(m.group(1)) <= level:
            if cur is not None:
                out[cur] = "\n".join(body)
            cur, body = (m.group(2).strip() if len(m.group(1)) == level else None), []
        elif cur is not None:
            body.append(line)
    if cur is not None:
        out[cur] = "\n".join(body)
    return out


def bold(opt, text):
    """@opt written in bold (*opt*), as scdoc pages name options and keys."""
    return re.search(r"\*" + re.escape(opt) + r"\*", text) is not None


def word(w, text):
    return re.search(r"(?<![\w-])" + re.escape(w) + r"(?![\w-])", text) is not None


# ---- berrymq(1) ----
cli = os.path.join(build, "app", "cli", "berrymq")
text = page("berrymq.1")
verbs = cli_verbs(cli)
if not verbs:
    fail("berrymq --help lists no commands")
for opt in sorted(cli_global_options(cli)):
    if not bold(opt, text):
        fail("berrymq(1): global option %s is not documented (write it as *%s*)" % (opt, opt))
verb_sections = sections(text, 2)
for verb, alias in verbs:
    sec = next((body for head, body in verb_sections.items() if head.split()[0] == verb), None)
    if sec is None:
        fail("berrymq(1): no section '## %s' for the command %s" % (verb, verb))
        continue
    head = next(h for h in verb_sections if h.split()[0] == verb)
    if alias and not word(alias, head):
        fail("berrymq(1): the heading of %s does not name its alias %s" % (verb, alias))
    for opt in sorted(verb_options(cli, verb)):
        if not bold(opt, sec):
            fail("berrymq(1): option %s of '%s' is not in its section (write it as *%s*)" % (opt, verb, opt))
    for sub in verb_subcommands(cli, verb):
        if not bold(sub, sec):
            fail("berrymq(1): '%s %s' is not documented in the %s section" % (verb, sub, verb))
for needed in ("EXIT STATUS", "EXAMPLES", "ENVIRONMENT"):
    if not re.search(r"^# " + needed, text, re.M):
        fail("berrymq(1): no %s section" % needed)
# The exit statuses of the man page are the ones `berrymq --help` names.
man_codes = set(re.findall(r"^\*(\d+)\*$", sections(text, 1).get("EXIT STATUS", ""), re.M))
m = re.search(r"^Exit status:(.*?)(?:\n\n|\Z)", helpinfo.run([cli, "--help"]), re.M | re.S)
help_codes = set(re.findall(r"(?<![\w/-])(\d+) [a-z]", m.group(1))) if m else set()
if not help_codes:
    fail("berrymq --help has no 'Exit status:' paragraph")
elif man_codes != help_codes:
    fail("exit statuses: berrymq(1) has %s, berrymq --help says %s"
         % (sorted(man_codes), sorted(help_codes)))

# ---- docs/cli.md: the guide README.md names for every verb and option ----
guide = open(os.path.join(src, "docs", "cli.md"), encoding="utf-8").read()
guide_sections = sections(guide, 2)
for verb, alias in verbs:
    sec = next((body for head, body in guide_sections.items()
                if re.match(r"^`%s`" % re.escape(verb), head)), None)
    if sec is None:
        fail("docs/cli.md: no section '## `%s`' for the command %s" % (verb, verb))
        continue
    for opt in sorted(verb_options(cli, verb)):
        if not re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", sec):
            fail("docs/cli.md: option %s of '%s' is not in its section" % (opt, verb))

# ---- berrymq-hub(1) ----
hub = os.path.join(build, "app", "hub", "berrymq-hub")
text = page("berrymq-hub.1")
hub_opts = hub_options(hub)
if not hub_opts:
    fail("berrymq-hub --help-all lists no options")
for opt in sorted(hub_opts):
    if not bold(opt, text):
        fail("berrymq-hub(1): option %s is not documented (write it as *%s*)" % (opt, opt))
for needed in ("SIGNALS", "FILES", "ENVIRONMENT"):
    if not re.search(r"^# " + needed, text, re.M):
        fail("berrymq-hub(1): no %s section" % needed)

# ---- berrymq-hub.json(5) ----
text = page("berrymq-hub.json.5")
plugins_at = text.find("\n# PLUGINS")
hub_part = text[:plugins_at] if plugins_at >= 0 else text
hub_keys = set()
for f in glob.glob(os.path.join(src, "app", "hub", "**", "*.c"), recursive=True):
    hub_keys.update(re.findall(r'strcmp\(k, "(\w+)"\)', open(f, encoding="utf-8").read()))
if not hub_keys:
    fail("found no config keys in app/hub (has the parser changed shape? teach this test)")
for k in sorted(hub_keys):
    if not bold(k, hub_part):
        fail("berrymq-hub.json(5): hub config key '%s' is not documented (write it as *%s*)" % (k, k))
# Keys read from a table of the hub's parser ({"threads", offsetof(hub_config, ...)}).
table_keys = set(re.findall(r'\{"(\w+)",\s*offsetof\(hub_config',
                            open(os.path.join(src, "app", "hub", "config.c"), encoding="utf-8").read()))
if not table_keys:
    fail("found no table of config keys in app/hub/config.c (has the parser changed shape? teach this test)")
for k in sorted(table_keys):
    if not bold(k, hub_part):
        fail("berrymq-hub.json(5): hub config key '%s' is not documented (write it as *%s*)" % (k, k))


def terms(body):
    """{term line: its text} of a scdoc term list (a term at column 0, its text indented)."""
    out, cur = {}, None
    for line in body.split("\n"):
        if line and not line[0].isspace():
            cur = line
            out[cur] = ""
        elif cur is not None:
            out[cur] += line + "\n"
    return out


# A top-level key whose value is an object read by a parser of its own
# (strcmp(k, "history") == 0) { ... history_opts_parse(v, ...): every key that
# parser compares is described in that key's own entry.
top_terms = terms(sections(hub_part, 1).get("TOP-LEVEL KEYS", ""))
hub_sources = {f: open(f, encoding="utf-8").read()
               for f in glob.glob(os.path.join(src, "app", "hub", "**", "*.c"), recursive=True)}
config_c = hub_sources.get(os.path.join(src, "app", "hub", "config.c"), "")
for m in re.finditer(r'strcmp\(k, "(\w+)"\) == 0\) \{(.*?)\n        \}', config_c, re.S):
    top, branch = m.groups()
    for fn in re.findall(r"\b(\w+_parse)\(v,", branch):
        body = next((d.group(1) for t in hub_sources.values()
                     for d in [re.search(r"^\w[\w \t*]*\b" + fn + r"\((.*?)\n\}", t, re.M | re.S)] if d), None)
        if body is None:
            fail("app/hub: cannot find the definition of %s (teach this test)" % fn)
            continue
        entry = next((txt for term, txt in top_terms.items() if bold(top, term)), None)
        if entry is None:
            fail("berrymq-hub.json(5): no entry *%s* under TOP-LEVEL KEYS" % top)
            continue
        for k in sorted(set(re.findall(r'strcmp\(k, "(\w+)"\)', body))):
            if not bold(k, entry):
                fail("berrymq-hub.json(5): key '%s' of *%s* (read by %s) is not in the entry of %s "
                     "(write it as *%s*)" % (k, top, fn, top, k))
# docs/hub.md's table of hub.json keys has a row for every top-level key
# (those parse_root compares, and the table's).
m = re.search(r"^static bool parse_root\(.*?\n\}", config_c, re.M | re.S)
if not m:
    fail("app/hub/config.c: no parse_root (teach this test)")
else:
    top_keys = set(re.findall(r'strcmp\(k, "(\w+)"\)', m.group(0))) | table_keys
    hub_md = open(os.path.join(src, "docs", "hub.md"), encoding="utf-8").read()
    rows = " ".join(l.split("|")[1] for l in hub_md.split("\n") if l.startswith("| `"))
    for k in sorted(top_keys):
        if "`%s`" % k not in rows:
            fail("docs/hub.md: the hub.json key '%s' has no row in the table of keys" % k)
KEY_CALL = re.compile(r'\b(?:json_object_object_get_ex|get_string|get_int|get_bool|get_strings|get_seconds|'
                      r'get_patterns|get_double|cfg_get|cfg_bool|cfg_int|cfg_string|member)\(\s*'
                      r'(?:cfg|config|conf|listen|t|tls)\s*,\s*"(\w+)"')
KEY_CMP = re.compile(r'strcmp\((?:k|key), "(\w+)"\)')
KEY_TABLE = re.compile(r'\{\s*"(\w+)",\s*K_[A-Z_]+')
plugin_sections = sections(text[plugins_at:] if plugins_at >= 0 else "", 2)
plugin_names = []
for d in sorted(glob.glob(os.path.join(src, "plugins", "*", "CMakeLists.txt"))):
    name = os.path.basename(os.path.dirname(d))
    plugin_names.append(name)
    sec = plugin_sections.get(name)
    if sec is None:
        fail("berrymq-hub.json(5): no section '## %s' under PLUGINS for the plugin %s" % (name, name))
        continue
    keys = set()
    for f in glob.glob(os.path.join(os.path.dirname(d), "*.c")):
        s = open(f, encoding="utf-8").read()
        keys.update(KEY_CALL.findall(s) + KEY_CMP.findall(s) + KEY_TABLE.findall(s))
    for k in sorted(keys):
        if not word(k, sec):
            fail("berrymq-hub.json(5): key '%s' of plugin %s is not in its section" % (k, name))

# ---- berrymq-plugin(7) ----
text = page("berrymq-plugin.7")
header = open(os.path.join(src, "sdk", "include", "berrymq", "plugin.h"), encoding="utf-8").read()
for struct in (r"struct bmq_host \{(.*?)\n\};", r"typedef struct bmq_plugin_descriptor \{(.*?)\n\}"):
    m = re.search(struct, header, re.S)
    if not m:
        fail("plugin.h: cannot find %s (teach this test)" % struct)
        continue
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    # Members: "type name;", "type name[N];" and "ret (*name)(...)" at the
    # start of a line (not the function-pointer parameters inside one).
    fields = set(re.findall(r"^\s*[\w \t*]+\(\*(\w+)\)\(", body, re.M)) | \
        set(re.findall(r"^\s*[\w \t*]+?\b(\w+)(?:\[\w*\])?;", body, re.M))
    for fld in sorted(fields):
        if not bold(fld, text):
            fail("berrymq-plugin(7): field '%s' is not documented (write it as *%s*)" % (fld, fld))
for name in plugin_names:
    if not bold(name, text):
        fail("berrymq-plugin(7): the plugin %s is not named (*%s*)" % (name, name))

# ---- rendering ----
pages = sorted(glob.glob(os.path.join(build, "docs", "man", "*.[0-9]")))
if len(pages) < 4:
    fail("built man pages missing in %s/docs/man: %s" % (build, pages))
for p in pages:
    r = subprocess.run(["man", "--warnings", "-l", p], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH="80", LANG="C.UTF-8", MANPAGER="cat", PAGER="cat"))
    if r.returncode != 0 or r.stderr.strip():
        fail("man --warnings -l %s: exit %d\n%s" % (p, r.returncode, r.stderr))

for f in failures:
    print("FAIL " + f)
print("%d problems" % len(failures))
sys.exit(1 if failures else 0)
