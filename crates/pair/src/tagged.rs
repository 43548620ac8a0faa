//! Internally tagged enums (`{"type": "ping", "req": 1}`) deserialized
//! without buffering.
//!
//! serde's derive for `#[serde(tag = "...")]` first copies the whole object
//! into a private `Content` tree (the tag may come last), then deserializes
//! the variant from that copy: every field type gets a second deserializer
//! (for `Content`), which in the device's wasm module was half of all
//! deserialization code. Our serializers always write the tag first, so
//! [`internally_tagged!`](crate::internally_tagged) reads the tag as the
//! first key and streams the rest of the object straight into the variant's
//! fields.
//!
//! What devices read (relay frames, handshake and group messages, their own
//! state) is written only by Tandem's own code, which puts the tag first:
//! there an object whose tag is not its first key is refused (one encoding
//! per message, and no second parser in the device's module). What the
//! relay reads from clients it does not control (`ClientFrame`) is declared
//! `any_order`: an object whose tag comes later is still read, by a slower
//! path that copies the object as raw JSON text with the tag moved first and
//! parses that (serde_json only, as every input of this workspace).
//!
//! The error messages are serde's: `missing field \`type\``, `unknown
//! variant \`x\`, expected one of …`, `unknown field \`x\`, expected …`
//! (where the enum denies unknown fields), `duplicate field \`type\``, plus
//! `` expected `type` as the object's first key `` for the strict form.
//! Unlike serde's derive, a JSON array in place of the object is refused
//! (`invalid type: sequence, expected internally tagged enum …`): nothing
//! writes that form.
//!
//! The serialization is serde's derive itself, so the bytes written are
//! exactly what `#[serde(tag = "...")]` writes.

use core::fmt;
use core::marker::PhantomData;

use serde::de::{
    self, Deserialize, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny,
    MapAccess, VariantAccess, Visitor,
};

/// Defines an internally tagged enum: `#[derive(Serialize)]` with
/// `#[serde(tag = $tag, ...)]`, and a `Deserialize` that reads the tag
/// first (see [the module](crate::tagged)). The serde attributes in
/// `serde(...)` (container) apply to both directions, as do field and
/// variant attributes. Only unit and struct variants are supported.
/// Objects whose tag is not the first key are refused, unless the
/// definition starts with `any_order` (for input from other programs).
///
/// ```
/// tandem_pair::internally_tagged! {
///     #[serde(tag = "kind")]
///     #[serde(rename_all = "snake_case", deny_unknown_fields)]
///     /// An example.
///     #[derive(Debug, PartialEq)]
///     pub enum Example {
///         /// A unit variant.
///         Nothing,
///         /// A struct variant.
///         Something {
///             /// A field.
///             #[serde(default)]
///             n: u32,
///         },
///     }
/// }
/// let e: Example = serde_json::from_str(r#"{"kind":"something","n":3}"#).unwrap();
/// assert_eq!(e, Example::Something { n: 3 });
/// assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"kind":"something","n":3}"#);
/// let later = serde_json::from_str::<Example>(r#"{"n":3,"kind":"something"}"#);
/// assert!(later.unwrap_err().to_string().starts_with("expected `kind` as the object's first key"));
/// ```
#[macro_export]
macro_rules! internally_tagged {
    (any_order $($def:tt)*) => {
        $crate::internally_tagged! { @reader deserialize_any_order $($def)* }
    };
    (#[serde(tag = $tag:literal)] $($def:tt)*) => {
        $crate::internally_tagged! { @reader deserialize #[serde(tag = $tag)] $($def)* }
    };
    (
        @reader $reader:ident
        #[serde(tag = $tag:literal)]
        #[serde($($serde:tt)*)]
        $(#[$attr:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vattr:meta])*
                $variant:ident $({
                    $(
                        $(#[$fattr:meta])*
                        $field:ident : $ty:ty
                    ),* $(,)?
                })?
            ),* $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(serde::Serialize)]
        #[serde(tag = $tag, $($serde)*)]
        $vis enum $name {
            $(
                $(#[$vattr])*
                $variant $({
                    $(
                        $(#[$fattr])*
                        $field: $ty
                    ),*
                })?
            ),*
        }

        const _: () = {
            // The same enum, externally tagged: serde's derive then reads
            // the variant name through `EnumAccess`, which
            // `tagged::deserialize` feeds from the tag.
            #[derive(serde::Deserialize)]
            #[serde($($serde)*)]
            #[allow(clippy::large_enum_variant, dead_code)]
            enum Shadow {
                $(
                    $(#[$vattr])*
                    $variant $({
                        $(
                            $(#[$fattr])*
                            $field: $ty
                        ),*
                    })?
                ),*
            }

            impl<'de> serde::Deserialize<'de> for $name {
                fn deserialize<D: serde::Deserializer<'de>>(
                    d: D,
                ) -> core::result::Result<Self, D::Error> {
                    let v: Shadow = $crate::tagged::$reader(
                        d,
                        $tag,
                        concat!("internally tagged enum ", stringify!($name)),
                    )?;
                    Ok(match v {
                        $(
                            Shadow::$variant $({ $($field),* })? =>
                                $name::$variant $({ $($field),* })?,
                        )*
                    })
                }
            }
        };
    };
}

/// Deserializes `T` (an externally tagged enum, as serde derives it) from an
/// internally tagged object whose tag, named `tag`, is its first key.
/// `expecting` is the type's description in errors. Used by
/// [`internally_tagged!`](crate::internally_tagged).
#[doc(hidden)]
pub fn deserialize<'de, T, D>(
    d: D,
    tag: &'static str,
    expecting: &'static str,
) -> Result<T, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    T::deserialize(TagFirst::<D, false> {
        inner: d,
        tag,
        expecting,
        reordered: &mut None,
    })
}

/// As [`deserialize`], but the tag may be any key of the object. Used by
/// [`internally_tagged!`](crate::internally_tagged) for `any_order` enums.
#[doc(hidden)]
pub fn deserialize_any_order<'de, T, D>(
    d: D,
    tag: &'static str,
    expecting: &'static str,
) -> Result<T, D::Error>
where
    T: DeserializeOwned,
    D: Deserializer<'de>,
{
    let mut reordered = None;
    match T::deserialize(TagFirst::<D, true> {
        inner: d,
        tag,
        expecting,
        reordered: &mut reordered,
    }) {
        Err(e) => match reordered {
            // The tag came later: parse the copy with the tag moved first.
            Some(text) => reparse(&text, tag, expecting).map_err(de::Error::custom),
            None => Err(e),
        },
        ok => ok,
    }
}

fn reparse<T: DeserializeOwned>(
    text: &str,
    tag: &'static str,
    expecting: &'static str,
) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    let v = T::deserialize(TagFirst::<_, false> {
        inner: &mut de,
        tag,
        expecting,
        reordered: &mut None,
    })?;
    de.end()?;
    Ok(v)
}

/// A deserializer that offers `inner`'s next object as an externally tagged
/// enum: variant = the tag's value, content = the other fields. An object
/// whose tag is not its first key is refused, or (`ANY_ORDER`) copied into
/// `reordered` with the tag moved first (and an error returned).
struct TagFirst<'r, D, const ANY_ORDER: bool> {
    inner: D,
    tag: &'static str,
    expecting: &'static str,
    reordered: &'r mut Option<String>,
}

impl<'de, D: Deserializer<'de>, const ANY_ORDER: bool> Deserializer<'de>
    for TagFirst<'_, D, ANY_ORDER>
{
    type Error = D::Error;

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(TagVisitor::<V, ANY_ORDER> {
            visitor,
            tag: self.tag,
            expecting: self.expecting,
            reordered: self.reordered,
        })
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, D::Error> {
        Err(de::Error::custom(
            "internally tagged enums are read as enums",
        ))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

struct TagVisitor<'r, V, const ANY_ORDER: bool> {
    visitor: V,
    tag: &'static str,
    expecting: &'static str,
    reordered: &'r mut Option<String>,
}

impl<'de, V: Visitor<'de>, const ANY_ORDER: bool> Visitor<'de> for TagVisitor<'_, V, ANY_ORDER> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V::Value, A::Error> {
        match map.next_key_seed(Key {
            tag: self.tag,
            seed: PhantomData::<String>,
        })? {
            None => Err(de::Error::missing_field(self.tag)),
            Some(None) => self.visitor.visit_enum(Variant { map, tag: self.tag }),
            Some(Some(first)) if ANY_ORDER => {
                *self.reordered = Some(tag_first(map, self.tag, first)?);
                Err(de::Error::custom("the tag is not the first field"))
            }
            Some(Some(_)) => Err(de::Error::custom(format_args!(
                "expected `{}` as the object's first key",
                self.tag
            ))),
        }
    }
}

/// Copies the rest of an object whose first key (`first`) is not the tag
/// into JSON text with the tag first and every other entry after it, in
/// order, byte for byte (duplicates included, so they are still refused).
fn tag_first<'de, A: MapAccess<'de>>(
    mut map: A,
    tag: &'static str,
    first: String,
) -> Result<String, A::Error> {
    let mut tag_value: Option<Box<serde_json::value::RawValue>> = None;
    let mut rest = String::new();
    let mut key = Some(first);
    loop {
        let k = match key.take() {
            Some(k) => Some(k),
            None => map.next_key::<String>()?,
        };
        let Some(k) = k else { break };
        let v: Box<serde_json::value::RawValue> = map.next_value()?;
        if k == tag {
            if tag_value.is_some() {
                return Err(de::Error::duplicate_field(tag));
            }
            tag_value = Some(v);
        } else {
            rest.push(',');
            rest.push_str(&json_string(&k));
            rest.push(':');
            rest.push_str(v.get());
        }
    }
    let Some(t) = tag_value else {
        return Err(de::Error::missing_field(tag));
    };
    Ok(format!("{{{}:{}{}}}", json_string(tag), t.get(), rest))
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Reads a map key: `None` if it is the tag, else `seed`'s value for it.
struct Key<S> {
    tag: &'static str,
    seed: S,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Key<S> {
    type Value = Option<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Key<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v == self.tag {
            return Ok(None);
        }
        self.seed
            .deserialize(de::value::StrDeserializer::<E>::new(v))
            .map(Some)
    }
}

/// The variant: its name is the tag's value, its fields the rest of the map.
struct Variant<A> {
    map: A,
    tag: &'static str,
}

impl<'de, A: MapAccess<'de>> EnumAccess<'de> for Variant<A> {
    type Error = A::Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(
        mut self,
        seed: S,
    ) -> Result<(S::Value, Self), A::Error> {
        let v = self.map.next_value_seed(seed)?;
        Ok((v, self))
    }
}

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for Variant<A> {
    type Error = A::Error;

    /// Other fields are ignored, as serde's derive does for unit variants
    /// (even with `deny_unknown_fields`); a second tag is refused.
    fn unit_variant(self) -> Result<(), A::Error> {
        let mut rest = self;
        while rest.next_key::<IgnoredAny>()?.is_some() {
            rest.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, _seed: S) -> Result<S::Value, A::Error> {
        Err(de::Error::custom(
            "newtype variants are not internally tagged here",
        ))
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value, A::Error> {
        Err(de::Error::custom(
            "tuple variants are not internally tagged here",
        ))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_map(self)
    }
}

/// The variant's fields: the rest of the object, refusing a second tag.
impl<'de, A: MapAccess<'de>> MapAccess<'de> for Variant<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.map.next_key_seed(Key {
            tag: self.tag,
            seed,
        })? {
            None => Ok(None),
            Some(None) => Err(de::Error::duplicate_field(self.tag)),
            Some(Some(k)) => Ok(Some(k)),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.map.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    /// The enum under test, strict (`Mine`) and `any_order` (`AnyOrder`).
    macro_rules! under_test {
        ($name:ident $($mode:ident)?) => {
            crate::internally_tagged! {
                $($mode)?
                #[serde(tag = "type")]
                #[serde(rename_all = "snake_case", deny_unknown_fields)]
                /// The enum under test.
                #[derive(Debug, PartialEq)]
                enum $name {
                    /// Unit.
                    Ping,
                    /// Struct.
                    Publish {
                        /// Required.
                        req: u64,
                        /// Optional.
                        #[serde(default)]
                        to: Option<String>,
                    },
                    /// Another struct.
                    Ack {
                        /// Required.
                        id: u64,
                    },
                }
            }
        };
    }
    under_test!(Mine);
    under_test!(AnyOrder any_order);

    crate::internally_tagged! {
        any_order
        #[serde(tag = "kind")]
        #[serde(rename_all = "snake_case")]
        /// Without `deny_unknown_fields`.
        #[derive(Debug, PartialEq)]
        enum Lenient {
            /// Struct.
            Offer {
                /// Required.
                link: String,
            },
        }
    }

    /// What serde's derive makes of the same definitions.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
    enum Theirs {
        Ping,
        Publish {
            req: u64,
            #[serde(default)]
            to: Option<String>,
        },
        Ack {
            id: u64,
        },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum TheirsLenient {
        Offer { link: String },
    }

    /// serde_json's message without its position (which differs: serde's
    /// derive fails after buffering the whole object).
    fn message(e: serde_json::Error) -> String {
        let s = e.to_string();
        s.split(" at line ").next().unwrap_or_default().to_owned()
    }

    fn mine(text: &str) -> Result<String, String> {
        serde_json::from_str::<Mine>(text)
            .map(|v| serde_json::to_string(&v).unwrap())
            .map_err(message)
    }

    fn any_order(text: &str) -> Result<String, String> {
        serde_json::from_str::<AnyOrder>(text)
            .map(|v| serde_json::to_string(&v).unwrap())
            .map_err(|e| message(e).replace("AnyOrder", "Mine"))
    }

    fn theirs(text: &str) -> Result<String, String> {
        serde_json::from_str::<Theirs>(text)
            .map(|v| serde_json::to_string(&v).unwrap())
            .map_err(|e| message(e).replace("Theirs", "Mine"))
    }

    /// Objects whose tag is the first key: what every serializer here writes.
    const TAG_FIRST: &[&str] = &[
        r#"{"type":"ping"}"#,
        r#"{"type":"publish","req":1}"#,
        r#"{"type":"publish","req":1,"to":"group"}"#,
        r#"{"type":"publish","req":1,"to":null}"#,
        r#"{"type":"ack","id":7}"#,
        r#" { "type" : "ack" , "id" : 7 } "#,
        // Unit variants ignore other fields (serde's derive does too).
        r#"{"type":"ping","req":1}"#,
        // Errors.
        r#"{"type":"nope"}"#,
        r#"{"type":"nope","req":1}"#,
        r#"{"type":"publish"}"#,
        r#"{"type":"publish","to":"x"}"#,
        r#"{"type":"publish","req":1,"extra":2}"#,
        r#"{"type":"publish","req":1,"req":2}"#,
        r#"{"type":"ack","id":-1}"#,
        r#"{"type":"ack","id":"7"}"#,
        r#"{"type":"ack","id":1.5}"#,
        r#"{"type":"ping","type":"ping"}"#,
        r#"{"type":"publish","req":1,"type":"publish"}"#,
        r#"{"type":7}"#,
        r#"{"type":null}"#,
        r#"{}"#,
        "null",
        "7",
        r#""ping""#,
        r#"{"type":"ping""#,
        r#"{"type":"ping"}x"#,
    ];

    /// Objects with another key before the tag.
    const TAG_LATER: &[&str] = &[
        r#"{"req":1,"type":"publish"}"#,
        r#"{"to":"a\"b\u00e9","req":2,"type":"publish"}"#,
        r#"{"id":7,"type":"ack"}"#,
        r#"{"x":[1,{"y":2}],"type":"ping"}"#,
        r#"{"req":1,"type":"nope"}"#,
        r#"{"to":"x","type":"publish"}"#,
        r#"{"extra":2,"type":"publish","req":1}"#,
        r#"{"req":1,"type":"publish","req":2}"#,
        r#"{"id":1.5,"type":"ack"}"#,
        r#"{"req":1,"type":"publish","type":"publish"}"#,
        r#"{"req":1}"#,
    ];

    #[test]
    fn same_as_serde_derive_when_the_tag_is_first() {
        for text in TAG_FIRST {
            assert_eq!(mine(text), theirs(text), "{text}");
        }
    }

    #[test]
    fn a_tag_after_another_key_is_refused() {
        for text in TAG_LATER {
            assert_eq!(
                mine(text).unwrap_err(),
                "expected `type` as the object's first key",
                "{text}"
            );
        }
    }

    #[test]
    fn any_order_reads_what_serde_derive_reads() {
        for text in TAG_FIRST.iter().chain(TAG_LATER) {
            assert_eq!(any_order(text), theirs(text), "{text}");
        }
    }

    #[test]
    fn same_as_serde_derive_without_deny_unknown_fields() {
        for text in [
            r#"{"kind":"offer","link":"l"}"#,
            r#"{"kind":"offer","link":"l","more":1}"#,
            r#"{"more":{"a":1},"kind":"offer","link":"l"}"#,
            r#"{"kind":"offer"}"#,
            r#"{"kind":"offer","link":"l","kind":"offer"}"#,
        ] {
            let a = serde_json::from_str::<Lenient>(text)
                .map(|v| serde_json::to_string(&v).unwrap())
                .map_err(message);
            let b = serde_json::from_str::<TheirsLenient>(text)
                .map(|v| serde_json::to_string(&v).unwrap())
                .map_err(message);
            assert_eq!(a, b, "{text}");
        }
    }

    #[test]
    fn clear_errors() {
        let cases = [
            (
                r#"{"type":"nope"}"#,
                "unknown variant `nope`, expected one of `ping`, `publish`, `ack`",
            ),
            (
                r#"{"type":"publish","req":1,"extra":2}"#,
                "unknown field `extra`, expected `req` or `to`",
            ),
            (r#"{"type":"publish","to":"x"}"#, "missing field `req`"),
            (r#"{}"#, "missing field `type`"),
            (r#"{"req":1}"#, "expected `type` as the object's first key"),
            (r#"{"type":"ping","type":"ping"}"#, "duplicate field `type`"),
            (
                "[]",
                "invalid type: sequence, expected internally tagged enum Mine",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(mine(text).unwrap_err(), want, "{text}");
        }
    }

    #[test]
    fn serializes_like_serde_derive() {
        let pairs = [
            (Mine::Ping, Theirs::Ping),
            (
                Mine::Publish {
                    req: 3,
                    to: Some("g".into()),
                },
                Theirs::Publish {
                    req: 3,
                    to: Some("g".into()),
                },
            ),
            (Mine::Ack { id: 9 }, Theirs::Ack { id: 9 }),
        ];
        for (m, t) in pairs {
            assert_eq!(
                serde_json::to_string(&m).unwrap(),
                serde_json::to_string(&t).unwrap()
            );
        }
    }
}
