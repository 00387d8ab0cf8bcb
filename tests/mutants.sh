#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make mutants: breaks kvmini on purpose, one mutant at a time, in a
# scratch copy of this tree (working-tree state, build/ reused), and
# reports in TAP whether the tests caught each one. The mutants are in
# tests/mutants.list: NAME | SUITES | FILE | SED SCRIPT. SUITES is a
# comma list of unit (make test), unit:NAME (build/tests/NAME alone),
# it:NAME (tests/integration/NAME.t), rig:SCENARIO (the nested rig,
# RIG_ONLY=SCENARIO; minutes, so only with MUTANTS_RIG=1).
# Each suite first runs once unmutated: a suite that fails then would
# "catch" everything, so the run bails out instead.
# Environment: MUTANTS (names to run; default all), MUTANTS_RIG=1 (also
# rig mutants), MUTANTS_LIST (another list), MUTANTS_KEEP=1 (keep the
# scratch tree and its logs).
# A mutant that no longer applies (its text changed) or does not build
# is "not ok": the list needs updating, the suite was not tested.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
list=${MUTANTS_LIST:-tests/mutants.list}
only=${MUTANTS:-}

trim() {
    local s=$1
    s=${s#"${s%%[![:space:]]*}"}
    printf '%s' "${s%"${s##*[![:space:]]}"}"
}

# The selected mutants, parsed once.
names=() suites=() files=() scripts=()
while IFS='|' read -r n s f x; do
    n=$(trim "$n")
    case $n in '' | '#'*) continue ;; esac
    [ -z "$only" ] || case " $only " in *" $n "*) ;; *) continue ;; esac
    names+=("$n") suites+=("$(trim "$s")") files+=("$(trim "$f")")
    scripts+=("$(trim "$x")")
done <"$list"
if [ ${#names[@]} -eq 0 ]; then
    echo "1..0 # SKIP no mutant selected (MUTANTS='$only')"
    exit 0
fi

scratch=$(mktemp -d /tmp/kvmini-mutants.XXXXXX)
if [ "${MUTANTS_KEEP:-}" = 1 ]; then
    echo "# scratch tree and logs kept in $scratch"
else
    trap 'rm -rf "$scratch"' EXIT
fi
# Sources as they are now (committed or not), mtimes kept so that the
# copied build/ stays valid; the rig's images are rebuilt from its cache.
git ls-files -z --cached --others --exclude-standard |
    cpio -0pdm --quiet "$scratch/tree" 2>/dev/null
mkdir -p "$scratch/tree/build" "$scratch/logs"
[ ! -d build ] || (cd build && find . -path ./linux -prune -o -print0 |
    cpio -0pdm --quiet "$scratch/tree/build" 2>/dev/null)
cd "$scratch/tree" || exit 1

# run_suite SUITE LOG: 0 if the suite passes.
run_suite() {
    local what=${1#*:}
    case $1 in
    unit) make -s test ;;
    unit:*) make -s "build/tests/$what" && "build/tests/$what" ;;
    it:*) make -s all build/kvm-caps &&
          prove -v --exec bash "tests/integration/$what.t" ;;
    rig:*) make -s kvmini &&
           RIG_ONLY=$what prove -v --exec bash tests/linux/rig.t ;;
    *) echo "unknown suite '$1'"; return 2 ;;
    esac >"$2" 2>&1 </dev/null
}

# A rig suite runs only when asked for.
wanted() {
    case ",$1," in *,rig:*) [ "${MUTANTS_RIG:-}" = 1 ] ;; *) true ;; esac
}

echo "1..${#names[@]}"
if ! make -s -j2 all build/kvm-caps >"$scratch/logs/build.log" 2>&1; then
    echo "Bail out! the unmutated tree does not build"
    exit 1
fi
declare -A base=()
for s in "${suites[@]}"; do
    wanted "$s" || continue
    for one in ${s//,/ }; do
        [ -z "${base[$one]:-}" ] || continue
        base[$one]=1
        if ! run_suite "$one" "$scratch/logs/base-${one/:/-}.log"; then
            echo "Bail out! suite $one fails without any mutant"
            grep -m 5 '^not ok' "$scratch/logs/base-${one/:/-}.log" |
                sed 's/^/# /'
            exit 1
        fi
    done
done

survived=0
for i in "${!names[@]}"; do
    n=${names[$i]} s=${suites[$i]} f=${files[$i]} k=$((i + 1))
    if ! wanted "$s"; then
        echo "ok $k - $n # SKIP $s: set MUTANTS_RIG=1 to run the nested rig"
        continue
    fi
    cp -p "$f" "$scratch/orig" || { echo "not ok $k - $n: no file $f"; continue; }
    if ! sed -e "${scripts[$i]}" "$scratch/orig" >"$f" ||
        cmp -s "$scratch/orig" "$f"; then
        cp "$scratch/orig" "$f"
        echo "not ok $k - $n: the breakage no longer applies to $f"
        survived=$((survived + 1))
        continue
    fi
    caught=""
    if ! make -s -j2 all build/kvm-caps >"$scratch/logs/$n-build.log" 2>&1; then
        echo "not ok $k - $n: the mutant does not build (fix the list)"
        survived=$((survived + 1))
    else
        for one in ${s//,/ }; do
            log=$scratch/logs/$n-${one/:/-}.log
            run_suite "$one" "$log" && continue
            caught=$one
            break
        done
        if [ -n "$caught" ]; then
            echo "ok $k - $n: caught by $caught"
            grep -m 3 '^not ok' "$log" | sed 's/^/#   /'
        else
            echo "not ok $k - $n: survived $s"
            survived=$((survived + 1))
        fi
    fi
    cp "$scratch/orig" "$f" # a new mtime: the next build redoes it
done
echo "# $((${#names[@]} - survived)) of ${#names[@]} mutants caught"
[ "$survived" -eq 0 ]
