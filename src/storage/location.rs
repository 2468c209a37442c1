//! Where progress is kept: a file in the user's data directory (or
//! `--data-dir`), or nowhere with `--ephemeral`.

use std::fmt;
use std::path::PathBuf;

use crate::config::Config;

/// The folder under the platform's data directory.
pub const APP_DIR: &str = "realtime-playground";
/// The progress file's name inside the data directory.
pub const FILE_NAME: &str = "progress.redb";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keeping {
    /// `--ephemeral`: in memory only, gone with the process.
    Nowhere,
    /// In this database file.
    File(PathBuf),
}

impl Keeping {
    /// What the flags ask for. The default directory is
    /// `$XDG_DATA_HOME/realtime-playground`, else `~/.local/share/realtime-playground`
    /// (the platform's data directory on macOS and Windows).
    pub fn from_config(config: &Config) -> Result<Keeping, KeepingError> {
        if config.ephemeral {
            return Ok(Keeping::Nowhere);
        }
        let dir = match &config.data_dir {
            Some(dir) => dir.clone(),
            None => dirs::data_dir()
                .ok_or(KeepingError::NoDataDir)?
                .join(APP_DIR),
        };
        Ok(Keeping::File(dir.join(FILE_NAME)))
    }
}

/// Why the flags name no place to keep progress.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeepingError {
    #[error(
        "no data directory to keep progress in (neither XDG_DATA_HOME nor HOME is set): start \
         with --data-dir DIR, or --ephemeral to keep nothing"
    )]
    NoDataDir,
}

impl fmt::Display for Keeping {
    /// The start-up line's words: where progress lives.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Keeping::Nowhere => f.write_str("not kept (--ephemeral)"),
            Keeping::File(path) => write!(f, "kept in {}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn the_flags_choose_the_file_or_none() {
        let ephemeral = Config::try_parse_from(["x", "--ephemeral"]).expect("flags");
        assert_eq!(Keeping::from_config(&ephemeral), Ok(Keeping::Nowhere));
        let chosen = Config::try_parse_from(["x", "--data-dir", "/srv/rp"]).expect("flags");
        assert_eq!(
            Keeping::from_config(&chosen),
            Ok(Keeping::File("/srv/rp/progress.redb".into()))
        );
        // PLAYGROUND_DATA_DIR may be set in a learner's shell: --ephemeral still wins.
        let both = Config::try_parse_from(["x", "--data-dir", "/srv/rp", "--ephemeral"]);
        assert_eq!(
            Keeping::from_config(&both.expect("flags")),
            Ok(Keeping::Nowhere)
        );
        assert_eq!(
            Keeping::Nowhere.to_string(),
            "not kept (--ephemeral)",
            "the start-up line"
        );
    }
}
