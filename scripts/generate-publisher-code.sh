#!/usr/bin/env bash
# Regenerates the committed protobuf code of the publisher examples from proto/:
#   examples/publishers/go/alerting/v1/*.pb.go       (protoc + protoc-gen-go 1.28.1, Debian 12)
#   examples/publishers/python/alerting/v1/*_pb2.py  (protoc 3.21.12 --python_out/--pyi_out, Debian 12)
#
#   scripts/generate-publisher-code.sh           write the generated files
#   scripts/generate-publisher-code.sh --check   fail (exit 1) if the committed files differ
#
# The generators never run inside a build: their output is committed, like
# Sources/CAlertProto (scripts/generate-proto.sh).
#
# protoc-gen-go cannot be installed next to the nats.go sources on Debian 12
# (golang-github-nats-io-go-nats-dev depends on golang-goprotobuf-dev, which
# conflicts with protoc-gen-go), so this script fetches Debian's protoc-gen-go
# package with `apt-get download` and unpacks it into a cache directory
# instead of installing it.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
protos=(alerting/v1/alert_event.proto alerting/v1/metric_sample.proto alerting/v1/state_event.proto)
go_out="$root/examples/publishers/go"
python_out="$root/examples/publishers/python"
protoc_gen_go_version="1.28.1"

if ! command -v protoc >/dev/null; then
    echo "generate-publisher-code: protoc not found; install Debian's protobuf-compiler" >&2
    exit 2
fi

# protoc_gen_go: prints the path of a protoc-gen-go $protoc_gen_go_version binary.
protoc_gen_go() {
    if command -v protoc-gen-go >/dev/null && [[ "$(protoc-gen-go --version 2>/dev/null)" == "protoc-gen-go v$protoc_gen_go_version" ]]; then
        command -v protoc-gen-go
        return
    fi
    local cache="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/nats-alerter/protoc-gen-go-$protoc_gen_go_version"
    if [[ ! -x "$cache/usr/bin/protoc-gen-go" ]]; then
        local download
        download="$(mktemp -d)"
        # apt-get download runs as the _apt user where it can; let it write here.
        chmod 777 "$download"
        (cd "$download" && apt-get download -qq "protoc-gen-go=$protoc_gen_go_version*" >/dev/null 2>&1 ||
            apt-get download -qq protoc-gen-go >/dev/null) || {
            echo "generate-publisher-code: apt-get download protoc-gen-go failed (run apt-get update?)" >&2
            exit 2
        }
        mkdir -p "$cache"
        dpkg-deb -x "$download"/protoc-gen-go_*.deb "$cache"
        rm -rf "$download"
    fi
    local version
    version="$("$cache/usr/bin/protoc-gen-go" --version)"
    if [[ "$version" != "protoc-gen-go v$protoc_gen_go_version" ]]; then
        echo "generate-publisher-code: Debian served $version, expected v$protoc_gen_go_version" >&2
        exit 2
    fi
    echo "$cache/usr/bin/protoc-gen-go"
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/go" "$tmp/python"

plugin="$(protoc_gen_go)"
# go_package is example.com/platform/alerting/v1; module=example.com/platform
# places the files at alerting/v1/ under the Go example (the module root).
(cd "$root/proto" && protoc --plugin=protoc-gen-go="$plugin" \
    --go_out="$tmp/go" --go_opt=module=example.com/platform "${protos[@]}")
(cd "$root/proto" && protoc --python_out="$tmp/python" --pyi_out="$tmp/python" "${protos[@]}")
# Python packages need __init__.py files for `import alerting.v1...`.
touch "$tmp/python/alerting/__init__.py" "$tmp/python/alerting/v1/__init__.py"

if [[ "${1:-}" == "--check" ]]; then
    status=0
    for pair in "go:$go_out" "python:$python_out"; do
        language="${pair%%:*}" out="${pair#*:}"
        if ! diff -ru "$out/alerting" "$tmp/$language/alerting" -x __pycache__ >"$tmp/$language.diff"; then
            echo "generate-publisher-code: committed $language code differs from proto/; run scripts/generate-publisher-code.sh" >&2
            head -40 "$tmp/$language.diff" >&2
            status=1
        fi
    done
    [[ $status == 0 ]] && echo "generate-publisher-code: committed Go and Python code matches proto/"
    exit $status
fi

for pair in "go:$go_out" "python:$python_out"; do
    language="${pair%%:*}" out="${pair#*:}"
    rm -rf "$out/alerting"
    mkdir -p "$out"
    cp -r "$tmp/$language/alerting" "$out/alerting"
    echo "generate-publisher-code: wrote ${out#"$root/"}/alerting"
done
