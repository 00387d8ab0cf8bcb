# SPDX-License-Identifier: MIT
# make fuzz-check: for every fuzz target, replay each input of its corpus
# (tests/fuzz/corpus/TARGET: seeds and the inputs of fixed findings),
# then FUZZ_RUNS fresh inputs mutated from them with seed FUZZ_SEED, all
# under ASan + UBSan + LeakSanitizer. A count, not a time: the same
# inputs every run. New inputs go to a scratch directory, never into
# the repository. Environment from tests/fuzz/fuzz.mk.
set -u
dir=${FZ_DIR:-build/fuzz}
runs=${FUZZ_RUNS:-30000}
seed=${FUZZ_SEED:-11}
read -r -a targets <<< "${FZ_TARGETS:-}"
full=0
if [ "${CI:-}" = true ] || [ "${KVMINI_FULL:-}" = 1 ]; then full=1; fi

if ! command -v "${FZ_CC:-clang}" >/dev/null; then
    why="clang not installed (.ci/install-deps installs clang and libclang-rt-14-dev)"
    if [ $full = 1 ]; then echo "1..1"; echo "not ok 1 - $why"; exit 1; fi
    echo "1..0 # SKIP $why (a partial run: CI=true or make check would fail)"
    exit 0
fi

echo "1..${#targets[@]}"
scratch=$(mktemp -d /tmp/kvmini-fuzz-check.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
n=0
for t in "${targets[@]}"; do
    n=$((n + 1))
    corpus=tests/fuzz/corpus/$t
    mkdir -p "$scratch/$t" "$dir/artifacts"
    entries=$(find "$corpus" -type f 2>/dev/null | wc -l)
    log=$dir/check-$t.log
    # The devices' own warnings stay out of the log (fz_init); sanitizer
    # reports and failed checks reach it.
    if "$dir/fuzz_$t" -runs="$runs" -seed="$seed" \
        -print_final_stats=1 -artifact_prefix="$dir/artifacts/$t-" \
        "$scratch/$t" "$corpus" >"$log" 2>&1; then
        stats=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
        echo "ok $n - fuzz_$t: $entries corpus inputs and $runs runs" \
            "from seed $seed ($stats)"
    else
        echo "not ok $n - fuzz_$t: failed; see $log"
        grep -E 'ERROR|SUMMARY|FUZZ CHECK|runtime error|Test unit written' \
            "$log" | head -20 | sed 's/^/# /'
    fi
done
