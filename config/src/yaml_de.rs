//! A serde deserializer over the located YAML tree, so that every error from serde (a wrong type, an unknown
//! or missing field, a bad enum value) names the field's path and the line and column where it is.
//!
//! Scalars resolve as in YAML 1.2's core schema: only plain (unquoted) scalars can be null, a bool or a
//! number; any scalar can be read as a string.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};

use crate::field_path::FieldPath;
use crate::yaml_tree::{Node, NodeKind, Pos};

/// A deserialization error with the place it happened, once known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeError {
    pub message: String,
    pub at: Option<(Pos, FieldPath)>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self {
            message: msg.to_string(),
            at: None,
        }
    }
}

/// Deserializes a `T` from a document's root node.
pub(crate) fn from_node<'de, T: de::Deserialize<'de>>(node: &'de Node) -> Result<T, DeError> {
    T::deserialize(NodeDeserializer {
        node,
        path: FieldPath::root(),
    })
}

/// A plain scalar's meaning under the core schema.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Plain<'a> {
    Null,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Str(&'a str),
}

fn resolve(text: &str) -> Plain<'_> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Plain::Null,
        "true" | "True" | "TRUE" => return Plain::Bool(true),
        "false" | "False" | "FALSE" => return Plain::Bool(false),
        _ => {}
    }
    if let Some(value) = resolve_integer(text) {
        return value;
    }
    let looks_numeric = text
        .trim_start_matches(['-', '+'])
        .starts_with(|c: char| c.is_ascii_digit() || c == '.');
    match text.parse::<f64>() {
        Ok(value) if looks_numeric => Plain::Float(value),
        _ => Plain::Str(text),
    }
}

fn resolve_integer(text: &str) -> Option<Plain<'_>> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude = if let Some(hex) = digits.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()?
    } else if let Some(octal) = digits.strip_prefix("0o") {
        u64::from_str_radix(octal, 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse::<u64>().ok()?
    } else {
        return None;
    };
    if !negative {
        return Some(Plain::Unsigned(magnitude));
    }
    let signed = i64::try_from(magnitude)
        .ok()
        .and_then(i64::checked_neg)
        .or_else(|| {
            // i64::MIN has no positive counterpart.
            (magnitude == i64::MIN.unsigned_abs()).then_some(i64::MIN)
        })?;
    Some(Plain::Signed(signed))
}

fn plain_unexpected(plain: Plain<'_>) -> Unexpected<'_> {
    match plain {
        Plain::Null => Unexpected::Unit,
        Plain::Bool(b) => Unexpected::Bool(b),
        Plain::Unsigned(n) => Unexpected::Unsigned(n),
        Plain::Signed(n) => Unexpected::Signed(n),
        Plain::Float(n) => Unexpected::Float(n),
        Plain::Str(s) => Unexpected::Str(s),
    }
}

struct NodeDeserializer<'de> {
    node: &'de Node,
    path: FieldPath,
}

impl<'de> NodeDeserializer<'de> {
    /// The scalar's meaning; quoted scalars are always strings.
    fn plain(&self) -> Option<Plain<'de>> {
        match &self.node.kind {
            NodeKind::Scalar { text, plain: true } => Some(resolve(text)),
            NodeKind::Scalar { text, plain: false } => Some(Plain::Str(text)),
            _ => None,
        }
    }

    fn unexpected(&self) -> Unexpected<'de> {
        match (&self.node.kind, self.plain()) {
            (NodeKind::Seq(_), _) => Unexpected::Seq,
            (NodeKind::Map(_), _) => Unexpected::Map,
            (_, Some(plain)) => plain_unexpected(plain),
            (_, None) => Unexpected::Other("node"),
        }
    }

    fn invalid_type<V: Visitor<'de>>(&self, visitor: &V) -> DeError {
        de::Error::invalid_type(self.unexpected(), visitor)
    }

    /// Runs `f` and gives its error this node's place unless a deeper node already did.
    fn located<T>(self, f: impl FnOnce(Self) -> Result<T, DeError>) -> Result<T, DeError> {
        let pos = self.node.pos;
        let path = self.path.clone();
        f(self).map_err(|mut error| {
            error.at.get_or_insert((pos, path));
            error
        })
    }

    fn visit_plain<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.plain() {
            Some(Plain::Null) => visitor.visit_unit(),
            Some(Plain::Bool(b)) => visitor.visit_bool(b),
            Some(Plain::Unsigned(n)) => visitor.visit_u64(n),
            Some(Plain::Signed(n)) => visitor.visit_i64(n),
            Some(Plain::Float(n)) => visitor.visit_f64(n),
            Some(Plain::Str(_)) | None => self.visit_text(visitor),
        }
    }

    fn visit_text<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Scalar { text, .. } => visitor.visit_borrowed_str(text),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn visit_number<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.plain() {
            Some(Plain::Unsigned(n)) => visitor.visit_u64(n),
            Some(Plain::Signed(n)) => visitor.visit_i64(n),
            Some(Plain::Float(n)) => visitor.visit_f64(n),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn visit_collection<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Seq(items) => visitor.visit_seq(SeqReader {
                items: items.iter(),
                index: 0,
                path: self.path,
            }),
            NodeKind::Map(entries) => visitor.visit_map(MapReader {
                entries: entries.iter(),
                value: None,
                path: self.path,
            }),
            NodeKind::Scalar { .. } => self.visit_plain(visitor),
        }
    }
}

macro_rules! forward_numbers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            self.located(|d| d.visit_number(visitor))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'de> {
    type Error = DeError;

    forward_numbers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.located(|d| d.visit_collection(visitor))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.located(|d| match d.plain() {
            Some(Plain::Bool(b)) => visitor.visit_bool(b),
            _ => Err(d.invalid_type(&visitor)),
        })
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.located(|d| d.visit_text(visitor))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.located(|d| d.visit_text(visitor))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.located(|d| d.visit_text(visitor))
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.located(|d| d.visit_collection(visitor))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.located(|d| d.visit_collection(visitor))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.plain() {
            Some(Plain::Null) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.located(|d| match d.plain() {
            Some(Plain::Null) => visitor.visit_unit(),
            _ => Err(d.invalid_type(&visitor)),
        })
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.located(|d| match d.node.kind {
            NodeKind::Seq(_) => d.visit_collection(visitor),
            _ => Err(d.invalid_type(&visitor)),
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.located(|d| match d.node.kind {
            NodeKind::Map(_) => d.visit_collection(visitor),
            _ => Err(d.invalid_type(&visitor)),
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        // Only unit variants, written as a plain string (`log_level: notice`).
        self.located(|d| match &d.node.kind {
            NodeKind::Scalar { text, .. } => visitor.visit_enum(
                IntoDeserializer::<DeError>::into_deserializer(text.as_str()),
            ),
            _ => Err(d.invalid_type(&visitor)),
        })
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.located(|d| d.visit_text(visitor))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct SeqReader<'de> {
    items: std::slice::Iter<'de, Node>,
    index: usize,
    path: FieldPath,
}

impl<'de> de::SeqAccess<'de> for SeqReader<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(node) = self.items.next() else {
            return Ok(None);
        };
        let path = self.path.index(self.index);
        self.index += 1;
        seed.deserialize(NodeDeserializer { node, path }).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapReader<'de> {
    entries: std::slice::Iter<'de, (Node, Node)>,
    /// The value of the entry whose key was just read, and that entry's path.
    value: Option<(&'de Node, FieldPath)>,
    path: FieldPath,
}

impl<'de> de::MapAccess<'de> for MapReader<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let path = self.path.key(key.scalar_text().unwrap_or("?"));
        self.value = Some((value, path.clone()));
        seed.deserialize(NodeDeserializer { node: key, path })
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some((node, path)) => seed.deserialize(NodeDeserializer { node, path }),
            None => Err(de::Error::custom("a mapping value was read before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;
    use crate::yaml_tree::parse_document;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        n: u8,
        #[serde(default)]
        flag: bool,
        text: Option<String>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        items: Vec<Inner>,
        #[serde(default)]
        map: BTreeMap<u16, i32>,
        #[serde(default)]
        level: Option<Level>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Level {
        Low,
        High,
    }

    fn read<T: for<'a> Deserialize<'a>>(text: &str) -> Result<T, DeError> {
        from_node(&parse_document(text).unwrap().unwrap())
    }

    fn error_at(text: &str) -> (String, usize, usize, String) {
        let error = read::<Outer>(text).unwrap_err();
        let (pos, path) = error.at.clone().unwrap();
        (error.message, pos.line, pos.column, path.to_string())
    }

    #[test]
    fn reads_structs_sequences_maps_options_and_enums() {
        let outer: Outer = read("items:\n  - n: 0x10\n    text: '5'\n  - {n: 7, flag: true, text: ~}\nmap: {1: -3, 2: +4}\nlevel: high\n").unwrap();
        assert_eq!(
            outer,
            Outer {
                items: vec![
                    Inner {
                        n: 16,
                        flag: false,
                        text: Some("5".into())
                    },
                    Inner {
                        n: 7,
                        flag: true,
                        text: None
                    },
                ],
                map: BTreeMap::from([(1, -3), (2, 4)]),
                level: Some(Level::High),
            }
        );
    }

    #[test]
    fn plain_numbers_can_be_read_as_strings_but_quoted_ones_not_as_numbers() {
        let inner: Inner = read("n: 1\ntext: 42\n").unwrap();
        assert_eq!(inner.text.as_deref(), Some("42"));
        let error = read::<Inner>("n: '1'\n").unwrap_err();
        assert_eq!(error.message, "invalid type: string \"1\", expected u8");
    }

    #[test]
    fn wrong_type_names_the_field_and_its_place() {
        let (message, line, column, path) = error_at("items:\n  - n: 7\n  - n: [1]\n");
        assert_eq!((line, column, path.as_str()), (3, 8, "items[1].n"));
        assert_eq!(message, "invalid type: sequence, expected u8");
    }

    #[test]
    fn out_of_range_number_is_invalid_value() {
        let (message, line, column, path) = error_at("items:\n  - n: 300\n");
        assert_eq!((line, column, path.as_str()), (2, 8, "items[0].n"));
        assert_eq!(message, "invalid value: integer `300`, expected u8");
    }

    #[test]
    fn unknown_field_points_at_the_key() {
        let (message, line, column, path) = error_at("items:\n  - n: 1\n    colour: red\n");
        assert_eq!((line, column, path.as_str()), (3, 5, "items[0].colour"));
        assert_eq!(
            message,
            "unknown field `colour`, expected one of `n`, `flag`, `text`"
        );
    }

    #[test]
    fn missing_field_points_at_the_mapping() {
        let (message, line, column, path) = error_at("items:\n  - flag: true\n");
        assert_eq!((line, column, path.as_str()), (2, 5, "items[0]"));
        assert_eq!(message, "missing field `n`");
    }

    #[test]
    fn bad_enum_value_lists_the_allowed_ones() {
        let (message, line, _, path) = error_at("items: []\nlevel: medium\n");
        assert_eq!((line, path.as_str()), (2, "level"));
        assert_eq!(
            message,
            "unknown variant `medium`, expected `low` or `high`"
        );
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let (message, line, _, path) = error_at("items: []\nitems: []\n");
        assert_eq!(message, "duplicate field `items`");
        assert_eq!((line, path.as_str()), (1, ""));
    }

    #[test]
    fn core_schema_resolution() {
        assert_eq!(resolve("~"), Plain::Null);
        assert_eq!(resolve("False"), Plain::Bool(false));
        assert_eq!(resolve("0o17"), Plain::Unsigned(15));
        assert_eq!(resolve("-9223372036854775808"), Plain::Signed(i64::MIN));
        assert_eq!(
            resolve("-9223372036854775809"),
            Plain::Float(-9_223_372_036_854_775_809.0)
        );
        assert_eq!(resolve("1.5"), Plain::Float(1.5));
        assert_eq!(resolve("inf"), Plain::Str("inf"));
        assert_eq!(resolve("198.18.0.1/24"), Plain::Str("198.18.0.1/24"));
        assert_eq!(resolve("0x"), Plain::Str("0x"));
    }
}
