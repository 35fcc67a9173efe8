//! Apache Curator 5.4 (Debian's `libcurator-recipes-java`) as a peer:
//! `benches/curator/CuratorBench.java`, compiled by `scripts/curator-peer.sh`, in a JVM driven
//! line by line (see `line_peer.rs`). It runs the serial, lock and hand-off workloads with
//! Curator's own recipes: `InterProcessMutex`, `InterProcessReadWriteLock.readLock()` and
//! `InterProcessSemaphoreV2`.

use std::path::Path;
use std::process::Command;

use super::line_peer::LinePeer;
use super::{Cfg, Peer, Sample, Workload, R};

const CLASSPATH_ENV: &str = "ZKCLUSTER_BENCH_CURATOR_CP";
const WARM_UP_SECS: f64 = 3.0;
const RECIPES_JAR: &str = "/usr/share/java/curator-recipes.jar";

/// The class path `scripts/curator-peer.sh` printed (`$ZKCLUSTER_BENCH_CURATOR_CP`), else that
/// script's output directory when it has been run. `None` when neither is there.
pub fn classpath() -> Option<String> {
    if let Ok(cp) = std::env::var(CLASSPATH_ENV) {
        return Some(cp);
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/curator-bench");
    (out.join("CuratorBench.class").exists() && Path::new(RECIPES_JAR).exists()).then(|| {
        let jars = ["curator-recipes", "curator-framework", "curator-client", "slf4j-nop"];
        let jars = jars.map(|j| format!("/usr/share/java/{j}.jar"));
        format!("{}:{}", out.display(), jars.join(":"))
    })
}

/// Curator's version, from the versioned jar Debian installs beside the plain one
/// (`curator-recipes-5.4.0.jar`).
pub fn version() -> String {
    let versions = std::fs::read_dir("/usr/share/java").into_iter().flatten().flatten();
    versions
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name.strip_prefix("curator-recipes-")?.strip_suffix(".jar")?;
            version.starts_with(|c: char| c.is_ascii_digit()).then(|| version.to_string())
        })
        .max()
        .unwrap_or_else(|| "?".to_string())
}

pub struct Curator(LinePeer);

impl Curator {
    pub fn start(classpath: &str, hosts: &str) -> R<Curator> {
        let mut command = Command::new("java");
        // A small serial-GC heap: the machine is shared; the JIT is left at its defaults.
        command.args(["-Xmx256m", "-XX:+UseSerialGC", "-cp", classpath, "CuratorBench", hosts]);
        let mut peer = LinePeer::start("curator", command)?;
        // A JVM runs interpreted at first: let the JIT compile Curator's paths before anything
        // is timed, as it would have in a long-running service.
        peer.ask(&format!("warmup {WARM_UP_SECS} /bench/curator-warm-up"))?;
        Ok(Curator(peer))
    }
}

impl Peer for Curator {
    fn name(&self) -> &'static str {
        "curator"
    }

    fn run(&mut self, w: &Workload, cfg: &Cfg, base: &str) -> R<Sample> {
        match w {
            // Curator has no pipelined or multi-request form of these; the rows stay empty.
            Workload::Exists(_) | Workload::GetPipelined(_) => Ok(Vec::new()),
            _ => self.0.run(w, cfg, base),
        }
    }
}
