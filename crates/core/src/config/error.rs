//! Config problems, each with the `file:line:col` where it was found.

use std::fmt;

/// A position in a config file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    /// Line (1-based).
    pub line: u32,
    /// Column (1-based).
    pub col: u32,
}

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file name the caller gave (as in `gateway.yaml:3:5:`).
    pub file: String,
    /// Where in the file.
    pub location: Location,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.location.line, self.location.col, self.message)
    }
}

/// Every problem found in one config, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Collects problems while a config is read and compiled.
#[derive(Debug)]
pub(crate) struct Problems {
    file: String,
    list: Vec<ConfigError>,
    /// Values whose `${NAME}` could not be resolved: later complaints about
    /// the same value would only repeat that problem.
    unresolved: Vec<Location>,
}

impl Problems {
    pub(crate) fn new(file: &str) -> Self {
        Problems { file: file.to_owned(), list: Vec::new(), unresolved: Vec::new() }
    }
    /// Records a `${NAME}` that could not be resolved in the value at `location`.
    pub(crate) fn unresolved(&mut self, location: Location, message: impl Into<String>) {
        self.unresolved.push(location);
        self.list.push(ConfigError { file: self.file.clone(), location, message: message.into() });
    }
    pub(crate) fn push(&mut self, location: Location, message: impl Into<String>) {
        if self.unresolved.contains(&location) {
            return;
        }
        self.list.push(ConfigError { file: self.file.clone(), location, message: message.into() });
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
    /// The problems in file order.
    pub(crate) fn finish(mut self) -> ConfigErrors {
        self.list.sort_by_key(|e| (e.location.line, e.location.col));
        self.list.dedup();
        ConfigErrors(self.list)
    }
}
