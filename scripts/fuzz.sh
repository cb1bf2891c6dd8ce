#!/usr/bin/env bash
# Fuzzes nats-alerter's parsers of untrusted input with libFuzzer and the
# address sanitizer, then (with --soak) drives the built service through a
# real nats-server with a million hostile payloads.
#
#   scripts/fuzz.sh [--seconds N] [--targets t1,t2] [--soak [COUNT]] [--no-fuzz]
#
# Each target (Tests/Fuzz/Targets/<target>) runs for N seconds (default 60)
# from its committed seed corpus (Tests/Fuzz/corpus/<target>, written by
# Tests/Fuzz/make_seed_corpus.py) plus what earlier runs found
# (.build-fuzz/corpus/<target>). A crash, a sanitizer report, a timeout or an
# out-of-memory stops that target; its input is kept under
# .build-fuzz/artifacts/<target>/ and the script exits 1. The summary prints
# executions per target (the figures in README "Reliability").
#
# The fuzz build is a second build of the targets' dependencies with
# -sanitize=fuzzer,address into .build-fuzz (the Package.swift declares the
# fuzz executables only when NATS_ALERTER_FUZZ=1); the ingest targets need
# AlertCore and AlertIngest only, config and silence-api pull in AlertService.
#
# --soak runs IntegrationTests' SoakTests against the debug build (build it
# first: swift build --build-tests) with COUNT payloads (default 1,000,000).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

seconds=60
targets="fuzz-protobuf-event,fuzz-json-event,fuzz-sample,fuzz-matcher,fuzz-config,fuzz-silence-api,fuzz-duplicate-path"
soak=""
fuzz=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --targets) targets="$2"; shift 2 ;;
        --soak)
            if [[ $# -gt 1 && "$2" =~ ^[0-9]+$ ]]; then soak="$2"; shift 2; else soak=1000000; shift; fi ;;
        --no-fuzz) fuzz=0; shift ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) echo "fuzz: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -lt 1 ]]; then
    echo "fuzz: --seconds needs a positive whole number" >&2
    exit 2
fi

status=0
if [[ $fuzz == 1 ]]; then
    export NATS_ALERTER_FUZZ=1
    # Swift's runtime keeps metadata caches alive to the end; leak reports
    # at exit would drown real findings.
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}"
    mkdir -p .build-fuzz
    build_start=$SECONDS
    IFS=',' read -r -a list <<<"$targets"
    for target in "${list[@]}"; do
        [[ -d "Tests/Fuzz/Targets/$target" ]] || { echo "fuzz: no target $target" >&2; exit 2; }
        echo "fuzz: building $target" >&2
        build_status=0
        swift build --build-path .build-fuzz -Xswiftc -sanitize=fuzzer,address --product "$target" \
            >".build-fuzz/build-$target.log" 2>&1 || build_status=$?
        if [[ $build_status != 0 ]]; then
            grep -E "error" ".build-fuzz/build-$target.log" | grep -v "Cannot export" | head -20 >&2
            echo "fuzz: building $target failed" >&2
            exit 1
        fi
        rm -f ".build-fuzz/build-$target.log"
        [[ -x ".build-fuzz/debug/$target" ]] || { echo "fuzz: building $target failed" >&2; exit 1; }
    done
    echo "fuzz: build took $((SECONDS - build_start)) s" >&2

    summary=()
    for target in "${list[@]}"; do
        work=".build-fuzz/corpus/$target"
        artifacts=".build-fuzz/artifacts/$target"
        mkdir -p "$work" "$artifacts"
        log=".build-fuzz/$target.log"
        echo "fuzz: $target for ${seconds}s" >&2
        run_status=0
        ".build-fuzz/debug/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
            -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "Tests/Fuzz/corpus/$target" >"$log" 2>&1 || run_status=$?
        executions=$(grep -a "stat::number_of_executed_units" "$log" | tail -1 | awk '{print $2}')
        rate=$(grep -a "stat::average_exec_per_sec" "$log" | tail -1 | awk '{print $2}')
        found=$(find "$artifacts" -type f | wc -l)
        if [[ $run_status != 0 ]]; then
            status=1
            echo "fuzz: $target FAILED (exit $run_status); the report:" >&2
            grep -a -E "ERROR|Fatal error|SUMMARY|Test unit written|==[0-9]+==" "$log" | head -20 >&2
        fi
        summary+=("$(printf '%-20s %12s executions %8s/s  %3s finding(s)  %s' "$target" "${executions:-?}" "${rate:-?}" "$found" \
            "$([[ $run_status == 0 ]] && echo ok || echo FAILED)")")
    done
    echo "fuzz: summary (${seconds}s per target)" >&2
    printf '  %s\n' "${summary[@]}" >&2
fi

if [[ -n "$soak" ]]; then
    echo "fuzz: soak with $soak payloads" >&2
    NATS_ALERTER_SOAK_PAYLOADS="$soak" swift test --skip-build --filter "SoakTests" || status=1
fi
exit $status
