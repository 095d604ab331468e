//! Serde support for types written as text in the config (prefixes, PCI addresses): serialized with
//! `Display`, deserialized with `FromStr`, whose error becomes the message.

/// Implements `Serialize` and `Deserialize` for `$ty` through its `Display` and `FromStr`.
macro_rules! serde_as_text {
    ($ty:ty, $expecting:literal) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct TextVisitor;

                impl serde::de::Visitor<'_> for TextVisitor {
                    type Value = $ty;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }

                    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<$ty, E> {
                        text.parse()
                            .map_err(|e| E::custom(format_args!("{text:?}: {e}")))
                    }
                }

                deserializer.deserialize_str(TextVisitor)
            }
        }
    };
}

pub(crate) use serde_as_text;
