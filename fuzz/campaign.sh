#!/bin/sh
# A fuzzing campaign of one target for a fixed number of executions, on a
# working corpus outside the repository (seeded from the committed corpus,
# which is left as it is). Prints where the log is; appends one line to
# the status file when the run ends:
#     TARGET exit CODE after SECONDS s (EXECS execs)
#
#     fuzz/campaign.sh TARGET EXECUTIONS [WORK_DIR] [-- CARGO_FUZZ_FLAGS...]
#
# WORK_DIR defaults to ~/cowsim-fuzz; it holds TARGET/ (the corpus),
# artifacts/TARGET/ (crashes), TARGET.log (libFuzzer's output) and status.
# Exit 0: no crash in that many executions.
set -u
if [ $# -lt 2 ]; then
    echo "usage: $0 TARGET EXECUTIONS [WORK_DIR] [-- CARGO_FUZZ_FLAGS...]" >&2
    exit 2
fi
target=$1
runs=$2
shift 2
work=${HOME}/cowsim-fuzz
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    work=$1
    shift
fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work/$target" "$work/artifacts/$target"
cp -n "$here/corpus/$target/"* "$work/$target/" 2>/dev/null
start=$(date +%s)
echo "fuzzing $target for $runs executions; log: $work/$target.log" >&2
cd "$here" || exit 2
cargo +nightly fuzz run -s none "$@" "$target" "$work/$target" -- \
    -runs="$runs" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/$target/" > "$work/$target.log" 2>&1
code=$?
execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$target.log" | grep -o '[0-9]*$')
echo "$target exit $code after $(( $(date +%s) - start )) s (${execs:-?} execs)" | tee -a "$work/status"
exit $code
