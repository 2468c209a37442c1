//! A bounded table of JSON records keyed by learner id, in the progress file.
//!
//! Each change is one redb write transaction, committed durably before the
//! request that made it is answered: a crash (even SIGKILL) mid-write leaves
//! the previous record, never half of one. Bounded twice: a record larger
//! than [`Limits::max_record_bytes`] is refused (it stays in memory only),
//! and past [`Limits::max_records`] the record written longest ago goes.
//! A second table maps a write stamp to its learner, so finding the oldest
//! is one look-up, not a scan.
//!
//! Errors never reach the request: they are logged and the change lives on
//! in memory until the next one is saved.

use std::marker::PhantomData;
use std::sync::Arc;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata};
use redb::{TableDefinition, TableHandle, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Learner ids are at most 64 characters (see `traffic::learner`); anything longer is not one.
const MAX_KEY_BYTES: usize = 64;

/// learner id → (write stamp, JSON).
type Data = TableDefinition<'static, &'static str, (u64, &'static [u8])>;
/// write stamp → learner id, oldest first.
type Order = TableDefinition<'static, u64, &'static str>;

/// A table's name in the file, and its write-order companion's.
#[derive(Debug, Clone, Copy)]
pub struct Names {
    pub records: &'static str,
    pub written: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most records kept; the one written longest ago goes first.
    pub max_records: u64,
    /// Largest JSON record accepted, in bytes.
    pub max_record_bytes: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("the learner id is longer than {MAX_KEY_BYTES} bytes")]
    KeyTooLong,
    #[error("the record is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("cannot encode the record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("{0}")]
    Database(#[from] redb::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot decode the record: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("{0}")]
    Database(#[from] redb::Error),
}

/// One table of `T` records (e.g. lesson progress) in the progress file.
pub struct Records<T> {
    db: Arc<Database>,
    data: Data,
    order: Order,
    limits: Limits,
    of: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> Records<T> {
    /// The tables `names` (created if the file has none yet, so reads never
    /// meet a missing table). Fails if the file holds them with other types.
    pub fn open(db: Arc<Database>, names: Names, limits: Limits) -> Result<Self, redb::Error> {
        let records = Records {
            db,
            data: TableDefinition::new(names.records),
            order: TableDefinition::new(names.written),
            limits,
            of: PhantomData,
        };
        let txn = records.db.begin_write()?;
        txn.open_table(records.data)?;
        txn.open_table(records.order)?;
        txn.commit()?;
        Ok(records)
    }

    /// Saves `value` as `key`'s record; a failure is logged, never returned.
    pub fn save(&self, key: &str, value: &T) {
        if let Err(err) = self.try_save(key, value) {
            // Not the learner id: it is what lets a client read that learner's traffic.
            tracing::warn!(
                table = self.data.name(),
                "a learner's record not saved: {err}"
            );
        }
    }

    /// `key`'s record, if there is a readable one; a failure is logged as none.
    pub fn load(&self, key: &str) -> Option<T> {
        self.try_load(key).unwrap_or_else(|err| {
            tracing::warn!(
                table = self.data.name(),
                "a learner's record not loaded: {err}"
            );
            None
        })
    }

    pub fn try_save(&self, key: &str, value: &T) -> Result<(), SaveError> {
        if key.len() > MAX_KEY_BYTES {
            return Err(SaveError::KeyTooLong);
        }
        let json = serde_json::to_vec(value)?;
        let limit = self.limits.max_record_bytes;
        if json.len() > limit {
            let size = json.len();
            return Err(SaveError::TooLarge { size, limit });
        }
        let mut txn = self.db.begin_write().map_err(redb::Error::from)?;
        txn.set_durability(Durability::Immediate)
            .map_err(redb::Error::from)?;
        self.write(&txn, key, &json)?;
        txn.commit().map_err(redb::Error::from)?;
        Ok(())
    }

    /// Inside `txn`: the record and its stamp replaced, then the oldest
    /// records dropped while there are too many.
    fn write(&self, txn: &WriteTransaction, key: &str, json: &[u8]) -> Result<(), redb::Error> {
        let mut data = txn.open_table(self.data)?;
        let mut order = txn.open_table(self.order)?;
        let previous = data.get(key)?.map(|old| old.value().0);
        if let Some(stamp) = previous {
            order.remove(stamp)?;
        }
        let stamp = order.last()?.map_or(0, |(newest, _)| newest.value() + 1);
        order.insert(stamp, key)?;
        data.insert(key, (stamp, json))?;
        while data.len()? > self.limits.max_records {
            let Some(oldest) = order.pop_first()?.map(|(_, k)| k.value().to_owned()) else {
                break;
            };
            data.remove(oldest.as_str())?;
        }
        Ok(())
    }

    pub fn try_load(&self, key: &str) -> Result<Option<T>, LoadError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let data = txn.open_table(self.data).map_err(redb::Error::from)?;
        let Some(record) = data.get(key).map_err(redb::Error::from)? else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_slice(record.value().1)?))
    }

    /// How many records the table holds.
    pub fn count(&self) -> Result<u64, redb::Error> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(self.data)?.len()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    type Scores = BTreeMap<String, u64>;

    fn table(dir: &std::path::Path, limits: Limits) -> Records<Scores> {
        let db = Database::create(dir.join("t.redb")).expect("create");
        let names = Names {
            records: "scores",
            written: "scores.written",
        };
        Records::open(Arc::new(db), names, limits).expect("table")
    }

    fn scores(n: u64) -> Scores {
        BTreeMap::from([("golf".to_owned(), n)])
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("rp-records-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn a_saved_record_loads_back_and_a_new_save_replaces_it() {
        let dir = temp_dir("replace");
        let t = table(
            &dir,
            Limits {
                max_records: 10,
                max_record_bytes: 1024,
            },
        );
        assert_eq!(t.load("me"), None);
        t.save("me", &scores(3));
        t.save("me", &scores(2));
        assert_eq!(t.load("me"), Some(scores(2)));
        assert_eq!(t.count().ok(), Some(1));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn past_the_limit_the_record_written_longest_ago_goes() {
        let dir = temp_dir("evict");
        let t = table(
            &dir,
            Limits {
                max_records: 2,
                max_record_bytes: 1024,
            },
        );
        t.save("a", &scores(1));
        t.save("b", &scores(2));
        t.save("a", &scores(3)); // a is now newer than b
        t.save("c", &scores(4));
        assert_eq!(t.count().ok(), Some(2));
        assert_eq!(t.load("b"), None, "b was written longest ago");
        assert_eq!(t.load("a"), Some(scores(3)));
        assert_eq!(t.load("c"), Some(scores(4)));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn an_oversize_record_or_key_is_refused_and_the_old_one_kept() {
        let dir = temp_dir("oversize");
        let t = table(
            &dir,
            Limits {
                max_records: 10,
                max_record_bytes: 32,
            },
        );
        t.save("me", &scores(1));
        let big: Scores = (0..10).map(|n| (format!("challenge-{n}"), n)).collect();
        assert!(matches!(
            t.try_save("me", &big),
            Err(SaveError::TooLarge { .. })
        ));
        assert_eq!(t.load("me"), Some(scores(1)));
        let long = "x".repeat(MAX_KEY_BYTES + 1);
        assert!(matches!(
            t.try_save(&long, &scores(1)),
            Err(SaveError::KeyTooLong)
        ));
        let _ = std::fs::remove_dir_all(dir);
    }
}
