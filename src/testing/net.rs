//! Loopback ports, temporary directories, four-letter commands and log tails.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::TestingError;

/// Picks `count` distinct free loopback ports. All listeners are held until every port is
/// picked, so one call never returns the same port twice.
pub(super) fn free_ports(count: usize) -> Result<Vec<u16>, TestingError> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TestingError::io("binding 127.0.0.1:0 to find a free port", e))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TestingError::io("reading a free port", e))
}

/// Creates a fresh directory under the system temp dir; pid, counter and time keep names unique
/// across threads, test processes and runs.
pub(super) fn create_temp_dir(label: &str) -> Result<PathBuf, TestingError> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let name = format!(
        "zkcluster-{label}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let dir = std::env::temp_dir().join(name);
    fs::create_dir(&dir).map_err(|e| TestingError::io(format!("creating {}", dir.display()), e))?;
    Ok(dir)
}

pub(super) fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Sends a four-letter command and reads the answer until the server closes the connection.
pub(super) fn four_letter(port: u16, cmd: &str, timeout: Duration) -> Result<String, TestingError> {
    let what = || format!("four-letter command {cmd:?} to 127.0.0.1:{port}");
    let exchange = || -> std::io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&loopback(port), timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.write_all(cmd.as_bytes())?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        Ok(String::from_utf8_lossy(&answer).into_owned())
    };
    exchange().map_err(|e| TestingError::io(what(), e))
}

/// The last `max_lines` lines of a server log (from its last 16 KiB, without our `srvr` probes),
/// or a note why it cannot be read.
pub(super) fn log_tail(path: &Path, max_lines: usize) -> String {
    const MAX_BYTES: u64 = 16 * 1024;
    let read = || -> std::io::Result<String> {
        let mut file = fs::File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(MAX_BYTES)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            // Our own readiness polling logs a line per probe; it would crowd out the cause.
            let lines: Vec<&str> =
                text.lines().filter(|l| !l.contains("Processing srvr command")).collect();
            lines[lines.len().saturating_sub(max_lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}
