#!/usr/bin/env bash
# Installs what zkcluster's test kit (src/testing) runs: Debian's ZooKeeper jar and a Java runtime.
# Idempotent: does nothing when both are present. The kit starts its own servers, so the
# package's system service (if any) is stopped and disabled; nothing is left on port 2181.
set -euo pipefail

JAR=/usr/share/java/zookeeper.jar

have_java() {
    [ -x /usr/bin/java ] || command -v java >/dev/null 2>&1
}

if [ -f "$JAR" ] && have_java; then
    echo "install-zookeeper: $JAR and java are present; nothing to do"
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

echo "install-zookeeper: installing zookeeper and a Java runtime with apt-get"
"${SUDO[@]}" apt-get update
packages=(zookeeper)
# The zookeeper package depends on a JRE; ask for the headless one explicitly if none is there.
if ! have_java; then
    packages+=(default-jre-headless)
fi
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"

# If a zookeeper service came with it (zookeeperd, or a unit in the package), stop and disable it.
if [ -d /run/systemd/system ] && systemctl list-unit-files zookeeper.service >/dev/null 2>&1; then
    "${SUDO[@]}" systemctl disable --now zookeeper.service >/dev/null 2>&1 || true
fi
if [ -x /etc/init.d/zookeeper ]; then
    "${SUDO[@]}" /etc/init.d/zookeeper stop >/dev/null 2>&1 || true
    "${SUDO[@]}" update-rc.d zookeeper disable >/dev/null 2>&1 || true
fi

if [ ! -f "$JAR" ] || ! have_java; then
    echo "install-zookeeper: still missing $JAR or java after the install" >&2
    exit 1
fi
if command -v ss >/dev/null 2>&1 && ss -ltn 2>/dev/null | grep -q ':2181 '; then
    echo "install-zookeeper: warning: something is listening on port 2181" >&2
fi
echo "install-zookeeper: done"
