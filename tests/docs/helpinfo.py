"""What the programs say they accept, read from their --help: shared by the
docs tests so the man pages and the completions are held to the same list."""
import os
import re
import subprocess

OPT_LINE = re.compile(r"^\s+(-[A-Za-z0-9])?(?:,\s*)?(--[a-z][\w-]*)?")
OPT_TOKEN = re.compile(r"(?<![\w-])(--[a-z][\w-]*|-[A-Za-z])(?![\w-])")
COMMON = {"--hub", "--secret", "--help", "-h", "--version", "-V"}


def run(args):
    r = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, LANG="C.UTF-8"))
    return r.stdout + r.stderr


def options_of(help_text):
    """Options in usage lines and at the start of option lines."""
    opts = set()
    for line in help_text.split("\n"):
        if re.match(r"^\s*(Usage:|berrymq )", line):
            opts.update(OPT_TOKEN.findall(line))
            continue
        m = OPT_LINE.match(line)
        if m and line.strip().startswith("-"):
            opts.update(o for o in m.groups() if o)
    return opts


def cli_verbs(cli):
    """[(verb, alias or None)] from `berrymq --help`."""
    verbs, in_cmds = [], False
    for line in run([cli, "--help"]).split("\n"):
        if line.startswith("Commands:"):
            in_cmds = True
            continue
        if in_cmds:
            m = re.match(r"^\s+(\w[\w-]*)\s+(.*)$", line)
            if not m:
                break
            alias = re.search(r"alias:? (\w+)", m.group(2))
            verbs.append((m.group(1), alias.group(1) if alias else None))
    return verbs


def cli_global_options(cli):
    text = run([cli, "--help"])
    return options_of(text.split("Commands:")[0] + "\n" + text.split("Options:")[-1])


def verb_options(cli, verb):
    return options_of(run([cli, verb, "--help"])) - COMMON


def verb_subcommands(cli, verb):
    text = run([cli, verb, "--help"])
    return sorted(set(re.findall(r"^(?:Usage:)?\s*berrymq %s ([a-z]+)(?![\w:.])" % verb, text, re.M)))


def hub_options(hub):
    opts = set()
    for line in run([hub, "--help-all"]).split("\n"):
        m = re.match(r"^\s+(?:(-\w), )?(--[\w-]+)", line)
        if m:
            opts.update(o for o in m.groups() if o)
    return opts - {"--help-all"}
