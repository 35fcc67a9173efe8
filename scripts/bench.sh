#!/usr/bin/env bash
# Runs the comparison benchmark (benches/compare.rs) and writes target/bench-report.md:
# zkcluster, the `zookeeper` crate, Kazoo and a bare-socket floor against one ZooKeeper from
# the test kit, in alternating rounds. Kazoo goes into a throwaway venv in target/bench-venv.
#
#   scripts/bench.sh            full run (9 rounds; about 4-5 minutes on 2 cores)
#   scripts/bench.sh --quick    CI-sized run (3 short rounds; about 1 minute)
#   extra flags go to the bench: --rounds N, --slice-ms N, --serial N, --fsync, --no-kazoo
# Also: scripts/bench.sh --ops  runs only issue A's engine bench (benches/ops.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-zookeeper.sh

bench=compare
args=()
for a in "$@"; do
    if [ "$a" = "--ops" ]; then bench=ops; else args+=("$a"); fi
done

if [ "$bench" = compare ]; then
    venv=target/bench-venv
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import kazoo' 2>/dev/null; then
        mkdir -p target
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check kazoo
    fi
    export ZKCLUSTER_BENCH_PYTHON="$PWD/$venv/bin/python"
fi

cargo bench --bench "$bench" -- "${args[@]}"
if [ "$bench" = compare ]; then
    echo "report: target/bench-report.md" >&2
fi
