# desktop_env.sh - a private desktop for shell tests (sourced): Xvfb on a
# free display, a session bus of its own and dunst, as desktop_env.c does
# for the C tests. Everything started is stopped by desk_stop.
#
#   desk_start DIR      start all three; exports DISPLAY and
#                       DBUS_SESSION_BUS_ADDRESS; returns 77 when a tool is
#                       missing, 1 when something did not start
#   desk_history        dunst's history (dunstctl history, JSON)
#   desk_wait_shown S   wait until a notification with summary S is in
#                       dunst's history or on screen; prints its appname
#   desk_stop           stop what desk_start started
desk_pids=
desk_dir=

desk_start() {
  desk_dir=$1
  for t in Xvfb dbus-daemon dunst dunstctl; do
    command -v $t >/dev/null 2>&1 || { echo "skip: $t missing"; return 77; }
  done
  mkdir -p "$desk_dir/cfg" && chmod 700 "$desk_dir"
  rm -f "$desk_dir/display"
  Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp -noreset \
    3>"$desk_dir/display" >"$desk_dir/xvfb.log" 2>&1 &
  desk_pids="$desk_pids $!"
  i=0
  while [ ! -s "$desk_dir/display" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  [ -s "$desk_dir/display" ] || { echo "Xvfb did not start"; cat "$desk_dir/xvfb.log"; return 1; }
  DISPLAY=":$(head -n1 "$desk_dir/display")"
  export DISPLAY
  cat >"$desk_dir/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$desk_dir</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
  rm -f "$desk_dir/bus"
  dbus-daemon --config-file="$desk_dir/bus.conf" --nofork --print-address=3 \
    3>"$desk_dir/bus" >"$desk_dir/dbus.log" 2>&1 &
  desk_pids="$desk_pids $!"
  i=0
  while [ ! -s "$desk_dir/bus" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  [ -s "$desk_dir/bus" ] || { echo "dbus-daemon did not start"; return 1; }
  DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$desk_dir/bus")
  export DBUS_SESSION_BUS_ADDRESS
  unset WAYLAND_DISPLAY
  cat >"$desk_dir/cfg/dunstrc" <<CONF
[global]
    font = Sans 10
    history_length = 200
    idle_threshold = 0
    notification_limit = 0
[urgency_low]
    timeout = 0
[urgency_normal]
    timeout = 0
[urgency_critical]
    timeout = 0
CONF
  dunst -config "$desk_dir/cfg/dunstrc" >"$desk_dir/dunst.log" 2>&1 &
  desk_pids="$desk_pids $!"
  i=0
  until dunstctl is-paused >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 200 ] || { echo "dunst did not start"; cat "$desk_dir/dunst.log"; return 1; }
    sleep 0.05
  done
  return 0
}

desk_history() {
  dunstctl history 2>/dev/null
}

# Notifications on screen are not in the history yet: close them all into
# it first (dunst keeps closed ones in its history).
desk_wait_shown() {
  want=$1
  i=0
  while [ $i -lt 200 ]; do
    dunstctl close-all >/dev/null 2>&1
    app=$(desk_history | python3 -c '
import json, sys
want = sys.argv[1]
for group in json.load(sys.stdin).get("data", []):
    for n in group:
        if n.get("summary", {}).get("data") == want:
            print(n.get("appname", {}).get("data", "")); sys.exit(0)
sys.exit(1)' "$want") && { echo "$app"; return 0; }
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}

desk_stop() {
  for p in $desk_pids; do kill "$p" 2>/dev/null; done
  for p in $desk_pids; do wait "$p" 2>/dev/null; done
  desk_pids=
}
