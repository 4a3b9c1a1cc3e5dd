//! One SSE `data:` payload of a completion, read straight into the few fields the decoder
//! looks at ([`Payload`]), borrowing their text from the payload where it needs no
//! unescaping.
//!
//! Every event of an answer used to become a [`serde_json::Value`] first: a map per object
//! and a `String` per key and per value, about twenty of them for an event that carries a
//! few characters of answer, and the largest part of decoding a stream (docs/BENCHMARKS.md,
//! "Instruction counts"). Here everything the decoder does not read is skipped without being
//! built. The reading is exactly as lenient as the `Value` lookups it replaces
//! (`get(key).and_then(Value::as_str)`, `pointer("/choices/0/delta")`): a field of another
//! type than expected counts as absent, a repeated key's last value counts, and presence is
//! recorded where the decoder asks for it (`response.created`, `choices`, `usage`, the
//! fields of a failure shape). The one difference is for payloads that serde_json would
//! refuse as a whole only because of a part nobody reads (nesting past 128 levels, a
//! number out of range, a lone surrogate escape): their known fields are read, where the
//! `Value` reader dropped the whole event. The property test in `events_tests.rs` holds the
//! decoder built on this to the `Value` one on generated payloads. Kept whole: each visitor
//! reads one level of the same payload under the same leniency rule.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{SearchResult, Usage};

/// What one payload holds, as far as [`super::events::Decoder`] looks.
#[derive(Debug, Default)]
pub(super) struct Payload<'a> {
    /// `response.created` (present with any value); its fields when it is an object.
    pub created: Option<CreatedFields<'a>>,
    /// `response.info` is present.
    pub info: bool,
    /// `choices` is present (with any value).
    pub has_choices: bool,
    /// `choices[0].delta`, when it is an object.
    pub delta: Option<Delta<'a>>,
    /// `usage` is present (with any value).
    pub has_usage: bool,
    /// `usage`, when it is an object.
    pub usage: Option<Usage>,
    /// `response_id`, when it is a string.
    pub response_id: Option<Cow<'a, str>>,
    /// A field that a failure shape uses is present (`error`, `success`, `data`, `ret`,
    /// `requestInfo`, `rgv587_flag`): the payload goes to the classifier, which reads it
    /// whole (it is rare, and the classifier stays the one place that knows those shapes).
    pub may_be_failure: bool,
}

/// The fields of `response.created`.
#[derive(Debug)]
pub(super) struct CreatedFields<'a> {
    pub chat_id: Option<Cow<'a, str>>,
    pub parent_id: Option<Cow<'a, str>>,
    pub response_id: Option<Cow<'a, str>>,
    /// `response_index` is absent, `null`, `"0"` (spaces aside) or the integer 0: the
    /// first candidate, the one the stream follows.
    pub primary: bool,
}

impl Default for CreatedFields<'_> {
    fn default() -> Self {
        CreatedFields {
            chat_id: None,
            parent_id: None,
            response_id: None,
            primary: true,
        }
    }
}

/// The fields of `choices[0].delta`.
#[derive(Debug, Default)]
pub(super) struct Delta<'a> {
    pub phase: Option<Cow<'a, str>>,
    pub content: Option<Cow<'a, str>>,
    pub status: Option<Cow<'a, str>>,
    /// `extra`, when it is an object.
    pub extra: Option<Extra<'a>>,
}

/// The fields of `delta.extra`.
#[derive(Debug, Default)]
pub(super) struct Extra<'a> {
    /// `summary_thought.content`, present with any value (`summary_thought` an object).
    pub summary: Option<Snapshot<'a>>,
    /// `web_search_info`, when it is an array.
    pub search: Option<Vec<SearchResult>>,
}

/// A `summary_thought.content` value.
#[derive(Debug)]
pub(super) enum Snapshot<'a> {
    /// An array: its string items (the others dropped).
    Items(Vec<Cow<'a, str>>),
    /// A string.
    Text(Cow<'a, str>),
    /// Anything else.
    Other,
}

/// Reads the fields of one object type, one key at a time; each must consume its value.
trait Fields<'de>: Default {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// `T` when the value is an object, `None` for any other value (which is skipped).
struct Object<T>(Option<T>);

/// Every visitor here accepts every JSON value; `$other` is what a scalar of an
/// unexpected type gives.
macro_rules! scalars_give {
    ($other:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($other)
        }
    };
}

/// Skips the rest of an array.
fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Skips the rest of an object.
fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

impl<'de, T: Fields<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Fields<'de>> Visitor<'de> for V<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            scalars_give!(Object(None));
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Object(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Object(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq)?;
                Ok(Object(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = T::default();
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    fields.field(&key, &mut map)?;
                }
                Ok(Object(Some(fields)))
            }
        }
        de.deserialize_any(V(PhantomData))
    }
}

/// An object key, borrowed unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Text::deserialize(de).map(|Text(text)| Key(text.unwrap_or_default()))
    }
}

/// A string, borrowed unless it had escapes; `None` for any other value.
struct Text<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            scalars_give!(Text(None));
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(s.to_owned()))))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(s))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq)?;
                Ok(Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map)?;
                Ok(Text(None))
            }
        }
        de.deserialize_any(V)
    }
}

/// A non-negative integer (what `Value::as_u64` accepts); `None` for any other value.
struct Count(Option<u64>);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            scalars_give!(Count(None));
            fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
                Ok(Count(Some(n)))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Count(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq)?;
                Ok(Count(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map)?;
                Ok(Count(None))
            }
        }
        de.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Payload<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        // A payload that is no object (`[]`, `42`) holds nothing the decoder reads.
        Ok(Object::<Payload<'de>>::deserialize(de)?
            .0
            .unwrap_or_default())
    }
}

impl<'de> Fields<'de> for Payload<'de> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "response.created" => {
                let created = map.next_value::<Object<CreatedFields<'de>>>()?;
                self.created = Some(created.0.unwrap_or_default());
            }
            "response.info" => {
                self.info = true;
                map.next_value::<IgnoredAny>()?;
            }
            "choices" => {
                self.has_choices = true;
                self.delta = map.next_value::<FirstChoice<'de>>()?.0;
            }
            "usage" => {
                self.has_usage = true;
                self.usage = map
                    .next_value::<Object<UsageFields>>()?
                    .0
                    .map(UsageFields::usage);
            }
            "response_id" => self.response_id = map.next_value::<Text<'de>>()?.0,
            "error" | "success" | "data" | "ret" | "requestInfo" | "rgv587_flag" => {
                self.may_be_failure = true;
                map.next_value::<IgnoredAny>()?;
            }
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> Fields<'de> for CreatedFields<'de> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "chat_id" => self.chat_id = map.next_value::<Text<'de>>()?.0,
            "parent_id" => self.parent_id = map.next_value::<Text<'de>>()?.0,
            "response_id" => self.response_id = map.next_value::<Text<'de>>()?.0,
            "response_index" => self.primary = map.next_value::<PrimaryIndex>()?.0,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// Whether a present `response_index` names the first candidate: `null`, a string that is
/// `0` once trimmed, or the integer 0.
struct PrimaryIndex(bool);

impl<'de> Deserialize<'de> for PrimaryIndex {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PrimaryIndex;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(PrimaryIndex(true))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
                Ok(PrimaryIndex(n == 0))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(PrimaryIndex(s.trim() == "0"))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(PrimaryIndex(false))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(PrimaryIndex(false))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(PrimaryIndex(false))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq)?;
                Ok(PrimaryIndex(false))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map)?;
                Ok(PrimaryIndex(false))
            }
        }
        de.deserialize_any(V)
    }
}

/// `choices`: the delta of its first item (of its `"0"` member when it is an object, as a
/// JSON pointer reads it).
struct FirstChoice<'a>(Option<Delta<'a>>);

/// One choice: its `delta`.
#[derive(Default)]
struct Choice<'a> {
    delta: Option<Delta<'a>>,
}

impl<'de> Fields<'de> for Choice<'de> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "delta" => self.delta = map.next_value::<Object<Delta<'de>>>()?.0,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for FirstChoice<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FirstChoice<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            scalars_give!(FirstChoice(None));
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(FirstChoice(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(FirstChoice(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first = seq.next_element::<Object<Choice<'de>>>()?;
                skip_seq(seq)?;
                Ok(FirstChoice(first.and_then(|c| c.0).and_then(|c| c.delta)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut delta = None;
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    if key == "0" {
                        let choice = map.next_value::<Object<Choice<'de>>>()?;
                        delta = choice.0.and_then(|c| c.delta);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(FirstChoice(delta))
            }
        }
        de.deserialize_any(V)
    }
}

impl<'de> Fields<'de> for Delta<'de> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "phase" => self.phase = map.next_value::<Text<'de>>()?.0,
            "content" => self.content = map.next_value::<Text<'de>>()?.0,
            "status" => self.status = map.next_value::<Text<'de>>()?.0,
            "extra" => self.extra = map.next_value::<Object<Extra<'de>>>()?.0,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> Fields<'de> for Extra<'de> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "summary_thought" => {
                let thought = map.next_value::<Object<SummaryThought<'de>>>()?;
                self.summary = thought.0.and_then(|t| t.content);
            }
            "web_search_info" => self.search = map.next_value::<SearchList>()?.0,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// `summary_thought`: its `content`, present with any value.
#[derive(Default)]
struct SummaryThought<'a> {
    content: Option<Snapshot<'a>>,
}

impl<'de> Fields<'de> for SummaryThought<'de> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "content" => self.content = Some(map.next_value::<Snapshot<'de>>()?),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Snapshot<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Snapshot<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            scalars_give!(Snapshot::Other);
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Snapshot::Other)
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Snapshot::Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Snapshot::Text(Cow::Owned(s.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(Text(item)) = seq.next_element::<Text<'de>>()? {
                    items.extend(item);
                }
                Ok(Snapshot::Items(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map)?;
                Ok(Snapshot::Other)
            }
        }
        de.deserialize_any(V)
    }
}

/// `web_search_info`: its items when it is an array (an item that is no object gives a
/// result with every field empty).
struct SearchList(Option<Vec<SearchResult>>);

/// One search result's fields.
#[derive(Default)]
struct SearchItem(SearchResult);

impl<'de> Fields<'de> for SearchItem {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        let slot = match key {
            "url" => &mut self.0.url,
            "title" => &mut self.0.title,
            "snippet" => &mut self.0.snippet,
            "hostname" => &mut self.0.hostname,
            _ => {
                map.next_value::<IgnoredAny>()?;
                return Ok(());
            }
        };
        *slot = map
            .next_value::<Text<'de>>()?
            .0
            .map(Cow::into_owned)
            .unwrap_or_default();
        Ok(())
    }
}

impl<'de> Deserialize<'de> for SearchList {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SearchList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            scalars_give!(SearchList(None));
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(SearchList(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(SearchList(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut results = Vec::new();
                while let Some(item) = seq.next_element::<Object<SearchItem>>()? {
                    results.push(item.0.unwrap_or_default().0);
                }
                Ok(SearchList(Some(results)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map)?;
                Ok(SearchList(None))
            }
        }
        de.deserialize_any(V)
    }
}

/// `usage`, in both generations (PROTOCOL.md §5: `cached_tokens` moved from `usage` into
/// `prompt_tokens_details` in 2026).
#[derive(Default)]
struct UsageFields {
    input_tokens: Option<u64>,
    prompt_tokens: Option<u64>,
    output_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    reasoning_tokens: Option<u64>,
    cached_tokens: Option<u64>,
    prompt_cached_tokens: Option<u64>,
    input_cached_tokens: Option<u64>,
}

impl UsageFields {
    fn usage(self) -> Usage {
        Usage {
            input_tokens: self.input_tokens.or(self.prompt_tokens).unwrap_or(0),
            output_tokens: self.output_tokens.or(self.completion_tokens).unwrap_or(0),
            reasoning_tokens: self.reasoning_tokens.unwrap_or(0),
            cached_tokens: self
                .prompt_cached_tokens
                .or(self.cached_tokens)
                .or(self.input_cached_tokens)
                .unwrap_or(0),
        }
    }
}

/// One named count inside a `*_details` object.
struct Detail<const REASONING: bool>(Option<u64>);

impl<const REASONING: bool> Default for Detail<REASONING> {
    fn default() -> Self {
        Detail(None)
    }
}

impl<'de, const REASONING: bool> Fields<'de> for Detail<REASONING> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        let wanted = if REASONING {
            "reasoning_tokens"
        } else {
            "cached_tokens"
        };
        if key == wanted {
            self.0 = map.next_value::<Count>()?.0;
        } else {
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

impl<'de> Fields<'de> for UsageFields {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        let count = match key {
            "input_tokens" => &mut self.input_tokens,
            "prompt_tokens" => &mut self.prompt_tokens,
            "output_tokens" => &mut self.output_tokens,
            "completion_tokens" => &mut self.completion_tokens,
            "cached_tokens" => &mut self.cached_tokens,
            "output_tokens_details" => {
                self.reasoning_tokens = map
                    .next_value::<Object<Detail<true>>>()?
                    .0
                    .and_then(|d| d.0);
                return Ok(());
            }
            "prompt_tokens_details" => {
                self.prompt_cached_tokens = map
                    .next_value::<Object<Detail<false>>>()?
                    .0
                    .and_then(|d| d.0);
                return Ok(());
            }
            "input_tokens_details" => {
                self.input_cached_tokens = map
                    .next_value::<Object<Detail<false>>>()?
                    .0
                    .and_then(|d| d.0);
                return Ok(());
            }
            _ => {
                map.next_value::<IgnoredAny>()?;
                return Ok(());
            }
        };
        *count = map.next_value::<Count>()?.0;
        Ok(())
    }
}
