#!/usr/bin/env bash
# Installs what zkcluster's test kit (src/testing) and interop tests run: Debian's ZooKeeper jar,
# Curator 5.4 (libcurator-recipes-java, the Java peer of the interop tests and benchmarks) and a
# JDK (the Curator peers are Java sources run with `java File.java`, which needs the compiler);
# for SASL GSSAPI, MIT Kerberos' KDC (krb5-kdc: krb5kdc, kdb5_util; krb5-admin-server:
# kadmin.local), which the test kit's TestingKdc runs, and what the `gssapi` feature builds
# against (libkrb5-dev: the GSS-API headers; libclang-dev and pkg-config: libgssapi-sys runs
# bindgen). Idempotent: does nothing when all are present. The kit starts its own servers, so the
# package's system service (if any) is stopped and disabled; nothing is left on port 2181.
set -euo pipefail

JAR=/usr/share/java/zookeeper.jar
CURATOR_JAR=/usr/share/java/curator-recipes.jar

have_java() {
    [ -x /usr/bin/java ] || command -v java >/dev/null 2>&1
}

have_javac() {
    command -v javac >/dev/null 2>&1
}

# Debian package -> a file it installs; a package is installed only when its file is missing.
KERBEROS=(
    "krb5-kdc:/usr/sbin/krb5kdc"
    "krb5-admin-server:/usr/sbin/kadmin.local"
    "libkrb5-dev:/usr/include/gssapi/gssapi.h"
    "pkg-config:/usr/bin/pkg-config"
)
missing_kerberos() {
    local entry
    for entry in "${KERBEROS[@]}"; do
        [ -e "${entry#*:}" ] || echo "${entry%%:*}"
    done
    # bindgen loads libclang at build time (any LLVM version).
    compgen -G "/usr/lib/llvm-*/lib/libclang.so*" >/dev/null || echo libclang-dev
    # The Kazoo venv builds pykerberos (source only on PyPI) against Python's headers.
    compgen -G "/usr/include/python3*/Python.h" >/dev/null || echo python3-dev
}

if [ -f "$JAR" ] && [ -f "$CURATOR_JAR" ] && have_java && have_javac && [ -z "$(missing_kerberos)" ]; then
    echo "install-zookeeper: $JAR, $CURATOR_JAR, java, javac and Kerberos are present; nothing to do"
    exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    SUDO=(sudo)
fi

# Debian's way to keep package scripts from starting services (we never want the stock one);
# only added when absent, and removed again afterwards.
POLICY=/usr/sbin/policy-rc.d
added_policy=false
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod +x "$POLICY"
    added_policy=true
fi
remove_policy() {
    if [ "$added_policy" = true ]; then
        "${SUDO[@]}" rm -f "$POLICY"
    fi
}
trap remove_policy EXIT

echo "install-zookeeper: installing zookeeper, Curator, a JDK and Kerberos with apt-get"
"${SUDO[@]}" apt-get update
packages=(zookeeper libcurator-recipes-java)
# The Curator peers need javac; the JDK brings the runtime ZooKeeper needs too.
if ! have_javac; then
    packages+=(default-jdk-headless)
fi
# The policy file below keeps krb5-kdc's and krb5-admin-server's own services from starting
# (the test kit starts its own KDCs); DEBIAN_FRONTEND keeps their realm question from asking.
mapfile -t kerberos_packages < <(missing_kerberos)
packages+=("${kerberos_packages[@]}")
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"

# If a zookeeper service came with it (zookeeperd, or a unit in the package), stop and disable it.
if [ -d /run/systemd/system ] && systemctl list-unit-files zookeeper.service >/dev/null 2>&1; then
    "${SUDO[@]}" systemctl disable --now zookeeper.service >/dev/null 2>&1 || true
fi
if [ -x /etc/init.d/zookeeper ]; then
    "${SUDO[@]}" /etc/init.d/zookeeper stop >/dev/null 2>&1 || true
    "${SUDO[@]}" update-rc.d zookeeper disable >/dev/null 2>&1 || true
fi

if [ ! -f "$JAR" ] || [ ! -f "$CURATOR_JAR" ] || ! have_java || ! have_javac; then
    echo "install-zookeeper: still missing $JAR, $CURATOR_JAR, java or javac after the install" >&2
    exit 1
fi
still_missing=$(missing_kerberos)
if [ -n "$still_missing" ]; then
    echo "install-zookeeper: still missing after the install:" $still_missing >&2
    exit 1
fi
if command -v ss >/dev/null 2>&1 && ss -ltn 2>/dev/null | grep -q ':2181 '; then
    echo "install-zookeeper: warning: something is listening on port 2181" >&2
fi
echo "install-zookeeper: done"
