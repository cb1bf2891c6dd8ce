#!/usr/bin/env bash
# Regenerates the committed protobuf-c code in Sources/CAlertProto from proto/.
#
#   scripts/generate-proto.sh           write the generated files
#   scripts/generate-proto.sh --check   fail (exit 1) if the committed files differ
#
# Needs protoc-c (Debian package protobuf-c-compiler, 1.4.1 on Debian 12).
# The code generator never runs inside `swift build`: its output is committed.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out_c="$root/Sources/CAlertProto"
out_h="$root/Sources/CAlertProto/include"
protos=(alerting/v1/alert_event.proto alerting/v1/metric_sample.proto alerting/v1/state_event.proto)

if ! command -v protoc-c >/dev/null; then
    echo "generate-proto: protoc-c not found; install Debian's protobuf-c-compiler" >&2
    exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$root/proto" && protoc-c --c_out="$tmp" "${protos[@]}")

# SwiftPM wants public headers under include/; flatten the generated tree and
# point the .c files at the flattened header names.
for proto in "${protos[@]}"; do
    base="${proto%.proto}"
    name="$(echo "$base" | tr '/' '_')"
    sed -e "s|#include \"$base.pb-c.h\"|#include \"$name.pb-c.h\"|" \
        "$tmp/$base.pb-c.c" > "$tmp/$name.pb-c.c.out"
    cp "$tmp/$base.pb-c.h" "$tmp/$name.pb-c.h.out"
done

if [[ "${1:-}" == "--check" ]]; then
    status=0
    for proto in "${protos[@]}"; do
        name="$(echo "${proto%.proto}" | tr '/' '_')"
        if ! diff -u "$out_c/$name.pb-c.c" "$tmp/$name.pb-c.c.out" >/dev/null 2>&1 ||
           ! diff -u "$out_h/$name.pb-c.h" "$tmp/$name.pb-c.h.out" >/dev/null 2>&1; then
            echo "generate-proto: committed code for $proto is out of date; run scripts/generate-proto.sh" >&2
            status=1
        fi
    done
    [[ $status == 0 ]] && echo "generate-proto: committed code matches proto/"
    exit $status
fi

mkdir -p "$out_h"
for proto in "${protos[@]}"; do
    name="$(echo "${proto%.proto}" | tr '/' '_')"
    cp "$tmp/$name.pb-c.c.out" "$out_c/$name.pb-c.c"
    cp "$tmp/$name.pb-c.h.out" "$out_h/$name.pb-c.h"
    echo "generate-proto: wrote Sources/CAlertProto/{,include/}$name.pb-c.{c,h}"
done
