#!/usr/bin/env bash
# Installs the Debian packages nats-alerter needs, if missing (Debian 12).
#
#   scripts/setup.sh          what building and running need
#   scripts/setup.sh --test   plus what the test suite starts (Alertmanager, protoc,
#                             an SMTP server, openssl for test certificates, Prometheus,
#                             headless Chromium with Selenium for the web UI test),
#                             builds the publisher examples with (Go and Debian's
#                             nats.go/protobuf sources; a Python venv with nats-py and
#                             protobuf from PyPI) and checks the deployment files with
#                             (docker-compose, python3-yaml, shellcheck)
#
# Runs `apt-get update` once before the first install, as a fresh machine needs.
set -euo pipefail

packages=(pkg-config libnats-dev libprotobuf-c-dev libcurl4-openssl-dev libre2-dev nats-server prometheus-alertmanager)
if [[ "${1:-}" == "--test" ]]; then
    packages+=(protobuf-c-compiler protobuf-compiler python3-aiosmtpd openssl prometheus
               golang-go golang-github-nats-io-go-nats-dev golang-google-protobuf-dev
               python3-venv python3-yaml docker-compose shellcheck
               chromium chromium-driver python3-selenium)
    # Not protoc-gen-go: it conflicts with golang-goprotobuf-dev, which nats.go's
    # package needs; scripts/generate-publisher-code.sh unpacks it instead.
fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    sudo=""
    if [[ $(id -u) != 0 ]]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null; then
    echo "setup: the Swift toolchain (6.1 or newer) is not on PATH" >&2
    exit 1
fi

if [[ "${1:-}" == "--test" ]]; then
    "$(dirname "$0")/../examples/publishers/python/make-venv.sh"
fi
