#!/usr/bin/env python3
"""Run every ```sh example of README.md and docs/*.md as written, and parse
every ```json one.

The examples run as a user of an installed copy would type them: the build
is installed to a temporary prefix whose bin/ is first on PATH, with a
private desktop (Xvfb, session bus, dunst) and, unless the block says it
starts its own, a hub on its defaults (127.0.0.1:29887). Everything happens
in a private network namespace (so the default port is ours) and a private
mount namespace where the source tree is an overlay: what the examples write
is thrown away.

A block can be marked on the line before its fence:
  <!-- example: skip: REASON -->   not run here (REASON names what covers it)
  <!-- example: own-hub -->        starts its own hub

usage: docs_examples.py SOURCE_DIR BUILD_DIR CMAKE
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77
src, build, cmake = (os.path.realpath(a) for a in sys.argv[1:4])


def blocks():
    files = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md")))
    for path in files:
        lines = open(path, encoding="utf-8").read().split("\n")
        i = 0
        while i < len(lines):
            m = re.match(r"^```(\w*)\s*$", lines[i])
            if not m:
                i += 1
                continue
            lang, start = m.group(1), i
            note = lines[i - 1].strip() if i > 0 else ""
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            yield os.path.relpath(path, src), start + 1, lang, note, "\n".join(lines[i + 1:j]) + "\n"
            i = j + 1


def enter_namespaces():
    if os.environ.get("BMQ_DOCS_NS") == "1":
        return
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("skip: needs root and unshare for private network and mount namespaces")
        sys.exit(SKIP)
    probe = subprocess.run(["unshare", "-m", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        print("skip: no private namespaces here (%s); the examples need 127.0.0.1:29887 and a "
              "writable copy of the tree to themselves" % probe.stderr.strip())
        sys.exit(SKIP)
    env = dict(os.environ, BMQ_DOCS_NS="1")
    r = subprocess.run(["unshare", "-m", "-n", sys.executable] + sys.argv, env=env)
    sys.exit(r.returncode)


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, check=True, **kw)


def wait_for(cond, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def main():
    # JSON first: no environment needed.
    failures, ran, skipped = 0, 0, []
    todo = []
    for path, line, lang, note, text in blocks():
        where = "%s:%d" % (path, line)
        m = re.match(r"<!-- example: skip: (.+?) -->", note)
        if m:
            skipped.append((where, m.group(1)))
            continue
        if lang == "json":
            try:
                json.loads(text)
                ran += 1
            except ValueError as e:
                print("FAIL %s: not JSON: %s" % (where, e))
                failures += 1
        elif lang == "sh":
            todo.append((where, "own-hub" in note, text))

    enter_namespaces()
    work = tempfile.mkdtemp(prefix="bmq-docs-")
    try:
        sh("ip link set lo up")
        sh("mount --make-rprivate /")
        os.makedirs(work + "/u")
        os.makedirs(work + "/w")
        sh("mount -t overlay bmq-docs -o lowerdir=%s,upperdir=%s/u,workdir=%s/w %s" % (src, work, work, src))
        prefix = work + "/prefix"
        r = subprocess.run([cmake, "--install", build, "--prefix", prefix], capture_output=True, text=True,
                           env=dict(os.environ, HOME=work + "/install-home"))
        if r.returncode != 0:
            print(r.stdout + r.stderr)
            print("FAIL: cmake --install")
            return 1
        pc = glob.glob(prefix + "/lib*/**/pkgconfig/berrymq.pc", recursive=True)
        base_env = {
            "PATH": prefix + "/bin:/usr/local/bin:/usr/bin:/bin",
            "PKG_CONFIG_PATH": os.path.dirname(pc[0]) if pc else "",
            "LANG": "C.UTF-8",
        }
        # The private desktop, for the notify examples.
        desk = work + "/desk"
        os.makedirs(desk)
        helper = os.path.join(src, "tests", "support", "desktop_env.sh")
        deskproc = subprocess.Popen(
            ["sh", "-c", '. "$1"; desk_start "$2" || exit $?; '
             'printf "%s\\n%s\\n" "$DISPLAY" "$DBUS_SESSION_BUS_ADDRESS" >"$2/env.tmp"; mv "$2/env.tmp" "$2/env"; '
             'trap "desk_stop; exit 0" TERM; while :; do sleep 1; done', "desk", helper, desk],
            env=dict(base_env, HOME=work), stdout=subprocess.DEVNULL)
        if not wait_for(lambda: os.path.exists(desk + "/env") or deskproc.poll() is not None, 30):
            print("FAIL: the private desktop did not start")
            return 1
        if deskproc.poll() is not None:
            print("skip: no private desktop here (Xvfb, dbus-daemon or dunst missing)")
            return SKIP
        display, bus = open(desk + "/env").read().split("\n")[:2]
        base_env.update(DISPLAY=display, DBUS_SESSION_BUS_ADDRESS=bus)

        for n, (where, own_hub, text) in enumerate(todo):
            home = "%s/home-%d" % (work, n)
            os.makedirs(home)
            env = dict(base_env, HOME=home, XDG_RUNTIME_DIR=home + "/run", XDG_CONFIG_HOME=home + "/.config",
                       XDG_DATA_HOME=home + "/.local/share", XDG_STATE_HOME=home + "/.local/state",
                       XDG_CACHE_HOME=home + "/.cache")
            os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)
            hub = None
            if not own_hub:
                hublog = open(home + "/hub.log", "w")
                hub = subprocess.Popen([prefix + "/bin/berrymq-hub", "--no-tray"], env=env, stdout=hublog,
                                       stderr=subprocess.STDOUT, cwd=home)
                up = wait_for(lambda: subprocess.run([prefix + "/bin/berrymq", "status"], env=env,
                                                     capture_output=True).returncode == 0
                              or hub.poll() is not None, 30)
                if not up or hub.poll() is not None:
                    print("FAIL %s: the hub did not start:\n%s" % (where, open(home + "/hub.log").read()))
                    failures += 1
                    continue
            proc = subprocess.Popen(["sh", "-c", text], env=env, cwd=src, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
            try:
                out = proc.communicate(timeout=90)[0]
                rc = proc.returncode
            except subprocess.TimeoutExpired:
                rc, out = "timeout (90 s)", ""
            # Whatever the block left running in the background goes too.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if rc == "timeout (90 s)":
                out = proc.communicate()[0]
            if hub:
                hub.send_signal(signal.SIGTERM)
                try:
                    hub.wait(30)
                except subprocess.TimeoutExpired:
                    hub.kill()
                    hub.wait()
            if rc != 0:
                print("FAIL %s: exit %s\n--- block\n%s--- output\n%s" % (where, rc, text, out))
                if hub:
                    print("--- hub log\n" + open(home + "/hub.log").read())
                failures += 1
            else:
                ran += 1
                print("ok   %s" % where)
        deskproc.send_signal(signal.SIGTERM)
        deskproc.wait(30)
    finally:
        subprocess.run(["umount", "-l", src], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    for where, why in skipped:
        print("skip %s: %s" % (where, why))
    print("%d examples ran, %d skipped (each names what covers it), %d failed" % (ran, len(skipped), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
