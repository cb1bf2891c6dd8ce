#!/usr/bin/env bash
# Builds the Go publisher example in GOPATH mode (GO111MODULE=off) against the
# sources Debian's packages install under /usr/share/gocode
# (golang-github-nats-io-go-nats-dev, golang-google-protobuf-dev), for
# machines with no module proxy. With a proxy, `go mod tidy && go build` in
# this directory works as well.
#
#   examples/publishers/go/build.sh [OUTPUT]    (default: ./publish here)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
output="${1:-$here/publish}"
workspace="$(mktemp -d)"
trap 'rm -rf "$workspace"' EXIT

# GOPATH mode finds packages by import path: place this module's files at
# src/example.com/platform (its module path) in a throwaway GOPATH.
mkdir -p "$workspace/src/example.com/platform"
cp -r "$here/main.go" "$here/alerting" "$workspace/src/example.com/platform/"
# go needs a build cache; without HOME (some CI environments) give it one.
export GOCACHE="${GOCACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/go-build}"
GO111MODULE=off GOPATH="$workspace:/usr/share/gocode" GOFLAGS=-mod= \
    go build -o "$output" example.com/platform
