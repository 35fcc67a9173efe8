#!/usr/bin/env bash
# Makes the Curator peer of the comparison benchmark: installs Debian's Curator 5.4
# (libcurator-recipes-java, with the ZooKeeper client jars it depends on) and a JDK through
# scripts/install-zookeeper.sh if missing, compiles benches/curator/CuratorBench.java with javac
# into target/curator-bench, and prints the Java class path to run it with
# (`java -cp "$(scripts/curator-peer.sh)" CuratorBench HOSTS`).
set -euo pipefail
cd "$(dirname "$0")/.."

JARS=/usr/share/java
# Curator 5.4 and a JDK come with the test kit's install (apt-get, only when missing).
bash scripts/install-zookeeper.sh >&2

# The curator jars name guava, slf4j-api and the ZooKeeper client jars in their manifests;
# slf4j-nop keeps the client's logging quiet.
classpath="$JARS/curator-recipes.jar:$JARS/curator-framework.jar:$JARS/curator-client.jar"
if [ -f "$JARS/slf4j-nop.jar" ]; then
    classpath="$classpath:$JARS/slf4j-nop.jar"
fi
out=target/curator-bench
src=benches/curator/CuratorBench.java
if [ ! -f "$out/CuratorBench.class" ] || [ "$src" -nt "$out/CuratorBench.class" ]; then
    mkdir -p "$out"
    javac -nowarn -d "$out" -cp "$classpath" "$src" >&2
fi
echo "$(pwd)/$out:$classpath"
