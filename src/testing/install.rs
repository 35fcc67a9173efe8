//! Finding the `java` binary and the ZooKeeper jar that Debian's `zookeeper` package installs.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::TestingError;

const DEBIAN_JAVA: &str = "/usr/bin/java";
const DEBIAN_JAR: &str = "/usr/share/java/zookeeper.jar";
/// Gives the server a logger that writes to stderr (our log file); without it slf4j drops
/// every line and a failed start leaves nothing to read. Optional: absent, logs are just empty.
const DEBIAN_SLF4J_SIMPLE: &str = "/usr/share/java/slf4j-simple.jar";
/// Netty jars the TLS port needs that the ZooKeeper jar's manifest does not list (Debian's
/// package leaves them out of its Class-Path); optional like the logger.
const DEBIAN_NETTY_EXTRAS: &[&str] =
    &["/usr/share/java/netty-codec.jar", "/usr/share/java/netty-resolver.jar"];
/// Works from any crate: the script is named by its absolute path in zkcluster's own source
/// (the published package ships it), and the package it installs by name.
const INSTALL_HINT: &str = concat!(
    "run `bash ",
    env!("CARGO_MANIFEST_DIR"),
    "/scripts/install-zookeeper.sh` or `sudo apt-get install -y zookeeper` (Debian's ZooKeeper; ",
    "it brings a Java runtime too), or set $ZKCLUSTER_JAVA and $ZKCLUSTER_ZOOKEEPER_JAR"
);

/// The programs a server needs: the JVM and the class path holding ZooKeeper.
#[derive(Debug, Clone)]
pub(super) struct Installation {
    pub(super) java: PathBuf,
    pub(super) class_path: OsString,
}

impl Installation {
    /// Looks for `java` (`$ZKCLUSTER_JAVA`, `/usr/bin/java`, `$JAVA_HOME/bin/java`, `$PATH`) and
    /// the jar (`$ZKCLUSTER_ZOOKEEPER_JAR`, else Debian's).
    pub(super) fn locate() -> Result<Installation, TestingError> {
        let java = find_java().ok_or_else(|| TestingError::NotInstalled {
            what: format!(
                "java (looked at $ZKCLUSTER_JAVA, {DEBIAN_JAVA}, $JAVA_HOME/bin and $PATH)"
            ),
            install: INSTALL_HINT.to_string(),
        })?;
        let jar = env::var_os("ZKCLUSTER_ZOOKEEPER_JAR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEBIAN_JAR));
        if !jar.is_file() {
            return Err(TestingError::NotInstalled {
                what: format!("the ZooKeeper jar {}", jar.display()),
                install: INSTALL_HINT.to_string(),
            });
        }
        let mut parts = vec![jar];
        for optional in std::iter::once(&DEBIAN_SLF4J_SIMPLE).chain(DEBIAN_NETTY_EXTRAS) {
            if Path::new(optional).is_file() {
                parts.push(PathBuf::from(optional));
            }
        }
        let class_path = env::join_paths(parts)
            .map_err(|e| TestingError::InvalidSetup { what: format!("class path: {e}") })?;
        Ok(Installation { java, class_path })
    }
}

fn find_java() -> Option<PathBuf> {
    if let Some(java) = env::var_os("ZKCLUSTER_JAVA") {
        return Some(PathBuf::from(java)).filter(|p| p.is_file());
    }
    let mut candidates = vec![PathBuf::from(DEBIAN_JAVA)];
    if let Some(home) = env::var_os("JAVA_HOME") {
        candidates.push(Path::new(&home).join("bin").join("java"));
    }
    if let Some(path) = env::var_os("PATH") {
        candidates.extend(env::split_paths(&path).map(|dir| dir.join("java")));
    }
    candidates.into_iter().find(|p| p.is_file())
}
