#!/usr/bin/env bash
# The compose stack's topology on one machine, from Debian packages, in the
# foreground: nats-server (JetStream), Prometheus Alertmanager, nats-alerter
# and Prometheus scraping nats-alerter, Alertmanager and itself with the alert
# rules of config/prometheus/alerts.yml, sending what fires to that
# Alertmanager. Stop nats-alerter (kill "$(cat run/stack/nats-alerter.pid)")
# and NatsAlerterDown fires after its `for:`; the rest keeps running until
# Ctrl-C.
#
#   scripts/run-stack.sh [--release]            run it
#   scripts/run-stack.sh --render-only DIR      only write DIR/prometheus.yml and
#                                               DIR/alerter.yaml (used by the tests)
#
# Ports and timing (environment): NATS_PORT=4222 ALERTMANAGER_PORT=9093
# ALERTER_PORT=9094 PROMETHEUS_PORT=9090 SCRAPE_INTERVAL=15s
# EVALUATION_INTERVAL=$SCRAPE_INTERVAL PROMETHEUS_RULES=config/prometheus/alerts.yml
# RUN_DIR=run/stack (data and logs).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

nats_port="${NATS_PORT:-4222}"
am_port="${ALERTMANAGER_PORT:-9093}"
alerter_port="${ALERTER_PORT:-9094}"
prometheus_port="${PROMETHEUS_PORT:-9090}"
scrape_interval="${SCRAPE_INTERVAL:-15s}"
evaluation_interval="${EVALUATION_INTERVAL:-$scrape_interval}"
rules="$(realpath "${PROMETHEUS_RULES:-config/prometheus/alerts.yml}")"
run_dir="${RUN_DIR:-$root/run/stack}"

# render DIR: the compose configs with compose service names replaced by
# 127.0.0.1 and the ports above.
render() {
    local dir="$1"
    mkdir -p "$dir"
    sed -e "s|\"nats-alerter:9094\"|\"127.0.0.1:$alerter_port\"|" \
        -e "s|\"alertmanager:9093\"|\"127.0.0.1:$am_port\"|" \
        -e "s|\"prometheus:9090\"|\"127.0.0.1:$prometheus_port\"|" \
        -e "s|^\(  scrape_interval:\).*|\1 $scrape_interval|" \
        -e "s|^\(  evaluation_interval:\).*|\1 $evaluation_interval|" \
        -e "s|^  - alerts.yml$|  - $rules|" \
        config/prometheus/prometheus.yml > "$dir/prometheus.yml"
    # Every compose name must be gone: a changed prometheus.yml must not
    # silently scrape nothing here.
    if grep -nE '"(nats-alerter|alertmanager|prometheus):[0-9]+"|^  - alerts.yml$' "$dir/prometheus.yml" >&2; then
        echo "run-stack: config/prometheus/prometheus.yml changed shape; update render() in $0" >&2
        exit 1
    fi
    sed -e "s|nats://127.0.0.1:4222|nats://127.0.0.1:$nats_port|" \
        -e "s|http://127.0.0.1:9093|http://127.0.0.1:$am_port|" \
        -e "s|^  - rules/|  - $root/config/rules/|" \
        config/alerter.yaml > "$dir/alerter.yaml"
    # rule_files are relative to the config file: the rendered copy names them absolutely.
    if grep -nE '^  - rules/' "$dir/alerter.yaml" >&2; then
        echo "run-stack: config/alerter.yaml's rule_files changed shape; update render() in $0" >&2
        exit 1
    fi
    printf '\nserver:\n  listen_address: 127.0.0.1:%s\n' "$alerter_port" >> "$dir/alerter.yaml"
}

if [[ "${1:-}" == "--render-only" ]]; then
    render "${2:?usage: run-stack.sh --render-only DIR}"
    exit 0
fi

configuration=debug
if [[ "${1:-}" == "--release" ]]; then
    configuration=release
fi

scripts/setup.sh
command -v prometheus >/dev/null || {
    echo "run-stack: installing Debian's prometheus" >&2
    sudo=""; [[ $(id -u) != 0 ]] && sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
}
swift build -c "$configuration" --product nats-alerter

for port in "$nats_port" "$am_port" "$alerter_port" "$prometheus_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "run-stack: something already listens on 127.0.0.1:$port; stop it or choose other ports (see the header of $0)" >&2
        exit 1
    fi
done
mkdir -p "$run_dir"
render "$run_dir"

pids=()
stop_all() {
    local pid
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid="${pids[$i]}"
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap stop_all EXIT
trap 'exit 0' INT TERM

# wait_for_port NAME PORT PID LOG: until PORT accepts connections, or PID dies.
wait_for_port() {
    for _ in $(seq 1 150); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
        if ! kill -0 "$3" 2>/dev/null; then
            echo "run-stack: $1 did not start; see $4" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "run-stack: $1 is not listening on port $2 after 15 s; see $4" >&2
    exit 1
}

nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$run_dir/nats" -n nats-alerter-stack >"$run_dir/nats-server.log" 2>&1 &
pids+=($!)
wait_for_port nats-server "$nats_port" "${pids[-1]}" "$run_dir/nats-server.log"

prometheus-alertmanager --config.file=config/alertmanager/alertmanager.yml --storage.path="$run_dir/alertmanager" \
    --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$run_dir/alertmanager.log" 2>&1 &
pids+=($!)
wait_for_port Alertmanager "$am_port" "${pids[-1]}" "$run_dir/alertmanager.log"

"$root/.build/$configuration/nats-alerter" run --config "$run_dir/alerter.yaml" >"$run_dir/nats-alerter.log" 2>&1 &
alerter_pid=$!
pids+=("$alerter_pid")
echo "$alerter_pid" > "$run_dir/nats-alerter.pid"
wait_for_port nats-alerter "$alerter_port" "$alerter_pid" "$run_dir/nats-alerter.log"

prometheus --config.file="$run_dir/prometheus.yml" --storage.tsdb.path="$run_dir/prometheus" \
    --web.listen-address="127.0.0.1:$prometheus_port" >"$run_dir/prometheus.log" 2>&1 &
pids+=($!)
wait_for_port Prometheus "$prometheus_port" "${pids[-1]}" "$run_dir/prometheus.log"

cat >&2 <<EOF
run-stack: up (logs and data in $run_dir):
  nats://127.0.0.1:$nats_port         NATS with JetStream: publish events here
  http://127.0.0.1:$alerter_port      nats-alerter: /api/v2/alerts, /metrics, /-/healthy, /-/ready (amtool works)
  http://127.0.0.1:$am_port      Alertmanager: alerts forwarded by nats-alerter and fired by Prometheus
  http://127.0.0.1:$prometheus_port      Prometheus: /targets, /alerts (the rules about nats-alerter)
Stop nats-alerter (kill $alerter_pid) to see NatsAlerterDown fire; Ctrl-C stops everything.
EOF

# Until Ctrl-C. When nats-alerter exits, the rest stays up so its alerts fire.
alerter_running=1
while true; do
    if ((alerter_running)) && ! kill -0 "$alerter_pid" 2>/dev/null; then
        alerter_running=0
        echo "run-stack: nats-alerter exited; Prometheus fires NatsAlerterDown after its 'for:'; Ctrl-C stops the stack" >&2
    fi
    sleep 1
done
