#!/usr/bin/env bash
# Writes a seed corpus for every fuzz target into DIR/<target>/ (default
# fuzz/seeds, which git ignores), made from the committed examples and
# fixtures. A campaign starts from these and the committed corpus; see
# README.md. Run from anywhere: paths are relative to this script.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$here/.."
out="${1:-$here/seeds}"
fixtures="$repo/workloads/tests/fixtures"
mkdir -p "$out"/{trace_jsonl,perf_script,lackey_log,gen_params,policies}

# Cuts TEXT (read from stdin) into at most COUNT slices of LINES lines,
# spread evenly over it, written as PREFIX-N. A slice from the middle of a
# capture lacks the mappings made before it: the importers must cope.
slices() {
    local lines="$1" count="$2" prefix="$3"
    local text total step first
    text="$(mktemp)"
    cat >"$text"
    total="$(wc -l <"$text")"
    step=$(((total / lines + count - 1) / count))
    step=$((step < 1 ? 1 : step))
    for ((i = 0; i * lines * step < total && i < count; i++)); do
        first=$((i * lines * step + 1))
        sed -n "${first},$((first + lines - 1))p" "$text" >"$prefix-$i"
    done
    rm "$text"
}

# trace_jsonl: each example whole, and each of its ops alone.
for example in "$repo"/examples/*.jsonl; do
    name="$(basename "$example" .jsonl)"
    cp "$example" "$out/trace_jsonl/$name"
    grep -v '^#' "$example" | grep -v '^$' | awk -v dir="$out/trace_jsonl" -v name="$name" \
        '{ print > (dir "/" name "-op" NR) }'
done

# perf_script: slices of 25 lines (about 4 KB) of every perf capture.
for capture in "$fixtures"/*.perf.txt.gz; do
    zcat "$capture" | slices 25 12 "$out/perf_script/$(basename "$capture" .perf.txt.gz)"
done

# lackey_log: the log's header, and slices of 200 lines (about 3 KB).
zcat "$fixtures/touch.lackey.txt.gz" | slices 200 12 "$out/lackey_log/touch"

# gen_params: every generator's parameters at their defaults (as
# `cowsim workloads` lists them), and a few values at the edges.
seed() { printf '%s\n' "${@:2}" >"$out/gen_params/$1"; }
seed fork-exit rounds=2000 pages=64 writes=1
seed live-children generations=8 children=64 pages=64 writes=4 child_writes=1
seed stranding rounds=1000 pages=64 writes=1 child_reads=1 lifetime=0
seed bgsave pages=4096 snapshots=2 writes=2000 skew=0.8 chunk=16
seed zygote children=64 concurrent=8 code=512 data=128 heap=1024 write_fraction=0.1 code_fraction=0.25
seed shell pipelines=500 stages=3 heap=256 writes=4 work=16
seed build jobs=200 parallel=4 make_heap=512 cc1_heap=256 cc1_steps=40
seed mach-ipc messages=2000 clients=4 buffer=8 region=64
seed random ops=5000 tasks=8 pages=32 errors=0.05
seed edges-small pages=1 writes=0 rounds=1 chunk=1 skew=0 errors=100%
seed edges-large 'pages=0x100000' 'writes=1K' 'skew=1' 'chunk=64K' 'snapshots=1M'
seed edges-spelling ' pages = 2M ' 'skew=.5' 'errors=0.000001' 'rounds=007'

# policies: the input is decoded byte by byte, so any bytes will do.
for i in 0 1 2 3 4 5 6 7; do
    head -c $((64 + 32 * i)) /dev/urandom >"$out/policies/random-$i"
done

find "$out" -type f | sed "s|^$out/||; s|/.*||" | sort | uniq -c
