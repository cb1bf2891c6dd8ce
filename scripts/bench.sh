#!/usr/bin/env bash
# Benchmarks nats-alerter on this machine, against the raw NATS limit and a
# real Prometheus Alertmanager measured in the same run.
#
#   scripts/bench.sh            full run (under 10 minutes once built)
#   scripts/bench.sh --quick    smaller counts (under 2 minutes once built)
#   scripts/bench.sh --only core,latency   a subset of scenarios
#
# Builds release binaries (incremental after the first build), starts its own
# nats-server and Alertmanager on free loopback ports, runs every scenario
# (each bounded in count and time), stops everything, prints one markdown
# table and writes bench-results.json (ignored by git). See BENCHMARKS.md.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

bash scripts/setup.sh >/dev/null

echo "bench: building release binaries" >&2
swift build -c release --product nats-alerter 2>&1 | grep -E "error|Compiling|Build complete" >&2 || true
swift build -c release --product nats-alerter-bench 2>&1 | grep -E "error|Compiling|Build complete" >&2 || true
bin="$(swift build -c release --show-bin-path)"
for binary in nats-alerter nats-alerter-bench; do
    [[ -x "$bin/$binary" ]] || { echo "bench: $bin/$binary was not built" >&2; exit 1; }
done

exec "$bin/nats-alerter-bench" run --binary "$bin/nats-alerter" --rules-config "$root/config/alerter.yaml" \
    --out "$root/bench-results.json" "$@"
