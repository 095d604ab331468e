//! The path of a field inside the config file, as `ports[1].ipv4[0]`, used to name the field in errors and
//! to find its line in the file.

use std::fmt;

/// One step from a node to a child: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A key of a mapping (`ports`, `ipv4`).
    Key(String),
    /// A position in a sequence, from 0.
    Index(usize),
}

/// A path from the document's root to a field; the root itself is the empty path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The document's root.
    pub fn root() -> Self {
        Self::default()
    }

    /// This path extended by a mapping key.
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        Self(segments)
    }

    /// This path extended by a sequence index.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Self(segments)
    }

    /// The steps from the root, outermost first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_keys_and_indexes_like_the_file() {
        let path = FieldPath::root().key("ports").index(1).key("ipv4").index(0);
        assert_eq!(path.to_string(), "ports[1].ipv4[0]");
        assert_eq!(FieldPath::root().index(3).key("a").to_string(), "[3].a");
        assert_eq!(FieldPath::root().to_string(), "");
    }
}
