#!/usr/bin/env bash
# Runs nats-alerter on a local embedded default stack, in the foreground:
# installs missing Debian packages, builds, starts a local nats-server with
# JetStream (data under run/nats, port 4222), then runs
# `nats-alerter run --config config/alerter.yaml`. Ctrl-C stops both.
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
trap 'kill "$nats_pid" 2>/dev/null || true; wait "$nats_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null; then break; fi
    if ! kill -0 "$nats_pid" 2>/dev/null; then
        echo "run-local: nats-server did not start; see run/nats-server.log" >&2
        exit 1
    fi
    sleep 0.1
done
echo "run-local: nats-server (JetStream) on nats://127.0.0.1:$nats_port, log in run/nats-server.log" >&2

config="config/alerter.yaml"
if [[ "$nats_port" != 4222 ]]; then
    sed "s|nats://127.0.0.1:4222|nats://127.0.0.1:$nats_port|" config/alerter.yaml > run/alerter.yaml
    config="run/alerter.yaml"
fi
"$root/.build/$configuration/nats-alerter" run --config "$config" "$@" &
alerter_pid=$!
trap 'kill -TERM "$alerter_pid" 2>/dev/null || true; wait "$alerter_pid" 2>/dev/null || true; kill "$nats_pid" 2>/dev/null || true; wait "$nats_pid" 2>/dev/null || true' EXIT
trap 'kill -TERM "$alerter_pid" 2>/dev/null || true' INT TERM
wait "$alerter_pid" || true
wait "$alerter_pid" 2>/dev/null || true
