//! The outside store the lock protects: a file shared by every worker process, written only
//! through a fencing-token check (Kleppmann's fenced resource). A write whose token is lower
//! than the highest the store has accepted is refused.
//!
//! `store.max` holds the highest accepted token (a fixed-width field rewritten in place, so a
//! writer killed mid-way cannot leave it half written); `store.log` gets one line per accepted
//! write: `token value holder time_ns`. Both are changed under an exclusive `flock` on
//! `store.max`, which the kernel drops when its holder dies.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub const MAX_FILE: &str = "store.max";
pub const LOG_FILE: &str = "store.log";
const WIDTH: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    /// The store had seen `highest` > our token.
    Rejected {
        highest: i64,
    },
}

pub struct Store {
    dir: PathBuf,
}

/// Holds `flock(LOCK_EX)` on a file until dropped.
struct Flock<'a>(&'a File);

impl<'a> Flock<'a> {
    fn exclusive(file: &'a File) -> io::Result<Flock<'a>> {
        // SAFETY: flock on a descriptor we own; no memory is passed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Flock(file))
    }
}

impl Drop for Flock<'_> {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

impl Store {
    pub fn new(dir: &Path) -> Store {
        Store { dir: dir.to_path_buf() }
    }

    /// Writes `value` if `token` is at least the highest accepted so far.
    pub fn write(&self, token: i64, value: u64, holder: &str, now_ns: i64) -> io::Result<Outcome> {
        let max = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.dir.join(MAX_FILE))?;
        let _locked = Flock::exclusive(&max)?;
        let mut field = [0u8; WIDTH + 1];
        let n = max.read_at(&mut field, 0)?;
        let highest = std::str::from_utf8(&field[..n])
            .ok()
            .and_then(|t| t.trim().parse::<i64>().ok())
            .unwrap_or(i64::MIN);
        if token < highest {
            return Ok(Outcome::Rejected { highest });
        }
        let mut log = OpenOptions::new().append(true).create(true).open(self.dir.join(LOG_FILE))?;
        log.write_all(format!("{token} {value} {holder} {now_ns}\n").as_bytes())?;
        max.write_all_at(format!("{token:>WIDTH$}\n").as_bytes(), 0)?;
        Ok(Outcome::Accepted)
    }
}

/// One accepted write, as `store.log` has it: the hold that wrote it.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub holder: String,
}

/// The accepted writes in the order the store took them.
pub fn history(dir: &Path) -> Vec<Accepted> {
    let text = std::fs::read_to_string(dir.join(LOG_FILE)).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            Some(Accepted { holder: f.get(2)?.to_string() })
        })
        .collect()
}
