//! One item of a request's history (a chat message, an Anthropic message, a Responses input
//! item) as the body parser reads it: a JSON tree whose strings borrow from the body (issue
//! 17, item 2).
//!
//! A [`Value`] of an item costs a `BTreeMap` per object, a `String` per key and per string,
//! all built and then dropped: about a third of parsing an agent's 300 KB body. [`Json`]
//! keeps an object as one vector of its fields in body order, and every key and string
//! without an escape as a slice of the body, so the common item builds one or two vectors
//! and no string; its text is copied once, from the body into the message. The parsers read
//! the common shapes from it directly and hand anything else to their [`Value`] readers
//! through [`Json::into_value`], which is the `Value` serde_json would have built: the same
//! errors, worded by the same code. Repeated keys are kept, and every lookup takes the last
//! one, as a `Value` keeps the last. Serialized, a [`Json`] is the text its `Value` would be
//! (keys sorted, the last of a repeated key), so an Anthropic `tool_use` input becomes its
//! call's arguments without a `Value` either.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// A JSON value whose strings and keys borrow from the body when they have no escapes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'de> {
    /// `null`, `true`/`false` or a number: as serde_json reads them (none allocates).
    Scalar(Value),
    Str(Cow<'de, str>),
    Array(Vec<Json<'de>>),
    /// The fields in body order, repeated keys included.
    Object(Vec<(Cow<'de, str>, Json<'de>)>),
}

impl<'de> Json<'de> {
    /// The `Value` serde_json reads from the same text.
    pub(crate) fn into_value(self) -> Value {
        match self {
            Json::Scalar(v) => v,
            Json::Str(s) => Value::String(s.into_owned()),
            Json::Array(items) => Value::Array(items.into_iter().map(Json::into_value).collect()),
            Json::Object(fields) => {
                // In order, so that a repeated key ends as the last one, as in serde_json.
                let mut map = Map::new();
                for (k, v) in fields {
                    map.insert(k.into_owned(), v.into_value());
                }
                Value::Object(map)
            }
        }
    }

    /// The fields of an object.
    pub(crate) fn as_object(&self) -> Option<&[(Cow<'de, str>, Json<'de>)]> {
        match self {
            Json::Object(fields) => Some(fields),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Json::Scalar(Value::Null))
    }

    /// The string, moved out (copied from the body when it borrows from it).
    pub(crate) fn into_string(self) -> Option<String> {
        match self {
            Json::Str(s) => Some(s.into_owned()),
            _ => None,
        }
    }
}

/// Field `key` of `fields`, the last when it is repeated, unless it is missing or `null`
/// (the parsers' `present`).
pub(crate) fn present<'a, 'de>(
    fields: &'a [(Cow<'de, str>, Json<'de>)],
    key: &str,
) -> Option<&'a Json<'de>> {
    fields
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

/// Field `key` taken out of `fields` (the last when it is repeated), unless it is missing or
/// `null`.
pub(crate) fn take<'de>(
    fields: &mut Vec<(Cow<'de, str>, Json<'de>)>,
    key: &str,
) -> Option<Json<'de>> {
    let at = fields.iter().rposition(|(k, _)| k == key)?;
    // `remove`, not `swap_remove`: the order of the other fields decides which of a repeated
    // key is the last.
    Some(fields.remove(at).1).filter(|v| !v.is_null())
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Scalar(v) => v.serialize(s),
            Json::Str(text) => s.serialize_str(text),
            Json::Array(items) => s.collect_seq(items),
            Json::Object(fields) => {
                // As a `Value`'s map (a `BTreeMap`): keys in order, the last of a repeated key
                // (the sort is stable, so repeated keys keep their body order).
                let mut sorted: Vec<&(Cow<'_, str>, Json<'_>)> = fields.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                let mut map = s.serialize_map(None)?;
                for (i, (key, value)) in sorted.iter().map(|f| (&f.0, &f.1)).enumerate() {
                    if sorted.get(i + 1).is_some_and(|next| next.0 == *key) {
                        continue;
                    }
                    map.serialize_entry(key.as_ref(), value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Scalar(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Scalar(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Json::Scalar(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // As serde_json's own `Value` visitor: a non-finite number is `null`.
        Ok(Json::Scalar(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Json::Scalar(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Json::Scalar(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        Json::deserialize(de)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(4));
        while let Some(key) = map.next_key::<Key<'de>>()? {
            fields.push((key.0, map.next_value()?));
        }
        Ok(Json::Object(fields))
    }
}

/// An object key, borrowed from the body when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Json<'_> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn into_value_and_its_text_are_what_serde_json_reads() {
        for text in [
            r#"{"a": 1, "b": [true, false, null, -1, 1.5, -0, 1e300, 18446744073709551615, -9223372036854775808], "c": {"d": "e"}}"#,
            r#"{"k": 1, "k": "last", "j": {"x": 1, "x": 2}}"#,
            r#"{"b": 1, "a": 2, "b": 3, "B": 4, "": 5, "aa": 6, "é": 7, "z": 8}"#,
            r#"{"\u0041\n": "esc \"q\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00", "é😀": "raw"}"#,
            r#"[[], {}, "", [[[1]]]]"#,
            r#""s""#,
            "0",
            "null",
        ] {
            let want: Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                serde_json::to_string(&read(text)).unwrap(),
                want.to_string(),
                "{text}"
            );
            assert_eq!(read(text).into_value(), want, "{text}");
        }
    }

    #[test]
    fn strings_without_escapes_borrow_from_the_body() {
        let json = read(r#"{"plain": "text", "esc\u0061ped": "a\nb"}"#);
        let fields = json.as_object().unwrap();
        assert!(matches!(fields[0].0, Cow::Borrowed("plain")));
        assert!(matches!(fields[0].1, Json::Str(Cow::Borrowed("text"))));
        assert!(matches!(&fields[1].0, Cow::Owned(k) if k == "escaped"));
        assert!(matches!(&fields[1].1, Json::Str(Cow::Owned(s)) if s == "a\nb"));
    }

    #[test]
    fn the_last_of_a_repeated_key_counts() {
        let Json::Object(mut fields) = read(r#"{"a": 1, "b": "x", "a": null, "b": "y", "c": 2}"#)
        else {
            panic!("an object");
        };
        assert_eq!(present(&fields, "a"), None, "null is absent");
        assert_eq!(present(&fields, "b").and_then(Json::as_str), Some("y"));
        assert_eq!(
            take(&mut fields, "b")
                .and_then(Json::into_string)
                .as_deref(),
            Some("y")
        );
        assert_eq!(take(&mut fields, "c"), Some(Json::Scalar(Value::from(2))));
        assert_eq!(take(&mut fields, "a"), None);
        assert_eq!(present(&fields, "missing"), None);
        // Taking a field keeps the order of the rest, so the last of a repeated key stays last.
        let Json::Object(mut fields) = read(r#"{"b": "x", "a": 1, "a": 2}"#) else {
            panic!("an object");
        };
        assert!(take(&mut fields, "b").is_some());
        assert_eq!(present(&fields, "a"), Some(&Json::Scalar(Value::from(2))));
    }
}
