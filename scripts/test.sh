#!/usr/bin/env bash
# Runs the whole test suite: installs what it needs (Debian packages, the
# Python publisher's venv), checks the committed protobuf-c, Go and Python
# code against proto/, builds with warnings treated as failures, checks the
# deployment files statically (scripts/check-deploy.sh), then `swift test`
# (unit tests and integration tests that start real nats-server,
# Alertmanager and Prometheus processes on free loopback ports, and run the
# Go and Python publisher examples), then a short fuzz pass (scripts/fuzz.sh).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

scripts/setup.sh --test
scripts/generate-proto.sh --check
scripts/generate-publisher-code.sh --check

echo "test: building (warnings fail the build)" >&2
build_log="$(mktemp)"
trap 'rm -f "$build_log"' EXIT
status=0
swift build --build-tests >"$build_log" 2>&1 || status=$?
grep -E "error:|warning:" "$build_log" | grep -v "^warning: 'main'" || true
if [[ $status != 0 ]]; then
    tail -50 "$build_log" >&2
    echo "test: build failed" >&2
    exit 1
fi
if grep -E "^$root/(Sources|Tests)/.*warning:" "$build_log" >/dev/null; then
    echo "test: the build has warnings (listed above); fix them" >&2
    exit 1
fi

# The deployment files (compose, Prometheus, Alertmanager, Grafana, Dockerfile):
# static checks that need the built binary but no running service.
scripts/check-deploy.sh

swift test --skip-build "$@"

# A short fuzz pass (issue 13): each libFuzzer target for FUZZ_SECONDS from
# the committed corpus, after its sanitizer build into .build-fuzz (the long
# run is scripts/fuzz.sh). FUZZ_SECONDS=0 skips it. The soak (SoakTests) ran in
# swift test with 100,000 payloads; scripts/fuzz.sh --soak runs a million.
if [[ "${FUZZ_SECONDS:-20}" != 0 ]]; then
    scripts/fuzz.sh --seconds "${FUZZ_SECONDS:-20}"
fi
