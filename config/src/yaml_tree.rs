//! A YAML document as a tree of nodes that remember where they start in the file.
//!
//! Built from yaml-rust2's event parser so that both deserialization errors and later validation errors can
//! point at a line and column. Aliases are expanded (with a cap, against alias bombs); merge keys and tags
//! carry no meaning here, a config needs neither.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::field_path::{FieldPath, Segment};

/// Most nodes a small document may expand to (aliases included). A larger document may have as many nodes as it has
/// bytes, which no document reaches without aliases: big desired states pass, alias bombs do not.
const MAX_NODES: usize = 100_000;

/// A place in the file, line and column both from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    fn from_marker(marker: &Marker) -> Self {
        // yaml-rust2 counts lines from 1 and columns from 0.
        Self {
            line: marker.line().max(1),
            column: marker.col() + 1,
        }
    }
}

/// What a node holds.
#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    /// A scalar's text; `plain` when it was unquoted (only plain scalars can be null, bools or numbers).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A node and where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub pos: Pos,
}

impl Node {
    /// The text of a scalar node.
    pub fn scalar_text(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Where the field at `path` starts; the nearest ancestor that exists when the field itself is absent.
    pub fn locate(&self, path: &FieldPath) -> Pos {
        let mut node = self;
        for segment in path.segments() {
            match node.child(segment) {
                Some(child) => node = child,
                None => break,
            }
        }
        node.pos
    }

    fn child(&self, segment: &Segment) -> Option<&Node> {
        match (&self.kind, segment) {
            (NodeKind::Map(entries), Segment::Key(key)) => entries
                .iter()
                .find(|(k, _)| k.scalar_text() == Some(key.as_str()))
                .map(|(_, value)| value),
            (NodeKind::Seq(items), Segment::Index(index)) => items.get(*index),
            _ => None,
        }
    }

    fn count(&self) -> usize {
        match &self.kind {
            NodeKind::Scalar { .. } => 1,
            NodeKind::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            NodeKind::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.count() + v.count())
                    .sum::<usize>()
            }
        }
    }
}

/// The file is not well-formed YAML, or not one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Parses the one document in `text`; `None` when the text holds no document (empty or only comments).
pub(crate) fn parse_document(text: &str) -> Result<Option<Node>, SyntaxError> {
    let mut builder = TreeBuilder {
        max_nodes: MAX_NODES.max(text.len()),
        ..TreeBuilder::default()
    };
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| SyntaxError {
        pos: Pos::from_marker(e.marker()),
        message: format!("not valid YAML: {}", e.info()),
    })?;
    match builder.error {
        Some(error) => Err(error),
        None => Ok(builder.root),
    }
}

/// A collection still being read.
#[derive(Debug)]
enum Open {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

#[derive(Debug, Default)]
struct TreeBuilder {
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    documents: usize,
    nodes: usize,
    max_nodes: usize,
    error: Option<SyntaxError>,
}

impl TreeBuilder {
    fn fail(&mut self, pos: Pos, message: &str) {
        if self.error.is_none() {
            self.error = Some(SyntaxError {
                pos,
                message: message.to_owned(),
            });
        }
    }

    /// Adds a finished node to the collection it belongs to (or makes it the root).
    /// `size` is the number of nodes this one adds: 1, or the whole expansion of an alias.
    fn finish(&mut self, node: Node, anchor: usize, size: usize) {
        self.nodes += size;
        if self.nodes > self.max_nodes {
            let max = self.max_nodes;
            self.fail(
                node.pos,
                &format!("the document expands to more than {max} nodes (aliases included)"),
            );
            return;
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, event: Event, marker: Marker) {
        if self.error.is_some() {
            return;
        }
        let pos = Pos::from_marker(&marker);
        match event {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.fail(pos, "the file must hold one YAML document, it holds more");
                }
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let plain = style == TScalarStyle::Plain;
                self.finish(
                    Node {
                        kind: NodeKind::Scalar { text, plain },
                        pos,
                    },
                    anchor,
                    1,
                );
            }
            Event::Alias(anchor) => match self.anchors.get(&anchor).cloned() {
                Some(mut node) => {
                    node.pos = pos;
                    let size = node.count();
                    self.finish(node, 0, size);
                }
                None => self.fail(pos, "alias to an unknown anchor"),
            },
            Event::SequenceStart(anchor, _tag) => {
                self.stack.push(Open::Seq {
                    pos,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, _tag) => {
                self.stack.push(Open::Map {
                    pos,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Open::Seq { pos, anchor, items }) => {
                    self.finish(
                        Node {
                            kind: NodeKind::Seq(items),
                            pos,
                        },
                        anchor,
                        1,
                    );
                }
                Some(Open::Map {
                    pos,
                    anchor,
                    entries,
                    ..
                }) => {
                    // A block mapping's start mark lies after its first key; the key is where it starts.
                    let pos = entries.first().map_or(pos, |(key, _)| key.pos);
                    self.finish(
                        Node {
                            kind: NodeKind::Map(entries),
                            pos,
                        },
                        anchor,
                        1,
                    );
                }
                None => self.fail(pos, "unbalanced YAML collection"),
            },
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        parse_document(text).unwrap().unwrap()
    }

    #[test]
    fn locates_fields_by_path() {
        let text = "a: 1\nports:\n  - name: x\n    ipv4: [10.0.0.1/24, \"10.0.1.1/24\"]\n";
        let node = root(text);
        let path = FieldPath::root().key("ports").index(0).key("ipv4").index(1);
        assert_eq!(
            node.locate(&path),
            Pos {
                line: 4,
                column: 25
            }
        );
        assert_eq!(
            node.locate(&FieldPath::root().key("a")),
            Pos { line: 1, column: 4 }
        );
        let name = FieldPath::root().key("ports").index(0).key("name");
        assert_eq!(
            node.locate(&name),
            Pos {
                line: 3,
                column: 11
            }
        );
    }

    #[test]
    fn absent_field_locates_its_nearest_parent() {
        let node = root("a:\n  b: 1\n");
        let b = node.locate(&FieldPath::root().key("a").key("b"));
        assert_eq!(
            node.locate(&FieldPath::root().key("a").key("zzz").index(2)),
            node.locate(&FieldPath::root().key("a"))
        );
        assert_eq!(b, Pos { line: 2, column: 6 });
    }

    #[test]
    fn scalars_know_whether_they_were_quoted() {
        let node = root("a: '1'\nb: 1\n");
        let NodeKind::Map(entries) = node.kind else {
            panic!("not a map")
        };
        assert!(
            matches!(&entries[0].1.kind, NodeKind::Scalar { text, plain: false } if text == "1")
        );
        assert!(
            matches!(&entries[1].1.kind, NodeKind::Scalar { text, plain: true } if text == "1")
        );
    }

    #[test]
    fn aliases_expand_to_the_anchored_node() {
        let node = root("a: &x [1, 2]\nb: *x\n");
        let NodeKind::Map(entries) = node.kind else {
            panic!("not a map")
        };
        assert!(matches!(&entries[1].1.kind, NodeKind::Seq(items) if items.len() == 2));
        assert_eq!(entries[1].1.pos.line, 2);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let error = parse_document(&text).unwrap_err();
        assert!(
            error.message.contains("more than 100000 nodes"),
            "{error:?}"
        );
    }

    /// Regression: a desired state of 10,000 Services (~440,000 nodes) was refused by a fixed cap.
    #[test]
    fn a_big_document_without_aliases_is_read_whole() {
        let mut text = String::from("items:\n");
        for i in 0..60_000 {
            text.push_str(&format!("  - {{ a: {i}, b: x }}\n"));
        }
        let root = parse_document(&text).unwrap().unwrap();
        let NodeKind::Map(entries) = root.kind else {
            panic!("not a map")
        };
        assert!(matches!(&entries[0].1.kind, NodeKind::Seq(items) if items.len() == 60_000));
    }

    #[test]
    fn syntax_errors_and_extra_documents_have_a_position() {
        let error = parse_document("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.message.starts_with("not valid YAML: "), "{error:?}");
        assert!(error.pos.line >= 2, "{error:?}");
        let error = parse_document("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(error.pos.line, 2);
        assert_eq!(parse_document("# nothing\n").unwrap().map(|n| n.pos), None);
    }
}
