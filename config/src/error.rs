//! Errors of loading a config: the file could not be read, or it has problems, each named by file, line,
//! column and field, with the offending value and what is allowed.

use std::fmt;

/// One thing wrong with a config file, where it is, and what is allowed instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file name (or another origin given to [`crate::parse`]).
    pub origin: String,
    /// Line in the file, from 1.
    pub line: usize,
    /// Column in the file, from 1.
    pub column: usize,
    /// The field's path, like `ports[1].ipv4[0]`; empty for the document itself.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0: a document without lines of its own (a desired state pushed over the admin socket).
        if self.line == 0 {
            write!(f, "{}: ", self.origin)?;
        } else {
            write!(f, "{}:{}:{}: ", self.origin, self.line, self.column)?;
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{origin}: cannot read the config: {source}")]
    Read {
        /// The file's path as given.
        origin: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file was read but is not a valid config; one problem per line, in file order.
    #[error("{}", ProblemLines(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// The problems found in the file (empty when it could not be read).
    pub fn problems(&self) -> &[Problem] {
        match self {
            Self::Read { .. } => &[],
            Self::Invalid(problems) => problems,
        }
    }
}

/// Displays problems one per line.
struct ProblemLines<'a>(&'a [Problem]);

impl fmt::Display for ProblemLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(field: &str, line: usize) -> Problem {
        Problem {
            origin: "lab.yaml".into(),
            line,
            column: 11,
            field: field.into(),
            message: "bad".into(),
        }
    }

    #[test]
    fn displays_file_line_column_field_message() {
        assert_eq!(
            problem("ports[1].ipv4[0]", 14).to_string(),
            "lab.yaml:14:11: ports[1].ipv4[0]: bad"
        );
        assert_eq!(problem("", 1).to_string(), "lab.yaml:1:11: bad");
    }

    #[test]
    fn invalid_lists_one_problem_per_line() {
        let error = ConfigError::Invalid(vec![problem("a", 1), problem("b", 2)]);
        assert_eq!(
            error.to_string(),
            "lab.yaml:1:11: a: bad\nlab.yaml:2:11: b: bad"
        );
        assert_eq!(error.problems().len(), 2);
    }
}
