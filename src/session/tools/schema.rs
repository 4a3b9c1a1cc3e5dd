//! The JSON Schema subset that tool arguments and structured outputs are checked against
//! (design.md §9). A failed check costs a corrective turn in which the model reads the
//! error, so the first problem found is reported as one short sentence naming where it is
//! (`` `location.city` is required ``), not as a validator's report. The subset is what
//! clients' schemas actually lean on, pydantic's `$defs` references included; every other
//! keyword is ignored, because rejecting a call the client would have accepted is worse than
//! passing one its own validation will catch. Schemas come from clients, so references are
//! followed within bounds: a cycle or a combinatorial schema ends the check, it does not hang.
//! Kept whole: the keywords call one another (`$ref`, `anyOf`, nested `properties`), and the
//! bounds that keep a hostile schema from hanging the check are shared by all of them.

use std::fmt;

use serde_json::{Map, Value};

/// How many `$ref`, `anyOf`, `oneOf` or `allOf` steps one value may take before reaching its
/// own checks: enough for any real schema, few enough that a reference cycle ends.
const MAX_HOPS: usize = 32;

/// How many schema nodes one check may visit, so nested `anyOf`s that refer back to
/// themselves stay cheap; a schema that needs more is not held against the value.
const BUDGET: usize = 10_000;

/// Whether `value` satisfies `schema`; the first problem found otherwise. An empty or
/// non-object schema accepts everything.
pub(crate) fn validate(value: &Value, schema: &Value) -> Result<(), String> {
    if !schema.is_object() {
        return Ok(());
    }
    let mut checker = Checker {
        root: schema,
        budget: BUDGET,
    };
    checker
        .check(value, schema, Path::Root, 0)
        .map_err(|failure| failure.to_string())
}

/// Where a value sits in the checked document, built on the stack as the check descends and
/// spelled out only when it fails.
#[derive(Clone, Copy)]
enum Path<'p> {
    Root,
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl Path<'_> {
    fn depth(&self) -> usize {
        match self {
            Path::Root => 0,
            Path::Key(parent, _) | Path::Index(parent, _) => parent.depth() + 1,
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.write(out);
                if !matches!(parent, Path::Root) {
                    out.push('.');
                }
                out.push_str(key);
            }
            Path::Index(parent, index) => {
                parent.write(out);
                out.push_str(&format!("[{index}]"));
            }
        }
    }

    fn fail(&self, problem: Problem) -> Failure {
        let mut path = String::new();
        self.write(&mut path);
        Failure {
            path,
            depth: self.depth(),
            problem,
        }
    }
}

/// The first problem found, and where.
#[derive(Debug)]
struct Failure {
    /// `a.b[2]`; empty for the value itself.
    path: String,
    depth: usize,
    problem: Problem,
}

#[derive(Debug)]
enum Problem {
    /// The value has none of these types (kept apart so `anyOf` branches can merge them).
    Type(Vec<&'static str>),
    /// Anything else, as the words after the subject ("is required").
    Other(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str("the value ")?;
        } else {
            write!(f, "`{}` ", self.path)?;
        }
        match &self.problem {
            Problem::Type(types) => write!(f, "must be {}", types.join(" or ")),
            Problem::Other(words) => f.write_str(words),
        }
    }
}

struct Checker<'s> {
    /// What `#/…` references point into.
    root: &'s Value,
    /// Schema nodes left to visit.
    budget: usize,
}

impl<'s> Checker<'s> {
    /// `hops` counts the steps taken at this value without descending into it.
    fn check(
        &mut self,
        value: &Value,
        schema: &'s Value,
        path: Path<'_>,
        hops: usize,
    ) -> Result<(), Failure> {
        let schema = match schema {
            Value::Object(schema) => schema,
            Value::Bool(false) => return Err(path.fail(Problem::Other("is not allowed".into()))),
            _ => return Ok(()),
        };
        if self.budget == 0 || hops > MAX_HOPS {
            return Ok(());
        }
        self.budget -= 1;
        if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
            return Ok(());
        }
        if let Some(Value::String(reference)) = schema.get("$ref")
            && let Some(target) = self.resolve(reference)
        {
            self.check(value, target, path, hops + 1)?;
        }
        if let Some(types) = schema.get("type") {
            check_type(value, types, path)?;
        }
        if let Some(Value::Array(options)) = schema.get("enum")
            && !options.iter().any(|option| same(option, value))
        {
            return Err(path.fail(Problem::Other(one_of(options))));
        }
        if let Some(expected) = schema.get("const")
            && !same(expected, value)
        {
            return Err(path.fail(Problem::Other(format!("must be {expected}"))));
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = schema.get(keyword) {
                self.any_of(value, branches, path, hops)?;
            }
        }
        if let Some(Value::Array(branches)) = schema.get("allOf") {
            for branch in branches {
                self.check(value, branch, path, hops + 1)?;
            }
        }
        match value {
            Value::Object(object) => self.check_object(object, schema, path),
            Value::Array(items) => self.check_items(items, schema, path),
            _ => Ok(()),
        }
    }

    /// The schema a `#` or `#/…` reference names; references elsewhere are not followed.
    fn resolve(&self, reference: &str) -> Option<&'s Value> {
        let pointer = reference.strip_prefix('#')?;
        match pointer {
            "" => Some(self.root),
            pointer => self.root.pointer(pointer),
        }
    }

    /// Valid when one branch is. Otherwise the most telling failure: the allowed types
    /// together when every branch failed on the type, else the one that got deepest.
    fn any_of(
        &mut self,
        value: &Value,
        branches: &'s [Value],
        path: Path<'_>,
        hops: usize,
    ) -> Result<(), Failure> {
        let mut failures = Vec::new();
        for branch in branches {
            match self.check(value, branch, path, hops + 1) {
                Ok(()) => return Ok(()),
                Err(failure) => failures.push(failure),
            }
        }
        let depth = path.depth();
        let mut types = Vec::new();
        for failure in &failures {
            match &failure.problem {
                Problem::Type(some) if failure.depth == depth => {
                    for name in some {
                        if !types.contains(name) {
                            types.push(*name);
                        }
                    }
                }
                _ => {
                    types.clear();
                    break;
                }
            }
        }
        if !types.is_empty() {
            return Err(path.fail(Problem::Type(types)));
        }
        let mut deepest: Option<Failure> = None;
        for failure in failures {
            if deepest
                .as_ref()
                .is_none_or(|best| failure.depth > best.depth)
            {
                deepest = Some(failure);
            }
        }
        match deepest {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }

    fn check_object(
        &mut self,
        object: &Map<String, Value>,
        schema: &'s Map<String, Value>,
        path: Path<'_>,
    ) -> Result<(), Failure> {
        if let Some(Value::Array(required)) = schema.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(name) {
                    let missing = Path::Key(&path, name);
                    return Err(missing.fail(Problem::Other("is required".into())));
                }
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        // Properties a pattern admits are not additional; patterns themselves are not checked.
        let additional = match schema.contains_key("patternProperties") {
            true => None,
            false => schema.get("additionalProperties"),
        };
        for (key, item) in object {
            let at = Path::Key(&path, key);
            match (
                properties.and_then(|properties| properties.get(key)),
                additional,
            ) {
                (Some(property), _) => self.check(item, property, at, 0)?,
                (None, Some(Value::Bool(false))) => {
                    return Err(at.fail(Problem::Other("is not an expected property".into())));
                }
                (None, Some(additional)) => self.check(item, additional, at, 0)?,
                (None, None) => {}
            }
        }
        Ok(())
    }

    /// `items` for every element, or positionally when it is an array (the older tuple form)
    /// or after `prefixItems`.
    fn check_items(
        &mut self,
        items: &[Value],
        schema: &'s Map<String, Value>,
        path: Path<'_>,
    ) -> Result<(), Failure> {
        let (prefix, rest): (&'s [Value], Option<&'s Value>) =
            match (schema.get("prefixItems"), schema.get("items")) {
                (Some(Value::Array(prefix)), rest) => (prefix, rest),
                (_, Some(Value::Array(prefix))) => (prefix, None),
                (_, rest) => (&[], rest),
            };
        for (index, item) in items.iter().enumerate() {
            if let Some(item_schema) = prefix.get(index).or(rest) {
                self.check(item, item_schema, Path::Index(&path, index), 0)?;
            }
        }
        Ok(())
    }
}

/// `type` as one name or a list of names; a name this checker does not know admits anything.
fn check_type(value: &Value, types: &Value, path: Path<'_>) -> Result<(), Failure> {
    let names: Vec<&str> = match types {
        Value::String(name) => vec![name.as_str()],
        Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
        _ => return Ok(()),
    };
    let mut wanted = Vec::new();
    for name in names {
        let (matches, spelled) = match name {
            "integer" => (is_whole(value), "an integer"),
            "number" => (value.is_number(), "a number"),
            "string" => (value.is_string(), "a string"),
            "boolean" => (value.is_boolean(), "a boolean"),
            "object" => (value.is_object(), "an object"),
            "array" => (value.is_array(), "an array"),
            "null" => (value.is_null(), "null"),
            _ => return Ok(()),
        };
        if matches {
            return Ok(());
        }
        wanted.push(spelled);
    }
    match wanted.is_empty() {
        true => Ok(()),
        false => Err(path.fail(Problem::Type(wanted))),
    }
}

/// Whole numbers are integers whatever their spelling (`3` and `3.0`).
fn is_whole(value: &Value) -> bool {
    let Value::Number(number) = value else {
        return false;
    };
    number.is_i64()
        || number.is_u64()
        || number
            .as_f64()
            .is_some_and(|float| float.is_finite() && float.fract() == 0.0)
}

/// JSON equality, with numbers compared by value (`1` is `1.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| same(x, y)))
        }
        _ => a == b,
    }
}

/// "must be one of "c", "f"", shortened for long enums.
fn one_of(options: &[Value]) -> String {
    const SHOWN: usize = 8;
    let mut words = String::from("must be one of ");
    for (i, option) in options.iter().take(SHOWN).enumerate() {
        if i > 0 {
            words.push_str(", ");
        }
        words.push_str(&option.to_string());
    }
    if options.len() > SHOWN {
        words.push_str(", …");
    }
    words
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn error(value: Value, schema: Value) -> String {
        match validate(&value, &schema) {
            Ok(()) => panic!("{value} passed {schema}"),
            Err(error) => error,
        }
    }

    fn weather() -> Value {
        json!({
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "unit": {"enum": ["c", "f"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "location": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "lat": {"type": "number"}},
                    "required": ["city"]
                }
            },
            "required": ["city"]
        })
    }

    #[test]
    fn required_properties() {
        assert_eq!(validate(&json!({"city": "Paris"}), &weather()), Ok(()));
        assert_eq!(error(json!({}), weather()), "`city` is required");
        assert_eq!(
            error(json!({"city": "Paris", "location": {}}), weather()),
            "`location.city` is required"
        );
    }

    #[test]
    fn types() {
        for days in [json!(3), json!(3.0), json!(-2), json!(u64::MAX)] {
            assert_eq!(
                validate(&json!({"city": "P", "days": days}), &weather()),
                Ok(())
            );
        }
        for days in [json!(3.5), json!("3"), json!(null), json!([3])] {
            assert_eq!(
                error(json!({"city": "P", "days": days}), weather()),
                "`days` must be an integer"
            );
        }
        assert_eq!(
            error(json!({"city": 1}), weather()),
            "`city` must be a string"
        );
        assert_eq!(
            error(
                json!({"city": "P", "location": {"city": "P", "lat": "48N"}}),
                weather()
            ),
            "`location.lat` must be a number"
        );
        assert_eq!(error(json!([]), weather()), "the value must be an object");
        let either = json!({"type": ["string", "null"]});
        assert_eq!(validate(&json!(null), &either), Ok(()));
        assert_eq!(validate(&json!("x"), &either), Ok(()));
        assert_eq!(
            error(json!(1), either),
            "the value must be a string or null"
        );
        for (value, name) in [
            (json!(true), "boolean"),
            (json!(null), "null"),
            (json!([]), "array"),
            (json!({}), "object"),
            (json!(1.5), "number"),
        ] {
            assert_eq!(validate(&value, &json!({"type": name})), Ok(()), "{name}");
            assert!(validate(&json!("s"), &json!({"type": name})).is_err());
        }
    }

    #[test]
    fn items() {
        let value = json!({"city": "P", "tags": ["a", 2]});
        assert_eq!(error(value, weather()), "`tags[1]` must be a string");
        let tuple = json!({"items": [{"type": "string"}, {"type": "integer"}]});
        assert_eq!(validate(&json!(["a", 1, null]), &tuple), Ok(()));
        assert_eq!(error(json!([1]), tuple), "`[0]` must be a string");
        let prefixed = json!({"prefixItems": [{"type": "string"}], "items": {"type": "integer"}});
        assert_eq!(validate(&json!(["a", 1, 2]), &prefixed), Ok(()));
        assert_eq!(
            error(json!(["a", "b"]), prefixed),
            "`[1]` must be an integer"
        );
    }

    #[test]
    fn enum_and_const() {
        assert_eq!(
            validate(&json!({"city": "P", "unit": "c"}), &weather()),
            Ok(())
        );
        assert_eq!(
            error(json!({"city": "P", "unit": "k"}), weather()),
            r#"`unit` must be one of "c", "f""#
        );
        assert_eq!(validate(&json!(2.0), &json!({"enum": [1, 2]})), Ok(()));
        assert_eq!(
            validate(&json!({"a": [1]}), &json!({"const": {"a": [1.0]}})),
            Ok(())
        );
        assert_eq!(
            error(json!("b"), json!({"const": "a"})),
            r#"the value must be "a""#
        );
        let many: Vec<u32> = (0..20).collect();
        assert_eq!(
            error(json!(99), json!({"enum": many})),
            "the value must be one of 0, 1, 2, 3, 4, 5, 6, 7, …"
        );
    }

    #[test]
    fn additional_properties() {
        let closed = json!({
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "additionalProperties": false
        });
        assert_eq!(validate(&json!({"city": "P"}), &closed), Ok(()));
        assert_eq!(
            error(json!({"city": "P", "country": "FR"}), closed),
            "`country` is not an expected property"
        );
        let typed = json!({"additionalProperties": {"type": "integer"}});
        assert_eq!(validate(&json!({"a": 1}), &typed), Ok(()));
        assert_eq!(error(json!({"a": "1"}), typed), "`a` must be an integer");
        let patterned = json!({"patternProperties": {"^x-": {}}, "additionalProperties": false});
        assert_eq!(validate(&json!({"x-a": 1}), &patterned), Ok(()));
        let forbidden = json!({"properties": {"secret": false}});
        assert_eq!(
            error(json!({"secret": 1}), forbidden),
            "`secret` is not allowed"
        );
    }

    /// What pydantic v2 writes for a model with a nested model and an optional field.
    fn pydantic() -> Value {
        json!({
            "$defs": {
                "Location": {
                    "properties": {"city": {"title": "City", "type": "string"}},
                    "required": ["city"],
                    "title": "Location",
                    "type": "object"
                }
            },
            "properties": {
                "location": {"$ref": "#/$defs/Location"},
                "days": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": null},
                "home": {"anyOf": [{"$ref": "#/$defs/Location"}, {"type": "null"}]}
            },
            "required": ["location"],
            "title": "Forecast",
            "type": "object"
        })
    }

    #[test]
    fn references_and_alternatives() {
        let ok = json!({"location": {"city": "P"}, "days": null, "home": null});
        assert_eq!(validate(&ok, &pydantic()), Ok(()));
        assert_eq!(
            error(json!({"location": {}}), pydantic()),
            "`location.city` is required"
        );
        assert_eq!(
            error(json!({"location": {"city": "P"}, "days": "2"}), pydantic()),
            "`days` must be an integer or null"
        );
        assert_eq!(
            error(json!({"location": {"city": "P"}, "home": "P"}), pydantic()),
            "`home` must be an object or null"
        );
        assert_eq!(
            error(
                json!({"location": {"city": "P"}, "home": {"city": 1}}),
                pydantic()
            ),
            "`home.city` must be a string"
        );
        // pydantic v1: `definitions`, and a reference wrapped in `allOf`.
        let v1 = json!({
            "definitions": {"Unit": {"enum": ["c", "f"]}},
            "properties": {"unit": {"allOf": [{"$ref": "#/definitions/Unit"}]}}
        });
        assert_eq!(validate(&json!({"unit": "c"}), &v1), Ok(()));
        assert_eq!(
            error(json!({"unit": "k"}), v1),
            r#"`unit` must be one of "c", "f""#
        );
        let one_of = json!({"oneOf": [{"type": "string"}, {"type": "integer"}]});
        assert_eq!(validate(&json!(1), &one_of), Ok(()));
        assert_eq!(
            error(json!(true), one_of),
            "the value must be a string or an integer"
        );
    }

    #[test]
    fn recursive_and_cyclic_schemas() {
        let tree = json!({
            "$defs": {"Node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
                "required": ["name"]
            }},
            "$ref": "#/$defs/Node"
        });
        let mut deep = json!({"name": "leaf"});
        for _ in 0..50 {
            deep = json!({"name": "n", "children": [deep]});
        }
        assert_eq!(validate(&deep, &tree), Ok(()));
        let broken = json!({"name": "n", "children": [{"children": []}]});
        assert_eq!(error(broken, tree), "`children[0].name` is required");

        let itself = json!({"$ref": "#"});
        assert_eq!(validate(&json!(1), &itself), Ok(()));
        let ping_pong = json!({
            "$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}},
            "$ref": "#/$defs/A"
        });
        assert_eq!(validate(&json!(1), &ping_pong), Ok(()));
        // Every branch fails only after recursing, so each level multiplies the work by ten
        // up to the hop limit: the budget is what makes this return at all.
        let branch = json!({"$ref": "#", "type": "string"});
        let exploding = json!({"anyOf": vec![branch; 10]});
        let started = std::time::Instant::now();
        let _ = validate(&json!(1), &exploding);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn what_is_not_checked() {
        for schema in [
            json!({}),
            json!(true),
            json!(null),
            json!("string"),
            json!(false),
        ] {
            assert_eq!(validate(&json!({"any": 1}), &schema), Ok(()), "{schema}");
        }
        let unknown = json!({"type": "string", "minLength": 5, "format": "email", "x-foo": 1});
        assert_eq!(validate(&json!("a"), &unknown), Ok(()));
        assert_eq!(validate(&json!(1), &json!({"type": "decimal"})), Ok(()));
        assert_eq!(
            validate(&json!(1), &json!({"$ref": "other.json#/X"})),
            Ok(())
        );
        assert_eq!(
            validate(&json!(1), &json!({"$ref": "#/$defs/Missing"})),
            Ok(())
        );
        let nullable = json!({"type": "string", "nullable": true});
        assert_eq!(validate(&json!(null), &nullable), Ok(()));
        assert_eq!(error(json!(1), nullable), "the value must be a string");
    }
}
