//! Opening the progress file, and the errors a learner can act on.
//!
//! A file that cannot be read is never replaced by an empty one: that would
//! throw away the progress it holds. The server refuses to start instead,
//! naming the file and the ways out (move it, another `--data-dir`,
//! `--ephemeral`). The file's pages are checked on every open, so a damaged
//! file is an error here rather than a panic later.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, DatabaseError};

/// Pages redb may cache in memory, in bytes (the file is small: bounded records).
const CACHE_BYTES: usize = 16 * 1024 * 1024;

const WAY_OUT: &str = "or start with --data-dir DIR (another file) or --ephemeral (keep nothing)";

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the data directory {} ({source}). Make it writable, {WAY_OUT}.", dir.display())]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} is in use by another realtime-playground (one server at a time keeps progress in a \
         file). Stop the other one, {WAY_OUT}.",
        path.display()
    )]
    InUse { path: PathBuf },
    #[error(
        "{} is not a readable progress database ({reason}). Move it away (it holds the progress \
         kept so far), {WAY_OUT}.",
        path.display()
    )]
    Unreadable { path: PathBuf, reason: String },
}

impl OpenError {
    /// The file at `path` is there but cannot be used as a progress database.
    pub fn unreadable(path: &Path, reason: impl ToString) -> Self {
        OpenError::Unreadable {
            path: path.to_owned(),
            reason: reason.to_string(),
        }
    }
}

/// Opens the progress database at `path`, creating it (and its directory) if missing.
pub fn open(path: &Path) -> Result<Arc<Database>, OpenError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
            dir: dir.to_owned(),
            source,
        })?;
    }
    // redb checks damaged pages with debug assertions too; a panic there is
    // still "not a readable database", not a crash.
    let opened = catch_unwind(AssertUnwindSafe(|| {
        Database::builder()
            .set_cache_size(CACHE_BYTES)
            .set_check_integrity_on_open(true)
            .create(path)
    }));
    match opened {
        Ok(Ok(db)) => Ok(Arc::new(db)),
        Ok(Err(DatabaseError::DatabaseAlreadyOpen)) => Err(OpenError::InUse {
            path: path.to_owned(),
        }),
        Ok(Err(err)) => Err(OpenError::unreadable(path, err)),
        Err(_) => Err(OpenError::unreadable(path, "redb gave up reading it")),
    }
}
