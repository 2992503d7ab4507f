#!/bin/sh
# Install the built tree the ways the README documents and run the installed
# hub from there: it must find its default config, its plugins and their
# libraries (libberrymq-gtk for notify) through paths relative to itself,
# and the systemd unit and autostart entry must land where systemd --user
# and the desktop search for that prefix.
#
# With Xvfb, dbus and dunst at hand, the installed hub runs on a private
# desktop and `berrymq notify -a installcheck` must reach dunst as
# "installcheck".
# usage: install_test.sh MODE BUILD_DIR CMAKE SOURCE_DIR
#   prefix     cmake --install --prefix /tmp/X (configured for another prefix)
#   local      cmake --install --prefix $HOME/.local (HOME is a temporary one)
#   home       cmake --install --prefix $HOME/apps/berrymq (another prefix of
#              the user's: the unit and autostart still go where systemd
#              --user and the desktop look)
#   usr_local  DESTDIR=/tmp/root cmake --install --prefix /usr/local
set -u
mode=$1 build=$2 cmake=$3 src=$4
. "$src/tests/support/desktop_env.sh"
work=$(mktemp -d /tmp/bmq-install-XXXXXX)
hubpid=
cleanup() {
  [ -n "$hubpid" ] && kill "$hubpid" 2>/dev/null && wait "$hubpid" 2>/dev/null
  desk_stop
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  [ -f "$work/hub.log" ] && sed 's/^/  hub: /' "$work/hub.log"
  exit 1
}
home="$work/home"
mkdir -p "$home" "$work/run" && chmod 700 "$work/run"
destdir=
case $mode in
prefix) prefix="$work/opt/berrymq" ;;
local) prefix="$home/.local" ;;
home) prefix="$home/apps/berrymq" ;;
usr_local) prefix=/usr/local destdir="$work/root" ;;
*) echo "unknown mode $mode"; exit 2 ;;
esac
root="$destdir$prefix"

env HOME="$home" XDG_CONFIG_HOME= XDG_DATA_HOME= DESTDIR="$destdir" \
  "$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log"; fail "cmake --install --prefix $prefix"; }

# Where the per-user and system files went, and what they start.
case $mode in
prefix) unit="$root/lib/systemd/user" autostart="$root/etc/xdg/autostart" ;;
local | home) unit="$home/.local/share/systemd/user" autostart="$home/.config/autostart" ;;
usr_local) unit="$root/lib/systemd/user" autostart="$destdir/etc/xdg/autostart" ;;
esac
[ -f "$unit/berrymq-hub.service" ] || fail "unit not in $unit: $(cat "$work/install.log")"
[ -f "$autostart/berrymq-hub.desktop" ] || fail "autostart entry not in $autostart"
grep -qx "ExecStart=$prefix/bin/berrymq-hub" "$unit/berrymq-hub.service" \
  || fail "unit starts $(grep ExecStart "$unit/berrymq-hub.service"), not $prefix/bin/berrymq-hub"
grep -qx "Exec=$prefix/bin/berrymq-hub" "$autostart/berrymq-hub.desktop" \
  || fail "autostart runs $(grep ^Exec "$autostart/berrymq-hub.desktop")"
if [ "$mode" = usr_local ] && [ -e /usr/local/bin/berrymq-hub ] \
   && [ /usr/local/bin/berrymq-hub -nt "$work/install.log" ]; then
  fail "DESTDIR ignored: /usr/local/bin/berrymq-hub was written"
fi
if command -v systemd-analyze >/dev/null 2>&1; then
  # verify wants the ExecStart binary at its final path: check a copy of
  # the unit that names the binary where it really is (DESTDIR).
  sed "s|^ExecStart=.*|ExecStart=$root/bin/berrymq-hub|" "$unit/berrymq-hub.service" \
    >"$work/berrymq-hub.service"
  env HOME="$home" XDG_RUNTIME_DIR="$work/run" \
    systemd-analyze verify --user "$work/berrymq-hub.service" >"$work/verify.log" 2>&1 \
    || { cat "$work/verify.log"; fail "systemd-analyze verify --user"; }
  grep -i "berrymq" "$work/verify.log" && fail "systemd-analyze verify complained"
fi

# No RUNPATH may point into the build tree; the plugins' and programs'
# RUNPATHs are relative to themselves.
if command -v readelf >/dev/null 2>&1; then
  for f in "$root"/bin/berrymq-hub "$root"/lib*/*/berrymq/plugins/*.so "$root"/lib/berrymq/plugins/*.so \
           "$root"/lib*/libberrymq*.so.* "$root"/lib/*/libberrymq*.so.*; do
    [ -f "$f" ] || continue
    rp=$(readelf -d "$f" | sed -n 's/.*R\(UN\)\{0,1\}PATH.*\[\(.*\)\]/\2/p')
    case "$rp" in
    *"$build"* | *"$(dirname "$build")/"*) fail "$f has RUNPATH $rp (build tree)" ;;
    "" | '$ORIGIN'*) ;;
    *) fail "$f has RUNPATH $rp, not relative to \$ORIGIN" ;;
    esac
  done
fi

desktop=0
desk_start "$work/desk" >"$work/desk.log" 2>&1
case $? in
0) desktop=1 ;;
77) echo "no desktop check: $(cat "$work/desk.log")" ;;
*) cat "$work/desk.log"; fail "private desktop did not start" ;;
esac
busenv=
[ $desktop = 1 ] && busenv="DISPLAY=$DISPLAY DBUS_SESSION_BUS_ADDRESS=$DBUS_SESSION_BUS_ADDRESS"

# Run the installed hub on its defaults (no config file of its own, no
# --plugin-dir, no build-tree variables): it must take hub.json from its
# installed data dir and load notify (which needs libberrymq-gtk).
env -i PATH=/usr/bin:/bin HOME="$home" XDG_RUNTIME_DIR="$work/run" \
  XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" \
  XDG_STATE_HOME="$home/.local/state" $busenv \
  "$root/bin/berrymq-hub" --listen 127.0.0.1:0 --no-tray >"$work/hub.log" 2>&1 &
hubpid=$!
addr=
for i in $(seq 1 400); do
  addr=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$work/hub.log" | head -n1)
  [ -n "$addr" ] && grep -q "instance 'notify'" "$work/hub.log" && break
  kill -0 $hubpid 2>/dev/null || fail "the installed hub exited"
  sleep 0.05
done
[ -n "$addr" ] || fail "the installed hub did not start listening"
grep -q "(config: $root/share/berrymq/hub.json)" "$work/hub.log" \
  || fail "default config not taken from $root/share/berrymq"
grep -q "instance 'notify' started (plugin notify" "$work/hub.log" || fail "notify did not start"
grep -q "not a shared object" "$work/hub.log" && fail "a plugin did not load"
cli="$root/bin/berrymq"
list=$(env -i PATH=/usr/bin:/bin HOME="$home" XDG_RUNTIME_DIR="$work/run" \
  "$cli" --hub "$addr" plugin list 2>&1) || fail "berrymq plugin list: $list"
echo "$list" | grep -q "notify .*($root/lib.*/berrymq/plugins/notify.so)" \
  || fail "notify not listed from $root: $list"
echo "$list" | grep -q "$(dirname "$build")/" && fail "plugins from the build tree: $list"
status=$(env -i PATH=/usr/bin:/bin HOME="$home" XDG_RUNTIME_DIR="$work/run" \
  "$cli" --hub "$addr" status 2>&1) || fail "berrymq status: $status"
echo "$status" | grep -q "^config: *$root/share/berrymq/hub.json" \
  || fail "status does not name the config in use: $status"
echo "$status" | grep -q "daemon \(up\|down\)" || fail "status shows no notify counters: $status"
env -i PATH=/usr/bin:/bin "$cli" --hub "$addr" notify -a installcheck "installed $mode" "from $prefix" \
  || fail "berrymq notify"
if [ $desktop = 1 ]; then
  app=$(desk_wait_shown "installed $mode") || fail "dunst did not show the notification"
  [ "$app" = installcheck ] || fail "dunst saw appname '$app', not installcheck"
fi
kill -TERM $hubpid
wait $hubpid
rc=$?
hubpid=
[ $rc -eq 0 ] || fail "hub exit code $rc after SIGTERM"
echo "installed to $root: unit in $unit, autostart in $autostart, hub ran with its plugins"
exit 0
