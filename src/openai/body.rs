//! A request body read as a JSON object whose one long array (a chat's `messages`, an
//! Anthropic request's `messages`, a Responses request's `input`) is turned into its final
//! form item by item, as it is parsed (issue 18, finding 12).
//!
//! Parsing the whole body into a [`Value`] first costs far more than the body itself: every
//! message becomes a map of its own (about 600 bytes for `{"role", "content"}`), so a
//! 100,000-message request (3.9 MB) held a 63 MB tree beside the body and the messages made
//! from it. Here each item is a `Value` only while `item` reads it, so what is alive at once
//! is the body, one item's tree, and the items made so far. `item` owns the item, so it can
//! move its strings into what it makes: the text of a history is copied once, from the body
//! into the messages (issue 17). Every other field is parsed into the [`Object`] as before,
//! so the usual validators read it; the array field is left out of it when it was an array
//! (and kept when it was anything else, for the caller to refuse by its type). After the
//! first item `item` refuses, the rest are only checked to be JSON. The item type is the
//! caller's: the history parsers take a [`super::item::Json`], whose strings borrow from the
//! body, so the common item builds no `Value` at all (issue 17, item 2).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::params::Object;

/// The items of the array field as `item` made them, or the first refusal.
pub(crate) type Items<T, R> = Result<Vec<T>, R>;

/// The other fields, and the items when the field was an array.
pub(crate) type Parsed<T, R> = (Object, Option<Items<T, R>>);

/// Parses `body`, a JSON object, turning each item of its array field `field`, read as an
/// `I`, into a `T` with `item(index, value)`, or refusing it with an `R`. Returns the other
/// fields, and the items when `field` was an array. `Err` is a body that is not JSON, or not
/// an object (`None` then: the caller reads it as a [`Value`] to say what it is).
pub(crate) fn parse_object<'de, I: Deserialize<'de>, T, R>(
    body: &'de [u8],
    field: &str,
    item: impl FnMut(usize, I) -> Result<T, R>,
) -> Result<Parsed<T, R>, Option<serde_json::Error>> {
    let starts_object = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{');
    if !starts_object {
        return Err(None);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = de
        .deserialize_map(Top {
            field,
            item,
            read: std::marker::PhantomData,
        })
        .map_err(Some)?;
    de.end().map_err(Some)?;
    Ok(parsed)
}

/// The top-level object; its array field's items are read as `I`s.
struct Top<'f, F, I> {
    field: &'f str,
    item: F,
    read: std::marker::PhantomData<fn() -> I>,
}

impl<'de, T, R, F, I> Visitor<'de> for Top<'_, F, I>
where
    F: FnMut(usize, I) -> Result<T, R>,
    I: Deserialize<'de>,
{
    type Value = Parsed<T, R>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut obj = Object::new();
        let mut items = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != self.field {
                let value: Value = map.next_value()?;
                obj.insert(key, value);
                continue;
            }
            // A repeated key: the last one counts, as it would in a `Value`.
            match map.next_value_seed(Field {
                item: &mut self.item,
                read: self.read,
            })? {
                Either::Items(made) => {
                    obj.remove(&key);
                    items = Some(made);
                }
                Either::Other(value) => {
                    items = None;
                    obj.insert(key, value);
                }
            }
        }
        Ok((obj, items))
    }
}

/// The array field: its items made one by one, or any other value as it is.
struct Field<'a, F, I> {
    item: &'a mut F,
    read: std::marker::PhantomData<fn() -> I>,
}

enum Either<T, R> {
    Items(Items<T, R>),
    Other(Value),
}

impl<'de, T, R, F, I> DeserializeSeed<'de> for Field<'_, F, I>
where
    F: FnMut(usize, I) -> Result<T, R>,
    I: Deserialize<'de>,
{
    type Value = Either<T, R>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de, T, R, F, I> Visitor<'de> for Field<'_, F, I>
where
    F: FnMut(usize, I) -> Result<T, R>,
    I: Deserialize<'de>,
{
    type Value = Either<T, R>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut made = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let mut index = 0;
        while let Some(value) = seq.next_element::<I>()? {
            match (self.item)(index, value) {
                Ok(item) => made.push(item),
                Err(refused) => {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    return Ok(Either::Items(Err(refused)));
                }
            }
            index += 1;
        }
        made.shrink_to_fit();
        Ok(Either::Items(Ok(made)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let value = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Either::Other(value))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Either::Other(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Either::Other(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Either::Other(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Either::Other(Value::from(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Either::Other(Value::String(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Either::Other(Value::String(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Either::Other(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Either::Other(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::InvalidRequest;

    fn words(body: &str) -> Result<Parsed<String, InvalidRequest>, &'static str> {
        parse_object(body.as_bytes(), "items", |i, v: Value| match v {
            Value::String(s) if s != "bad" => Ok(format!("{i}:{s}")),
            _ => Err(InvalidRequest::at(format!("items[{i}]"), "refused")),
        })
        .map_err(|e| if e.is_some() { "not JSON" } else { "no object" })
    }

    #[test]
    fn items_are_made_one_by_one_and_the_rest_stays_an_object() {
        let (obj, items) = words(r#" {"a": 1, "items": ["x", "y"], "b": {"c": [true]}} "#).unwrap();
        assert_eq!(items.unwrap().unwrap(), ["0:x", "1:y"]);
        assert_eq!(
            Value::Object(obj),
            serde_json::json!({"a": 1, "b": {"c": [true]}})
        );
    }

    #[test]
    fn the_first_refusal_wins_and_the_rest_must_still_be_json() {
        let (_, items) = words(r#"{"items": ["x", "bad", 3, "bad"]}"#).unwrap();
        assert_eq!(
            items.unwrap().unwrap_err().param.as_deref(),
            Some("items[1]")
        );
        assert_eq!(
            words(r#"{"items": ["x", "bad", nope]}"#).unwrap_err(),
            "not JSON"
        );
    }

    #[test]
    fn a_field_that_is_no_array_is_kept_for_the_caller() {
        for other in [
            "\"text\"",
            "null",
            "3",
            "-1",
            "1.5",
            "true",
            r#"{"k": "v"}"#,
        ] {
            let (obj, items) = words(&format!(r#"{{"items": {other}}}"#)).unwrap();
            assert!(items.is_none(), "{other}");
            let want: Value = serde_json::from_str(other).unwrap();
            assert_eq!(obj["items"], want, "{other}");
        }
        let (obj, items) = words(r#"{"items": ["x"], "items": "last wins"}"#).unwrap();
        assert!(items.is_none());
        assert_eq!(obj["items"], "last wins");
        let (obj, items) = words(r#"{"items": 1, "items": []}"#).unwrap();
        assert_eq!(items.unwrap().unwrap(), Vec::<String>::new());
        assert!(obj.is_empty());
    }

    #[test]
    fn not_an_object_or_not_json() {
        assert_eq!(words("[1]").unwrap_err(), "no object");
        assert_eq!(words(" \"s\"").unwrap_err(), "no object");
        assert_eq!(words("").unwrap_err(), "no object");
        assert_eq!(words("{\"a\": 1} trailing").unwrap_err(), "not JSON");
        assert_eq!(words("{\"a\": ").unwrap_err(), "not JSON");
        let deep = format!("{{\"a\": {}{}}}", "[".repeat(200), "]".repeat(200));
        assert_eq!(
            words(&deep).unwrap_err(),
            "not JSON",
            "the recursion limit holds"
        );
    }
}
