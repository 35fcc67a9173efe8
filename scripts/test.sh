#!/usr/bin/env bash
# Installs the real ZooKeeper the tests run against, then runs every test of the workspace.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh --test testing_kit -- --nocapture`).
set -euo pipefail
cd "$(dirname "$0")/.."

# First: the `gssapi` feature builds against the system's krb5 headers and libclang.
bash scripts/install-zookeeper.sh

# No standard-library API newer than the `rust-version` of Cargo.toml (clippy reads it from there).
cargo clippy --workspace --all-targets --all-features --quiet -- -A clippy::all -D clippy::incompatible_msrv

# Kazoo beside our code in the interop tests (tests/common/kazoo.rs reads this variable).
ZKCLUSTER_KAZOO_PYTHON="$(bash scripts/kazoo-venv.sh)"
export ZKCLUSTER_KAZOO_PYTHON
cargo test --workspace --all-features --no-fail-fast "$@"
