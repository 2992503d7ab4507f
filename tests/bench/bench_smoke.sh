#!/bin/sh
# bench_smoke.sh DIR - run every benchmark in DIR once on tiny inputs, so a
# benchmark that no longer builds, starts or finishes shows up in ctest.
# Figures printed here mean nothing (inputs far too small); only the exit
# status counts. A benchmark not built in this configuration is skipped.
set -u
dir=$1
failed=""
ran=0
run() {
    name=$1
    shift
    if [ ! -x "$dir/$name" ]; then
        echo "-- $name: not built here, skipped"
        return
    fi
    echo "-- $name $*"
    if "$dir/$name" "$@"; then
        ran=$((ran + 1))
    else
        echo "-- $name: exit $?"
        failed="$failed $name"
    fi
}
run bench_core 20000
run bench_net 500
run bench_timer --ticks 3 --interval 0.01
run bench_fileobserver --writes 5 --idle-files 10 --idle-seconds 1 --no-strace
run bench_webhook 20 2
run bench_history 200 3
run bench_trust 10
run bench_cli 10
run bench_capture 20
run bench_hostile 5 100
run bench_ntfy 20 2
run bench_gntp 16
if command -v mosquitto >/dev/null 2>&1; then
    BENCH_ROUNDS=1
    export BENCH_ROUNDS
    run bench_mqtt 100
else
    echo "-- bench_mqtt: no mosquitto here, skipped"
fi
for f in "$dir"/bench_*; do
    case " bench_core bench_net bench_timer bench_fileobserver bench_webhook bench_history \
bench_trust bench_cli bench_capture bench_hostile bench_ntfy bench_gntp bench_mqtt " in
    *" ${f##*/} "*) ;;
    *) [ -x "$f" ] && { echo "-- ${f##*/}: a benchmark bench_smoke.sh does not know"; failed="$failed ${f##*/}"; } ;;
    esac
done
if [ -n "$failed" ]; then
    echo "bench_smoke: failed:$failed"
    exit 1
fi
echo "bench_smoke: $ran benchmarks ran"
