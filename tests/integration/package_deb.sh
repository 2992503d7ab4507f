#!/bin/sh
# Build the Debian packages with cpack, then install them with apt-get into
# a copy-on-write view of this machine (an overlay over / in a private mount
# namespace, entered with chroot) so the real system is never touched:
# start the installed /usr/bin/berrymq-hub under Xvfb + a session bus +
# dunst, check `berrymq notify -a buildbot` reaches dunst as "buildbot",
# verify the unit, build the installed plugin template, remove the packages
# and check nothing is left.
# usage: package_deb.sh BUILD_DIR SOURCE_DIR CPACK VERSION
set -u
build=$1 src=$2 cpack=$3 version=$4
for t in dpkg-deb dpkg-shlibdeps unshare chroot apt-get; do
  command -v $t >/dev/null 2>&1 || { echo "skip: $t missing"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "skip: needs root for the overlay"; exit 77; }
work=$(mktemp -d /tmp/bmq-deb-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$cpack" --config "$build/CPackConfig.cmake" -G DEB -B "$work/pkgs" >"$work/cpack.log" 2>&1 \
  || { cat "$work/cpack.log"; fail "cpack -G DEB"; }
arch=$(dpkg --print-architecture)
hub_deb="$work/pkgs/berrymq-hub_${version}_${arch}.deb"
dev_deb="$work/pkgs/libberrymq-dev_${version}_${arch}.deb"
[ -f "$hub_deb" ] || fail "no $(basename "$hub_deb"): $(ls "$work/pkgs")"
[ -f "$dev_deb" ] || fail "no $(basename "$dev_deb")"
depends=$(dpkg-deb -f "$hub_deb" Depends)
for d in libc6 libglib2.0-0 libjson-c5 libnotify4 libmicrohttpd12; do
  echo "$depends" | grep -q "$d" || fail "Depends lacks $d: $depends"
done
# What `apt show` prints: a synopsis of each package's own, then text
# without stray list separators.
for deb in "$hub_deb" "$dev_deb"; do
  desc=$(dpkg-deb -f "$deb" Description)
  echo "$desc" | grep -q '^ *;' && fail "$(basename "$deb"): a line of Description starts with ';': $desc"
  [ "$(echo "$desc" | sed -n 2p | sed 's/^ *//')" = "$(echo "$desc" | head -n1)" ] \
    && fail "$(basename "$deb"): the synopsis is repeated as the first line of the text: $desc"
done
dpkg-deb -f "$dev_deb" Description | head -n1 | grep -q "development" \
  || fail "libberrymq-dev's synopsis does not say it holds development files: $(dpkg-deb -f "$dev_deb" Description)"
dpkg-deb -c "$hub_deb" | awk '{print $6}' >"$work/files"
for f in ./usr/bin/berrymq ./usr/bin/berrymq-hub ./usr/lib/systemd/user/berrymq-hub.service \
         ./etc/xdg/autostart/berrymq-hub.desktop ./usr/share/applications/berrymq-hub.desktop \
         ./usr/share/icons/hicolor/scalable/apps/berrymq.svg ./usr/share/berrymq/hub.json \
         ./usr/share/man/man1/berrymq.1 ./usr/share/man/man1/berrymq-hub.1 \
         ./usr/share/man/man5/berrymq-hub.json.5 ./usr/share/man/man7/berrymq-plugin.7 \
         ./usr/share/bash-completion/completions/berrymq ./usr/share/zsh/vendor-completions/_berrymq \
         ./usr/share/fish/vendor_completions.d/berrymq.fish \
         "./usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)/berrymq/plugins/notify.so"; do
  grep -qx "$f" "$work/files" || fail "$f not in the package"
done
grep -q "^./usr/local" "$work/files" && fail "files under /usr/local in the package"

# The view: / as the lower layer, changes go to $work/upper. Other mounts
# (/proc, /dev, /sys) are bound in; $work/share carries the packages in.
mkdir -p "$work/upper" "$work/ovl" "$work/root" "$work/share"
cp "$hub_deb" "$dev_deb" "$src/tests/support/desktop_env.sh" "$work/share/"
cat >"$work/share/inside.sh" <<'INSIDE'
set -u
cd /
fail() { echo "FAIL: $*"; exit 1; }
export DEBIAN_FRONTEND=noninteractive HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin
[ -e /usr/bin/berrymq-hub ] && fail "berrymq-hub is already installed on this machine"
apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 \
  /bmq/berrymq-hub_*.deb /bmq/libberrymq-dev_*.deb >/bmq/apt.log 2>&1 \
  || { cat /bmq/apt.log; fail "apt-get install ./berrymq-hub_*.deb"; }
for f in /usr/bin/berrymq-hub /usr/bin/berrymq /usr/lib/systemd/user/berrymq-hub.service \
         /etc/xdg/autostart/berrymq-hub.desktop; do
  [ -e "$f" ] || fail "$f not installed"
done
grep -qx "ExecStart=/usr/bin/berrymq-hub" /usr/lib/systemd/user/berrymq-hub.service \
  || fail "unit: $(grep ExecStart /usr/lib/systemd/user/berrymq-hub.service)"
if command -v systemd-analyze >/dev/null 2>&1; then
  mkdir -p /tmp/bmq-run && chmod 700 /tmp/bmq-run
  XDG_RUNTIME_DIR=/tmp/bmq-run systemd-analyze verify --user \
    /usr/lib/systemd/user/berrymq-hub.service >/bmq/verify.log 2>&1 \
    || { cat /bmq/verify.log; fail "systemd-analyze verify --user"; }
  grep -i berrymq /bmq/verify.log && fail "systemd-analyze verify complained"
fi

# The installed SDK: the plugin template builds with no extra variables.
if command -v make >/dev/null 2>&1 && command -v cc >/dev/null 2>&1; then
  cp -r /usr/share/berrymq/plugin-template /tmp/tpl
  make -C /tmp/tpl >/bmq/make.log 2>&1 || { cat /bmq/make.log; fail "template: make"; }
  cmake -S /tmp/tpl -B /tmp/tpl/build >/bmq/cmake.log 2>&1 \
    && cmake --build /tmp/tpl/build >>/bmq/cmake.log 2>&1 \
    || { cat /bmq/cmake.log; fail "template: cmake"; }
fi

. /bmq/desktop_env.sh
mkdir -p /tmp/bmq-desk /tmp/bmq-home
desk_start /tmp/bmq-desk || { rc=$?; desk_stop; exit $rc; }
HOME=/tmp/bmq-home XDG_RUNTIME_DIR=/tmp/bmq-desk /usr/bin/berrymq-hub --listen 127.0.0.1:0 \
  --no-tray >/bmq/hub.log 2>&1 &
hub=$!
addr=
i=0
while [ $i -lt 400 ]; do
  addr=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' /bmq/hub.log | head -n1)
  [ -n "$addr" ] && grep -q "instance 'notify' started" /bmq/hub.log && break
  kill -0 $hub 2>/dev/null || break
  sleep 0.05
  i=$((i + 1))
done
ok=1
grep -q "(config: /usr/share/berrymq/hub.json)" /bmq/hub.log || { echo "FAIL: default config"; ok=0; }
grep -q "instance 'notify' started" /bmq/hub.log || { echo "FAIL: notify did not start"; ok=0; }
if [ $ok = 1 ]; then
  /usr/bin/berrymq --hub "$addr" notify -a buildbot "Build 42 passed" "all green" \
    || { echo "FAIL: berrymq notify"; ok=0; }
  app=$(desk_wait_shown "Build 42 passed") || { echo "FAIL: not shown by dunst"; ok=0; }
  [ $ok = 0 ] || [ "$app" = buildbot ] || { echo "FAIL: dunst saw appname '$app'"; ok=0; }
fi
kill -TERM $hub 2>/dev/null
wait $hub
desk_stop
[ $ok = 1 ] || { sed 's/^/  hub: /' /bmq/hub.log; exit 1; }

apt-get remove --purge -y -q -o Dpkg::Use-Pty=0 berrymq-hub libberrymq-dev >/bmq/rm.log 2>&1 \
  || { cat /bmq/rm.log; fail "apt-get remove"; }
for f in /usr/bin/berrymq-hub /usr/lib/systemd/user/berrymq-hub.service \
         /etc/xdg/autostart/berrymq-hub.desktop /usr/share/berrymq; do
  [ -e "$f" ] && fail "$f left after apt-get remove --purge"
done
dpkg -l berrymq-hub 2>/dev/null | grep -q "^.i" && fail "still installed"
echo "installed, shown by dunst as buildbot, removed"
exit 0
INSIDE

# Can this machine give us a private overlay of / (root, CAP_SYS_ADMIN)?
probe="$work/probe"
mkdir -p "$probe/l" "$probe/u" "$probe/w" "$probe/m"
if unshare -m sh -c "mount -t overlay bmq-probe -o lowerdir=$probe/l,upperdir=$probe/u,workdir=$probe/w $probe/m" \
   >"$work/probe.log" 2>&1; then
  unshare -m sh -c '
    set -e
    w=$1
    mount --make-rprivate /
    mount -t overlay bmq-deb -o lowerdir=/,upperdir=$w/upper,workdir=$w/ovl $w/root
    mount --rbind /dev $w/root/dev
    mount -t proc proc $w/root/proc
    mount --rbind /sys $w/root/sys
    mkdir -p $w/root/bmq
    mount --bind $w/share $w/root/bmq
    exec chroot $w/root sh /bmq/inside.sh
  ' sh "$work" >"$work/inside.log" 2>&1
  rc=$?
  cat "$work/inside.log"
  [ -e /usr/bin/berrymq-hub ] && [ /usr/bin/berrymq-hub -nt "$work/pkgs" ] && fail "the real /usr was changed"
  exit $rc
fi
# No overlay here (an unprivileged container): install on the machine itself,
# as a user would, and remove again; only when nothing of ours is installed.
echo "no private overlay ($(cat "$work/probe.log")): installing on this machine and removing again"
if [ -e /usr/bin/berrymq-hub ] || [ -e /bmq ] || dpkg -s berrymq-hub >/dev/null 2>&1; then
  echo "skip: berrymq-hub is installed here already; not touching it"
  exit 77
fi
ln -s "$work/share" /bmq
sh /bmq/inside.sh
rc=$?
rm -f /bmq
exit $rc
