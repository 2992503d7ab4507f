#!/bin/sh
# Install the project into a temporary prefix, build the plugin template out
# of tree against it (pkg-config + make, and CMake find_package), then load
# the plugin into the installed hub and talk to it.
# usage: hub_template.sh BUILD_DIR TEMPLATE_DIR CMAKE CC
set -u
build=$1 template=$2 cmake=$3 cc=$4
for tool in "$cc" make pkg-config curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "skip: $tool missing"; exit 77; }
done
work=$(mktemp -d /tmp/bmq-template-XXXXXX)
hubpid=
cleanup() {
  [ -n "$hubpid" ] && kill "$hubpid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$work/hub.log" ] && sed 's/^/  hub: /' "$work/hub.log"; exit 1; }

"$cmake" --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log"; fail "cmake --install"; }
pc=$(find "$work/prefix" -name berrymq.pc | head -n1)
[ -n "$pc" ] || fail "berrymq.pc not installed"
# The .pc names the configured prefix; point a copy at this temporary one,
# as for any relocated install.
mkdir -p "$work/pc"
sed "s|^prefix=.*|prefix=$work/prefix|" "$pc" >"$work/pc/berrymq.pc"
export PKG_CONFIG_PATH="$work/pc"
libdir=$(pkg-config --variable=libdir berrymq)
[ -f "$libdir/libberrymq.so" ] || fail "libberrymq.so not in $libdir"
for f in bin/berrymq-hub share/berrymq/hub.json lib/systemd/user/berrymq-hub.service \
         share/applications/berrymq-hub.desktop etc/xdg/autostart/berrymq-hub.desktop \
         share/icons/hicolor/scalable/apps/berrymq.svg include/berrymq/plugin.h; do
  [ -e "$work/prefix/$f" ] || fail "$f not installed"
done

# 1. pkg-config + make, from a copy outside the source tree.
cp -r "$template" "$work/src"
rm -rf "$work/src/build"
make -C "$work/src" CC="$cc" >"$work/make.log" 2>&1 || { cat "$work/make.log"; fail "make"; }
[ -f "$work/src/example.so" ] || fail "make did not produce example.so"

# 2. CMake with find_package(Berrymq).
"$cmake" -S "$work/src" -B "$work/cbuild" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/cmake.log" 2>&1 \
  && "$cmake" --build "$work/cbuild" >>"$work/cmake.log" 2>&1 \
  || { cat "$work/cmake.log"; fail "CMake build of the template"; }
[ -f "$work/cbuild/example.so" ] || fail "CMake did not produce example.so"

# 3. Load the make-built plugin into the installed hub.
mkdir -p "$work/plugins" "$work/home" "$work/run" && chmod 700 "$work/run"
cp "$work/src/example.so" "$work/plugins/"
cat >"$work/hub.json" <<JSON
{"plugins": [{"plugin": "example", "id": "ex", "config": {"greeting": "hi"}}]}
JSON
env -u DISPLAY -u WAYLAND_DISPLAY -u BMQ_PLUGIN_BUILD_DIR HOME="$work/home" \
  XDG_RUNTIME_DIR="$work/run" XDG_CONFIG_HOME="$work/home/.config" \
  XDG_DATA_HOME="$work/home/.local/share" \
  "$work/prefix/bin/berrymq-hub" --config "$work/hub.json" --listen 127.0.0.1:0 \
  --plugin-dir "$work/plugins" --no-tray >"$work/hub.log" 2>&1 &
hubpid=$!
addr=
for i in $(seq 1 200); do
  addr=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$work/hub.log" | head -n1)
  [ -n "$addr" ] && break
  kill -0 $hubpid 2>/dev/null || fail "the installed hub exited"
  sleep 0.05
done
[ -n "$addr" ] || fail "the installed hub did not start listening"
for i in $(seq 1 200); do
  grep -q "instance 'ex' started (plugin example 1.0)" "$work/hub.log" && break
  sleep 0.05
done
grep -q "instance 'ex' started (plugin example 1.0)" "$work/hub.log" || fail "instance not started"
reply=$(curl -s -X POST "http://$addr/JSON" \
  -d '{"id": 1, "method": "hub.twitter", "params": ["ex:ping", [1], {}]}')
echo "$reply" | grep -q '"result":"ok"' || fail "hub.twitter: $reply"
for i in $(seq 1 100); do
  grep -q "\[ex\] ping received (1 so far)" "$work/hub.log" && break
  sleep 0.05
done
grep -q "\[ex\] ping received (1 so far)" "$work/hub.log" || fail "the plugin did not get the ping"
kill -TERM $hubpid
wait $hubpid
rc=$?
hubpid=
[ $rc -eq 0 ] || fail "hub exit code $rc after SIGTERM"
echo "template built with pkg-config and CMake, loaded and answered"
exit 0
