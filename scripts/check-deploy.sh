#!/usr/bin/env bash
# Static checks of the deployment files (no container engine here), run by
# scripts/test.sh after the build:
#   - docker-compose.yml parses (`docker-compose config -q`, Debian docker-compose)
#   - config/prometheus: `promtool check config`, `promtool check rules`, and the
#     rules' unit tests (`promtool test rules alerts.test.yml`)
#   - config/alertmanager: `amtool check-config`
#   - config/nats/nats.conf: `nats-server -t`
#   - the HA example: docker-compose.ha.yml parses, its three NATS node configs
#     pass `nats-server -t`, config/compose/alerter-ha.yaml passes check-config
#   - scripts/check_deploy_files.py: Prometheus targets, nats-alerter's NATS,
#     Alertmanager and SMTP endpoints and Grafana's datasource against the
#     compose service names and ports; mounted files and secrets exist; the
#     compose config of nats-alerter passes `nats-alerter check-config`; the
#     dashboard parses, its PromQL parses (promtool), and it uses the
#     provisioned datasource; the Dockerfile
#     installs Package.swift's apt providers and the runtime libraries the
#     binary links
#   - the publisher examples: gofmt, Python compile; shellcheck on the scripts
# The metric names in the dashboard and the rules are checked against a real
# /metrics scrape by the integration tests (DeploymentFilesTests).
#
#   scripts/check-deploy.sh      (NATS_ALERTER_BINARY overrides .build/debug/nats-alerter)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
binary="${NATS_ALERTER_BINARY:-$root/.build/debug/nats-alerter}"
failed=0
passed=0

# step NAME COMMAND…: runs it, prints its output only when it fails.
step() {
    local name="$1" output
    shift
    if output="$("$@" 2>&1)"; then
        echo "check-deploy: ok   $name"
        passed=$((passed + 1))
    else
        echo "check-deploy: FAIL $name" >&2
        echo "$output" | sed 's/^/    /' >&2
        failed=$((failed + 1))
    fi
}

for tool in docker-compose promtool amtool nats-server go gofmt shellcheck /usr/bin/python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "check-deploy: $tool is missing; run scripts/setup.sh --test" >&2
        exit 2
    fi
done
if [[ ! -x "$binary" ]]; then
    echo "check-deploy: $binary is missing; run swift build first" >&2
    exit 2
fi

compose_config="$(mktemp)"
trap 'rm -f "$compose_config"' EXIT
step "docker-compose.yml parses (docker-compose config -q)" docker-compose -f docker-compose.yml config -q
docker-compose -f docker-compose.yml config >"$compose_config" 2>/dev/null || true
step "promtool check config config/prometheus/prometheus.yml" promtool check config config/prometheus/prometheus.yml
step "promtool check rules config/prometheus/alerts.yml" promtool check rules config/prometheus/alerts.yml
step "promtool test rules config/prometheus/alerts.test.yml" promtool test rules config/prometheus/alerts.test.yml
step "amtool check-config config/alertmanager/alertmanager.yml" amtool check-config config/alertmanager/alertmanager.yml
step "nats-server -t config/nats/nats.conf" nats-server -c config/nats/nats.conf -t
step "docker-compose.ha.yml parses (docker-compose config -q)" docker-compose -f docker-compose.ha.yml config -q
for node in 1 2 3; do
    step "nats-server -t config/nats/cluster/nats-$node.conf" nats-server -c "config/nats/cluster/nats-$node.conf" -t
done
step "nats-alerter check-config config/compose/alerter-ha.yaml" "$binary" check-config --config config/compose/alerter-ha.yaml
step "cross-checks of compose, Prometheus, nats-alerter, Grafana and Dockerfile" \
    /usr/bin/python3 scripts/check_deploy_files.py "$compose_config" "$binary"
gofmt_check() { local unformatted; unformatted="$(gofmt -l examples/publishers/go)"; [[ -z "$unformatted" ]] || { echo "not gofmt-ed: $unformatted"; return 1; }; }
step "gofmt examples/publishers/go" gofmt_check
step "python3 compiles examples/publishers/python/publish.py" /usr/bin/python3 -c 'import sys; compile(open(sys.argv[1]).read(), sys.argv[1], "exec")' examples/publishers/python/publish.py
step "shellcheck scripts/*.sh examples/publishers/*/*.sh" shellcheck -S warning scripts/*.sh examples/publishers/*/*.sh

echo "check-deploy: $passed passed, $failed failed"
[[ $failed == 0 ]]
