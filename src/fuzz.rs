//! Test-only helpers of the dependency-free fuzz loops of the wire parsers
//! (`src/anthropic/tests.rs`, `src/responses/tests.rs`, `src/openai/tests.rs`): a
//! deterministic generator, a mutation of one random node of a valid body, and histories
//! built from awkward item texts, so each loop only lists its own seeds and items.

use serde_json::Value;

/// Deterministic linear congruential generator (Knuth's MMIX constants).
pub(crate) struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Replaces one random node of `value` with one of `replacements`.
pub(crate) fn mutate(value: &mut Value, rng: &mut Lcg, replacements: &[Value]) {
    match value {
        Value::Object(obj) if !obj.is_empty() && rng.below(3) > 0 => {
            let key = obj
                .keys()
                .nth(rng.below(obj.len()))
                .cloned()
                .unwrap_or_default();
            if let Some(child) = obj.get_mut(&key) {
                mutate(child, rng, replacements);
            }
        }
        Value::Array(items) if !items.is_empty() && rng.below(3) > 0 => {
            let i = rng.below(items.len());
            mutate(&mut items[i], rng, replacements);
        }
        _ => *value = replacements[rng.below(replacements.len())].clone(),
    }
}

/// The histories the borrowed-item tests read (issue 17): every ordered pair of `items`
/// (JSON texts, kept as written so their escapes and repeated keys reach the parser), then
/// `more` random sequences of three to five, as the texts of JSON arrays.
pub(crate) fn histories(items: &[&str], more: usize, rng: &mut Lcg) -> Vec<String> {
    let mut out = Vec::with_capacity(items.len() * items.len() + more);
    for a in items {
        for b in items {
            out.push(format!("[{a}, {b}]"));
        }
    }
    for _ in 0..more {
        let picked: Vec<&str> = (0..3 + rng.below(3))
            .map(|_| items[rng.below(items.len())])
            .collect();
        out.push(format!("[{}]", picked.join(",")));
    }
    out
}
