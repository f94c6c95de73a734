#!/usr/bin/env bash
# Fuzzes the wire decoders (cj_contracts::decode) with cargo fuzz / libFuzzer:
# every target in fuzz/fuzz_targets runs for SECONDS_PER_TARGET seconds (default 300), and
# the script exits non-zero if any target crashed (a panic, a failed follow-up assertion,
# an ASan report, a timeout or running out of memory).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]
#
# How long: building the instrumented fuzz crate from scratch takes about 5 minutes on the
# 2-core machine (fuzz/target, ~2 GB, is kept: a rebuild after a change to the decoders is
# well under a minute), then SECONDS_PER_TARGET for each of the 3 targets: about 15 minutes
# of fuzzing at the default, 20 minutes in all from a cold start.
#
# What it does:
# - installs cargo-fuzz if missing (`cargo install cargo-fuzz --locked`);
# - sets RUSTC_BOOTSTRAP=1 unless rustc is a nightly: cargo fuzz needs nightly-only flags
#   (-Zsanitizer=address, coverage instrumentation) and only the stable toolchain exists;
# - seeds fuzz/corpus/<target>/ with the contract samples of tests/fixtures/contracts (the
#   callbacks wrapped in their envelope); corpora grow across runs and are not committed;
# - runs `cargo fuzz run <target>` with -max_total_time, -max_len=65536 (a 64 KiB message)
#   and, for the byte-level targets, the dictionary fuzz/contract.dict;
# - prints per target: executions, exec/s, cov/ft, corpus size, result. Full logs are in
#   fuzz/artifacts/<target>.log, crashing inputs in fuzz/artifacts/<target>/.
#
# Re-run one crash: `RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/crash-…`.
set -euo pipefail

seconds="${1:-300}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET]" >&2
    exit 2
fi

cd "$(dirname "$0")/.."
root="$PWD"
fixtures="$root/tests/fixtures/contracts"
max_len=65536

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
if ! rustc --version | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi

echo "== building the fuzz targets ($(rustc --version), $(cargo fuzz --version))"
build_start=$(date +%s)
cargo fuzz build
echo "== build took $(($(date +%s) - build_start)) s"

# A callback sample is the `data` of an envelope (as projections/tests/common/mod.rs wraps it).
callback_envelope() {
    printf '{"event_id":"11111111-2222-3333-4444-555555555555",'
    printf '"event_type":"huleedu.llm_provider.comparison_result.v1",'
    printf '"event_timestamp":"2026-01-01T12:00:00Z","source_service":"llm_provider_service",'
    printf '"schema_version":1,"correlation_id":"11111111-2222-3333-4444-555555555555",'
    printf '"data_schema_uri":null,"data":'
    cat "$1"
    printf ',"metadata":null}'
}

seed() {
    local corpus="fuzz/corpus/$1"
    mkdir -p "$corpus"
    case "$1" in
    decode_request | decode_callback)
        # Both byte-level targets get every sample: the other contract's messages are
        # valid JSON of the wrong shape, a good start for the schema errors.
        cp "$fixtures"/*.json "$corpus"/
        callback_envelope "$fixtures/llm_callback_success.json" >"$corpus/callback_success_envelope.json"
        callback_envelope "$fixtures/llm_callback_error.json" >"$corpus/callback_error_envelope.json"
        ;;
    *) ;; # structured targets build their inputs from the samples themselves
    esac
}

mkdir -p fuzz/artifacts
failed=()
summary=()
for target in $(cargo fuzz list); do
    seed "$target"
    log="fuzz/artifacts/$target.log"
    args=(-max_total_time="$seconds" -max_len="$max_len" -timeout=10 -print_final_stats=1)
    case "$target" in
    decode_request | decode_callback) args+=(-dict="$root/fuzz/contract.dict") ;;
    esac
    echo "== fuzzing $target for $seconds s (log: $log)"
    status=0
    cargo fuzz run "$target" "fuzz/corpus/$target" -- "${args[@]}" >"$log" 2>&1 || status=$?

    runs=$(grep -oP '^stat::number_of_executed_units:\s+\K[0-9]+' "$log" | tail -1 || true)
    rate=$(grep -oP '^stat::average_exec_per_sec:\s+\K[0-9]+' "$log" | tail -1 || true)
    cov=$(grep -oP 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
    corp=$(grep -oP 'corp: [0-9]+/[0-9]+[bKM]?b?' "$log" | tail -1 || true)
    files=$(find "fuzz/corpus/$target" -type f | wc -l)
    if [[ "$status" -eq 0 ]]; then
        result=ok
    else
        result="CRASHED (exit $status; see $log and fuzz/artifacts/$target/)"
        failed+=("$target")
        grep -E 'panicked at|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -5 || true
    fi
    summary+=("$(printf '%-16s runs=%-10s exec/s=%-7s %-22s %-18s corpus_files=%-6s %s' \
        "$target" "${runs:-?}" "${rate:-?}" "${cov:-cov: ?}" "${corp:-corp: ?}" "$files" "$result")")
done

echo "== summary ($seconds s per target)"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
    echo "== crashed: ${failed[*]}" >&2
    exit 1
fi
