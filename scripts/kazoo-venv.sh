#!/usr/bin/env bash
# Makes the Python venv with Kazoo 2.11 that the interop tests and the benchmarks run beside
# zkcluster (target/kazoo-venv), and prints the path of its python. pure-sasl is Kazoo's
# optional SASL dependency, for the tests of SASL servers; pykerberos (`kerberos`) is pure-sasl's
# GSSAPI backend, built against the system krb5 (libkrb5-dev, from install-zookeeper.sh, and
# python3-dev). Idempotent: reuses a venv
# that already imports the pinned Kazoo. Needs python3 with the venv module (Debian:
# apt-get install python3-venv) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

KAZOO_VERSION=2.11.0
PURE_SASL_VERSION=0.6.2
KERBEROS_VERSION=1.3.1
venv=target/kazoo-venv
py="$PWD/$venv/bin/python"

have_kazoo() {
    [ -x "$py" ] && "$py" -c "import importlib.metadata as m, sys; sys.exit(m.version('kazoo') != '$KAZOO_VERSION' or m.version('pure-sasl') != '$PURE_SASL_VERSION' or m.version('kerberos') != '$KERBEROS_VERSION')" 2>/dev/null
}

if ! have_kazoo; then
    if ! command -v python3 >/dev/null 2>&1; then
        echo "kazoo-venv: python3 is missing (apt-get install python3 python3-venv)" >&2
        exit 1
    fi
    mkdir -p target
    rm -rf "$venv"
    python3 -m venv "$venv" >&2 || {
        echo "kazoo-venv: python3 -m venv failed (apt-get install python3-venv)" >&2
        exit 1
    }
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "kazoo==$KAZOO_VERSION" "pure-sasl==$PURE_SASL_VERSION" "kerberos==$KERBEROS_VERSION" >&2
    have_kazoo || { echo "kazoo-venv: kazoo $KAZOO_VERSION / pure-sasl $PURE_SASL_VERSION / kerberos $KERBEROS_VERSION did not install" >&2; exit 1; }
fi
echo "$py"
