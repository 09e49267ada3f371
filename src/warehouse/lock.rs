//! One sync at a time per warehouse: an advisory lock (`flock`) on `<warehouse>.lock`, holding
//! the pid and start time of the sync that has it. The kernel drops the lock when its process
//! ends, however it ends, so a killed sync never blocks the next one.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The lock of one warehouse, held until dropped.
#[derive(Debug)]
pub struct SyncLock {
    _file: File,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another sync holds it.
    #[error(
        "another `dango sync` ({holder}) is loading {}: wait for it to finish, or pass \
         `--wait SECONDS` to wait for it",
        warehouse.display()
    )]
    Busy {
        /// The warehouse file.
        warehouse: PathBuf,
        /// Who holds it (`pid 123, started ...`), as it wrote itself in the lock file.
        holder: String,
    },
    /// The lock file could not be used.
    #[error("cannot use the lock file {}: {error}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

impl SyncLock {
    /// Takes the lock of `warehouse`, waiting up to `wait` for another sync to finish.
    pub fn acquire(warehouse: &Path, wait: Duration) -> Result<Self, LockError> {
        let path = lock_path(warehouse);
        let io = |error| LockError::Io {
            path: path.clone(),
            error,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let deadline = Instant::now() + wait;
        loop {
            // SAFETY: flock on a descriptor this function owns; no memory is shared.
            let taken =
                unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
            if taken {
                let holder = format!(
                    "pid {}, started {}",
                    std::process::id(),
                    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
                file.set_len(0).map_err(io)?;
                file.rewind().map_err(io)?;
                file.write_all(holder.as_bytes()).map_err(io)?;
                return Ok(Self { _file: file });
            }
            if Instant::now() >= deadline {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(LockError::Busy {
                    warehouse: warehouse.to_path_buf(),
                    holder: if holder.is_empty() {
                        "unknown pid".into()
                    } else {
                        holder
                    },
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The lock file of `warehouse`.
fn lock_path(warehouse: &Path) -> PathBuf {
    let mut name = warehouse.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    warehouse.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_then_is_told_who_has_it() {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = dir.path().join("warehouse.duckdb");
        let first = SyncLock::acquire(&warehouse, Duration::ZERO).unwrap();
        let err = SyncLock::acquire(&warehouse, Duration::from_millis(250)).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.to_string().contains("--wait SECONDS"), "{err}");
        drop(first);
        SyncLock::acquire(&warehouse, Duration::ZERO).unwrap();
    }
}
