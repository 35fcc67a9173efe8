#!/usr/bin/env bash
# Runs the comparison benchmark (benches/compare.rs) and writes target/bench-report.md:
# zkcluster, the `zookeeper` crate, Kazoo, Curator and a bare-socket floor against one ZooKeeper
# from the test kit, in alternating rounds. Kazoo comes from the venv that scripts/kazoo-venv.sh
# makes (target/kazoo-venv); Curator 5.4 from Debian's libcurator-recipes-java, with the peer
# program scripts/curator-peer.sh compiles (installing the package with apt-get if missing).
#
#   scripts/bench.sh            full run (9 rounds; about 4-5 minutes on 2 cores)
#   scripts/bench.sh --quick    CI-sized run (3 short rounds; about 1 minute)
#   extra flags go to the bench: --rounds N, --slice-ms N, --serial N, --fsync, --no-kazoo,
#   --only WORDS (just the rows containing one of the comma-separated words: --only cycle),
#   --no-curator
# Also: scripts/bench.sh --ops  runs only issue A's engine bench (benches/ops.rs).
#       scripts/bench.sh --coordination  counter and election beside Kazoo (benches/coordination.rs).
#       scripts/bench.sh --membership  party join + list beside Kazoo (benches/membership.rs;
#       writes target/bench-membership.md; takes --quick, --rounds N, --slice-ms N).
#       scripts/bench.sh --queues  queues and TreeCache beside Kazoo (benches/queues.rs,
#       scripts/bench_kazoo_queues.py); report in target/bench-queues.md; --quick, --no-kazoo.
#       scripts/bench.sh --tls  serial ops, pipelined gets and the lock cycle over TLS as a ratio
#       to plain TCP (benches/tls.rs, feature `tls`); report in target/bench-tls.md; --quick,
#       --rounds N, --slice-ms N, --serial N.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-zookeeper.sh

bench=compare
curator=true
args=()
for a in "$@"; do
    case "$a" in
        --ops) bench=ops ;;
        --coordination) bench=coordination ;;
        --membership) bench=membership ;;
        --queues) bench=queues ;;
        --tls) bench=tls ;;
        --no-curator) curator=false; args+=("$a") ;;
        *) args+=("$a") ;;
    esac
done

features=()
if [ "$bench" = tls ]; then
    features=(--features tls)
fi

if [ "$bench" != ops ] && [ "$bench" != tls ]; then
    ZKCLUSTER_BENCH_PYTHON="$(bash scripts/kazoo-venv.sh)"
    export ZKCLUSTER_BENCH_PYTHON
    if [ "$bench" = compare ] && [ "$curator" = true ]; then
        ZKCLUSTER_BENCH_CURATOR_CP="$(bash scripts/curator-peer.sh)"
        export ZKCLUSTER_BENCH_CURATOR_CP
    fi
fi

cargo bench "${features[@]}" --bench "$bench" -- "${args[@]}"
if [ "$bench" = compare ]; then
    echo "report: target/bench-report.md" >&2
fi
