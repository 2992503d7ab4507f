#!/bin/sh
# The real berrymq-hub with a timer and a fileobserver instance, seen from
# the CLI: `berrymq listen 'logs:*'` while this script creates, appends to,
# renames and deletes files; `berrymq listen 'tick:*'` for the timer.
# usage: observer_test.sh HUB_BIN CLI_BIN PLUGIN_DIR
set -u
hub=$1 cli=$2 plugdir=$3
[ -x "$hub" ] && [ -x "$cli" ] || { echo "skip: hub or CLI not built"; exit 77; }
work=$(mktemp -d /tmp/bmq-observer-XXXXXX)
hubpid=
cleanup() {
  [ -n "$hubpid" ] && kill "$hubpid" 2>/dev/null && wait "$hubpid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in hub.log logs.out ticks.out; do
    [ -f "$work/$f" ] && sed "s/^/  $f: /" "$work/$f"
  done
  exit 1
}

mkdir -p "$work/home/log" "$work/run" && chmod 700 "$work/run"
cat >"$work/hub.json" <<'JSON'
{"plugins": [
  {"plugin": "fileobserver", "id": "logs",
   "config": {"path": "~/log/*.log", "debounce_ms": 50}},
  {"plugin": "timer", "id": "tick", "config": {"interval": 0.2}}
]}
JSON
env -u DISPLAY -u WAYLAND_DISPLAY HOME="$work/home" XDG_RUNTIME_DIR="$work/run" \
  XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share" \
  "$hub" --config "$work/hub.json" --listen 127.0.0.1:0 --plugin-dir "$plugdir" --no-tray \
  >"$work/hub.log" 2>&1 &
hubpid=$!
addr=
for i in $(seq 1 200); do
  addr=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$work/hub.log" | head -n1)
  [ -n "$addr" ] && break
  kill -0 $hubpid 2>/dev/null || fail "the hub exited"
  sleep 0.05
done
[ -n "$addr" ] || fail "the hub did not start listening"
grep -q "instance 'logs' started" "$work/hub.log" || fail "fileobserver instance not started"
grep -q "instance 'tick' started" "$work/hub.log" || fail "timer instance not started"
export BERRYMQ_HUB="$addr"

# Timer: three ticks, seq counting up (a tick the loaded hub dispatched
# late covers the deadlines it missed: seq + 1 + missed).
"$cli" listen 'tick:*' --count 3 --timeout 5 >"$work/ticks.out" 2>&1 || fail "listen tick"
[ "$(grep -c '"id":"tick:tick"' "$work/ticks.out")" = 3 ] || fail "expected 3 ticks"
prev=
while read -r line; do
  seq=$(echo "$line" | sed -n 's/.*"seq":\([0-9]*\).*/\1/p')
  missed=$(echo "$line" | sed -n 's/.*"missed":\([0-9]*\).*/\1/p')
  [ -n "$seq" ] || fail "tick without seq: $line"
  [ -z "$prev" ] || [ "$seq" = $((prev + 1 + ${missed:-0})) ] || fail "tick seq $seq after $prev"
  prev=$seq
done <"$work/ticks.out"
seqs=$(sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$work/ticks.out" | tr '\n' ' ')

# Files: listen first, and make sure the listener is in place (a marker).
"$cli" listen 'logs:*' --timeout 20 >"$work/logs.out" 2>&1 &
lpid=$!
for i in $(seq 1 50); do
  "$cli" twitter logs:marker >/dev/null 2>&1
  grep -q logs:marker "$work/logs.out" && break
  sleep 0.1
done
grep -q logs:marker "$work/logs.out" || fail "listener never saw the marker"
log=$work/home/log
# Each step waits for its message, so a slow machine cannot fold two steps
# into one debounce window.
seen() {
  for i in $(seq 1 100); do
    grep -qF "\"id\":\"logs:$1\",\"args\":[\"$log/$2\"]" "$work/logs.out" && return 0
    sleep 0.05
  done
  fail "no logs:$1 for $2"
}
echo one >"$log/a.log"; seen created a.log
echo two >>"$log/a.log"; seen modified a.log
mv "$log/a.log" "$log/b.log"; seen created b.log
echo ignored >"$log/c.txt"
rm "$log/b.log"; seen removed b.log
sleep 0.3 # nothing else may arrive (c.txt is outside the glob)
kill -TERM $lpid
wait $lpid || fail "listen logs exited with an error"

got=$(grep -v logs:marker "$work/logs.out" |
  sed -n 's/.*"id":"logs:\([a-z]*\)","args":\["\([^"]*\)".*/\1 \2/p' | tr '\n' ';')
want="created $log/a.log;modified $log/a.log;removed $log/a.log;created $log/b.log;removed $log/b.log;"
[ "$got" = "$want" ] || fail "file events
  got:  $got
  want: $want"
grep -q '"size":8' "$work/logs.out" || fail "modified a.log should carry size 8"

# The instance's own status through the hub.
"$cli" status --json >"$work/status.out" 2>&1 || fail "status"
tr -d ' \n' <"$work/status.out" | grep -q '"sent":{"created":2,"modified":1,"removed":2}' ||
  fail "fileobserver counters in status: $(cat "$work/status.out")"
echo "ok: timer ticks $seqs; file events in order"
