#!/usr/bin/env python3
"""The bash, zsh and fish completions offer every verb, every option of
each verb, the plugin subcommands and the hub's options (all read from the
programs' --help, as the man page test does), and the instance ids of a
running hub for `berrymq plugin enable`; after an option that takes an
argument they offer only values its help line names (or files).

bash runs the completion function with COMP_WORDS set; fish answers
`complete -C`; zsh runs the completion function with compadd and _files
replaced by functions that print what they are given.

usage: docs_completions.py SOURCE_DIR BUILD_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helpinfo  # noqa: E402
from helpinfo import cli_global_options, cli_verbs, hub_options, verb_options, verb_subcommands  # noqa: E402

src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
cli = os.path.join(build, "app", "cli", "berrymq")
hub = os.path.join(build, "app", "hub", "berrymq-hub")
comp = os.path.join(src, "completions")
failures = []
env = dict(os.environ, PATH="%s:%s:%s" % (os.path.dirname(cli), os.path.dirname(hub), os.environ["PATH"]))


def q(s):
    return "'" + s.replace("'", "'\\''") + "'"


def bash(words):
    prog = "berrymq-hub" if words[0] == "berrymq-hub" else "berrymq"
    script = ". %s\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n_init_completion() { cur=${COMP_WORDS[COMP_CWORD]} " \
             "prev=${COMP_WORDS[COMP_CWORD-1]}; words=(\"${COMP_WORDS[@]}\"); cword=$COMP_CWORD; }\n%s\n" \
             "printf '%%s\\n' \"${COMPREPLY[@]}\"\n" % (
                 q(comp + "/berrymq.bash"), " ".join(q(w) for w in words), len(words) - 1,
                 "_berrymq_hub" if prog == "berrymq-hub" else "_berrymq")
    r = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True, env=env)
    return set(r.stdout.split()), r.stderr


def fish(words):
    line = " ".join(words)
    r = subprocess.run(["fish", "--no-config", "-c", "source %s; complete -C %s" % (q(comp + "/berrymq.fish"), q(line))],
                       capture_output=True, text=True, env=env)
    return set(l.split("\t")[0] for l in r.stdout.split("\n") if l), r.stderr


def zsh(words):
    script = ("compadd() { if [[ $1 == -a ]]; then print -l -- ${(P)2}; else print -l -- \"$@\"; fi }\n"
              "_files() { print -- _files }\n"
              "service=%s\nwords=(%s)\nCURRENT=%d\nPREFIX=%s\n"
              "source %s\n") % (words[0], " ".join(q(w) for w in words), len(words), q(words[-1]),
                                 q(comp + "/_berrymq"))
    r = subprocess.run(["zsh", "-f", "-c", script], capture_output=True, text=True, env=env)
    return set(r.stdout.split()), r.stderr


def check(shell, fn, words, want):
    got, err = fn(words)
    prefix = words[-1]
    missing = sorted(w for w in want if w.startswith(prefix) and w not in got)
    if missing:
        failures.append("%s: '%s<TAB>' does not offer %s (offered: %s)%s" % (
            shell, " ".join(words), ", ".join(missing), " ".join(sorted(got)), ("\n" + err) if err.strip() else ""))


def arg_options(verb):
    """{option: its help line} for the options of `berrymq VERB --help` that take an argument."""
    out = {}
    for line in helpinfo.run([cli, verb, "--help"]).split("\n"):
        m = re.match(r"^\s+(?:(-\w), )?(--[\w-]+) ([A-Z\[][^\s]*)(.*)$", line)
        if m:
            for o in m.group(1, 2):
                if o:
                    out[o] = m.group(4)
    return out


def check_values(shell, fn):
    """After an option that takes an argument, only values its help line names
    (or files) are offered: the completion follows each verb's own options,
    not another verb's that share a letter."""
    here = os.getcwd()
    empty = tempfile.mkdtemp()
    os.chdir(empty)  # no file names to offer
    try:
        for verb, _ in verbs:
            for opt, text in sorted(arg_options(verb).items()):
                for a, b in re.findall(r"\b(\d+)-(\d+)\b", text):  # "1-5"
                    text += " " + " ".join(str(n) for n in range(int(a), int(b) + 1))
                got, err = fn(["berrymq", verb, opt, ""])
                wrong = sorted(w for w in got if w != "_files" and not re.search(r"\b%s\b" % re.escape(w), text))
                if wrong:
                    failures.append("%s: 'berrymq %s %s <TAB>' offers %s, not values of %s (%s)" % (
                        shell, verb, opt, " ".join(wrong), opt, text.strip()))
    finally:
        os.chdir(here)
        os.rmdir(empty)


shells = [("bash", bash)]
for name, fn in (("fish", fish), ("zsh", zsh)):
    if shutil.which(name):
        shells.append((name, fn))
    else:
        print("note: %s not installed; its completion is not checked" % name)

verbs = cli_verbs(cli)
all_verbs = [v for v, _ in verbs] + [a for _, a in verbs if a]
for shell, fn in shells:
    check(shell, fn, ["berrymq", ""], all_verbs + ["help"])
    check(shell, fn, ["berrymq", "--"], [o for o in cli_global_options(cli) if o.startswith("--")])
    for verb, _ in verbs:
        check(shell, fn, ["berrymq", verb, "--"], [o for o in verb_options(cli, verb) if o.startswith("--")])
        subs = verb_subcommands(cli, verb)
        if subs:
            check(shell, fn, ["berrymq", verb, ""], subs)
    check_values(shell, fn)
    check(shell, fn, ["berrymq", "notify", "-u", ""], ["low", "normal", "critical"])
    check(shell, fn, ["berrymq", "publish", "-p", ""], ["min", "low", "default", "high", "max", "urgent"])
    check(shell, fn, ["berrymq-hub", "--"], [o for o in hub_options(hub) if o.startswith("--")])

# Instance ids from a running hub.
work = tempfile.mkdtemp(prefix="bmq-comp-")
try:
    cfg = os.path.join(work, "hub.json")
    open(cfg, "w").write('{"plugins": [{"plugin": "timer", "id": "tick7", "config": {"interval": 3600}}]}')
    henv = dict(env, HOME=work, XDG_RUNTIME_DIR=work, XDG_CONFIG_HOME=work, XDG_DATA_HOME=work, XDG_STATE_HOME=work)
    henv.pop("DISPLAY", None)
    log = open(os.path.join(work, "hub.log"), "w+")
    proc = subprocess.Popen([hub, "--config", cfg, "--listen", "127.0.0.1:0", "--no-tray"], env=henv,
                            stdout=log, stderr=subprocess.STDOUT)
    addr = None
    for _ in range(600):
        text = open(os.path.join(work, "hub.log")).read()
        m = re.search(r"listening on (\S+)", text)
        if m and "instance 'tick7'" in text:
            addr = m.group(1)
            break
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    if not addr:
        failures.append("hub did not start: " + open(os.path.join(work, "hub.log")).read())
    else:
        env["BERRYMQ_HUB"] = addr
        for shell, fn in shells:
            check(shell, fn, ["berrymq", "plugin", "enable", ""], ["tick7"])
    proc.terminate()
    proc.wait(30)
finally:
    shutil.rmtree(work, ignore_errors=True)

for f in failures:
    print("FAIL " + f)
print("%d problems (%s)" % (len(failures), ", ".join(s for s, _ in shells)))
sys.exit(1 if failures else 0)
