#!/usr/bin/env bash
# Runs the comparison benchmark (benches/compare.rs) and writes target/bench-report.md:
# zkcluster, the `zookeeper` crate, Kazoo and a bare-socket floor against one ZooKeeper from
# the test kit, in alternating rounds. Kazoo comes from the venv that scripts/kazoo-venv.sh
# makes (target/kazoo-venv).
#
#   scripts/bench.sh            full run (9 rounds; about 4-5 minutes on 2 cores)
#   scripts/bench.sh --quick    CI-sized run (3 short rounds; about 1 minute)
#   extra flags go to the bench: --rounds N, --slice-ms N, --serial N, --fsync, --no-kazoo
# Also: scripts/bench.sh --ops  runs only issue A's engine bench (benches/ops.rs).
#       scripts/bench.sh --coordination  counter and election beside Kazoo (benches/coordination.rs).
#       scripts/bench.sh --queues  queues and TreeCache beside Kazoo (benches/queues.rs,
#       scripts/bench_kazoo_queues.py); report in target/bench-queues.md; --quick, --no-kazoo.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-zookeeper.sh

bench=compare
args=()
for a in "$@"; do
    if [ "$a" = "--ops" ]; then bench=ops; elif [ "$a" = "--coordination" ]; then bench=coordination;
    elif [ "$a" = "--queues" ]; then bench=queues; else args+=("$a"); fi
done

if [ "$bench" != ops ]; then
    ZKCLUSTER_BENCH_PYTHON="$(bash scripts/kazoo-venv.sh)"
    export ZKCLUSTER_BENCH_PYTHON
fi

cargo bench --bench "$bench" -- "${args[@]}"
if [ "$bench" = compare ]; then
    echo "report: target/bench-report.md" >&2
fi
