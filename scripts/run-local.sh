#!/usr/bin/env bash
# Runs nats-alerter on a local embedded default stack, in the foreground:
# installs missing Debian packages, builds, starts a local nats-server with
# JetStream (data under run/nats, port 4222) and a local Prometheus
# Alertmanager (config/alertmanager/alertmanager.yml, port 9093, data under
# run/alertmanager), then runs `nats-alerter run --config config/alerter.yaml`,
# which forwards its alerts to that Alertmanager. Ctrl-C stops everything.
#
#   scripts/run-local.sh [--release] [extra nats-alerter run flags…]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

configuration=debug
if [[ "${1:-}" == "--release" ]]; then
    configuration=release
    shift
fi

scripts/setup.sh
swift build -c "$configuration" --product nats-alerter

mkdir -p run/nats
nats_port="${NATS_PORT:-4222}"
if (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null; then
    echo "run-local: something already listens on 127.0.0.1:$nats_port; stop it or set NATS_PORT" >&2
    exit 1
fi
nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$root/run/nats" -n nats-alerter-local >"$root/run/nats-server.log" 2>&1 &
nats_pid=$!
am_pid=""
stop_servers() {
    for pid in "$nats_pid" $am_pid; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}
trap stop_servers EXIT

# wait_for_port NAME PORT PID LOG: until PORT accepts connections, or PID dies.
wait_for_port() {
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
        if ! kill -0 "$3" 2>/dev/null; then
            echo "run-local: $1 did not start; see $4" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "run-local: $1 is not listening on port $2 after 10 s; see $4" >&2
    exit 1
}
wait_for_port nats-server "$nats_port" "$nats_pid" run/nats-server.log
echo "run-local: nats-server (JetStream) on nats://127.0.0.1:$nats_port, log in run/nats-server.log" >&2

am_port="${ALERTMANAGER_PORT:-9093}"
if (exec 3<>"/dev/tcp/127.0.0.1/$am_port") 2>/dev/null; then
    echo "run-local: something already listens on 127.0.0.1:$am_port; using it as the Alertmanager" >&2
else
    mkdir -p run/alertmanager
    prometheus-alertmanager --config.file=config/alertmanager/alertmanager.yml --storage.path="$root/run/alertmanager" \
        --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$root/run/alertmanager.log" 2>&1 &
    am_pid=$!
    wait_for_port Alertmanager "$am_port" "$am_pid" run/alertmanager.log
    echo "run-local: Alertmanager on http://127.0.0.1:$am_port (UI and API), log in run/alertmanager.log" >&2
fi

config="config/alerter.yaml"
if [[ "$nats_port" != 4222 || "$am_port" != 9093 ]]; then
    sed -e "s|nats://127.0.0.1:4222|nats://127.0.0.1:$nats_port|" -e "s|http://127.0.0.1:9093|http://127.0.0.1:$am_port|" \
        config/alerter.yaml > run/alerter.yaml
    config="run/alerter.yaml"
fi
"$root/.build/$configuration/nats-alerter" run --config "$config" "$@" &
alerter_pid=$!
trap 'kill -TERM "$alerter_pid" 2>/dev/null || true; wait "$alerter_pid" 2>/dev/null || true; stop_servers' EXIT
trap 'kill -TERM "$alerter_pid" 2>/dev/null || true' INT TERM
wait "$alerter_pid" || true
wait "$alerter_pid" 2>/dev/null || true
