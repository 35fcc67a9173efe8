#!/usr/bin/env bash
# The Jepsen-style chaos check of the locks (examples/chaos): worker processes × threads on a
# WriteLock, a ReadLock and a Semaphore(2) against a standalone ZooKeeper and a 3-member ensemble
# from the test kit, while a nemesis freezes, kills and restarts servers and kills -9 / SIGSTOPs
# the lock holder. Prints the checks (all must be 0) and throughput with and without faults;
# exits 1 on a violation. Loopback only; every process it starts ends with it.
#
#   scripts/chaos.sh              full run (4 processes × 7 threads, 10 s calm + 60 s of faults
#                                 per target; 3-4 minutes)
#   scripts/chaos.sh --quick      the short run tests/chaos.rs does (about 40 s)
#   extra flags go to the check: --procs N --writers N --readers N --holders N --calm SECS
#   --faults SECS --session-ms MS --seed N --only standalone|ensemble --keep (keep the logs),
#   --unfenced (the counterfactual: plain writes and a store that takes any token; expect
#   violations)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-zookeeper.sh >&2
exec cargo run --quiet --release --example chaos -- "$@"
