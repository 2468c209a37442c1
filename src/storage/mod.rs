//! Progress that outlives the process: lesson progress and challenge best
//! scores in one embedded database file, so a learner who stops the server
//! tonight finds their lessons where they left them tomorrow (their
//! `learner` cookie lasts a year).
//!
//! redb: pure Rust (no C toolchain), one file, and atomic durable write
//! transactions, one per change ([`records`]). A write is on disk before the
//! request that made it is answered; writes are rare (a step entered, a hint,
//! a prediction, a best score), so the request pays the fsync.
//!
//! - [`location`]: where the file is (`--data-dir`, the user's data
//!   directory) or that there is none (`--ephemeral`).
//! - [`file`]: opening it, refusing to start on a damaged or busy file.
//! - [`records`]: bounded tables of JSON records keyed by learner id.
//!
//! The lessons and the lab only know their own `Persist` traits; this module
//! implements them, and the app layer ([`crate::app::state`]) plugs them in.

pub mod file;
pub mod location;
pub mod records;

use std::sync::Arc;

pub use file::OpenError;
pub use location::{Keeping, KeepingError};
use records::{Limits, Names, Records};

use crate::lab::bests::{self, Bests};
use crate::lab::challenges::Challenges;
use crate::learner_table::TableLimits;
use crate::lessons::progress::{self, LearnerProgress, ProgressStore};

/// Learners whose records the file keeps; the one written longest ago goes first.
pub const MAX_LEARNERS: u64 = 10_000;

const PROGRESS: Names = Names {
    records: "lesson_progress",
    written: "lesson_progress_written",
};
/// A learner's progress in every lesson: step states, hints, predictions and
/// answers (the interview's answers are the largest, up to 5,000 characters).
const PROGRESS_LIMITS: Limits = Limits {
    max_records: MAX_LEARNERS,
    max_record_bytes: 128 * 1024,
};

const BESTS: Names = Names {
    records: "challenge_bests",
    written: "challenge_bests_written",
};
const BESTS_LIMITS: Limits = Limits {
    max_records: MAX_LEARNERS,
    max_record_bytes: 4 * 1024,
};

/// Where progress is kept, and the tables when it is kept in a file.
pub struct Storage {
    pub keeping: Keeping,
    tables: Option<Tables>,
}

struct Tables {
    progress: Arc<Records<LearnerProgress>>,
    bests: Arc<Records<Bests>>,
}

impl Storage {
    /// Opens (or creates) the progress file `keeping` names; nothing for [`Keeping::Nowhere`].
    pub fn open(keeping: Keeping) -> Result<Storage, OpenError> {
        let tables = match &keeping {
            Keeping::Nowhere => None,
            Keeping::File(path) => {
                let db = file::open(path)?;
                let unreadable = |err| OpenError::unreadable(path, err);
                Some(Tables {
                    progress: Arc::new(
                        Records::open(db.clone(), PROGRESS, PROGRESS_LIMITS).map_err(unreadable)?,
                    ),
                    bests: Arc::new(Records::open(db, BESTS, BESTS_LIMITS).map_err(unreadable)?),
                })
            }
        };
        Ok(Storage { keeping, tables })
    }

    /// The lesson progress store, bounded by `limits`, saving to the file when there is one.
    pub fn progress(&self, limits: TableLimits) -> ProgressStore {
        let persist = self
            .tables
            .as_ref()
            .map(|t| t.progress.clone() as Arc<dyn progress::Persist>);
        ProgressStore::new(limits, persist)
    }

    /// The challenges, bounded by `limits`, their best scores saved to the file when there is one.
    pub fn challenges(&self, limits: TableLimits) -> Challenges {
        let persist = self
            .tables
            .as_ref()
            .map(|t| t.bests.clone() as Arc<dyn bests::Persist>);
        Challenges::new(limits, persist)
    }
}

impl progress::Persist for Records<LearnerProgress> {
    fn save(&self, learner: &str, progress: &LearnerProgress) {
        Records::save(self, learner, progress);
    }
    fn load(&self, learner: &str) -> Option<LearnerProgress> {
        Records::load(self, learner)
    }
}

impl bests::Persist for Records<Bests> {
    fn save(&self, learner: &str, bests: &Bests) {
        Records::save(self, learner, bests);
    }
    fn load(&self, learner: &str) -> Option<Bests> {
        Records::load(self, learner)
    }
}
