//! Reading the spanned tree into the typed [`crate::model`], with a diagnostic for every
//! problem: unknown keys (with the nearest valid key), wrong types, bad values.
//!
//! The reader keeps going after an error so an author sees every problem in one run; a
//! policy with any error is not built. The language's keys are listed once, as the
//! `*_KEYS` constants, and drive both the unknown-key check and the suggestions.

mod conditions;
mod json_schema;
mod policy;
mod values;

pub use json_schema::policy_json_schema;
pub(crate) use policy::read_policy;

/// Finds the valid key (or value) a person most likely meant.
///
/// Case, `_` and `-` are ignored first (`default_effect` → `defaultEffect`), then the
/// nearest option by Damerau–Levenshtein distance wins if it is within a third of its
/// length (at least one edit).
pub(crate) fn did_you_mean(word: &str, options: &[&'static str]) -> Option<&'static str> {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-' && *c != ' ')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let w = norm(word);
    if let Some(exact) = options.iter().find(|o| norm(o) == w) {
        return Some(exact);
    }
    options
        .iter()
        .map(|o| (strsim::damerau_levenshtein(&w, &norm(o)), *o))
        .filter(|(d, o)| *d <= (o.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| o)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_nearest_key() {
        let keys = &["effect", "actions", "conditions", "reason"];
        assert_eq!(did_you_mean("condtions", keys), Some("conditions"));
        assert_eq!(did_you_mean("actoins", keys), Some("actions"));
        assert_eq!(did_you_mean("Effect", keys), Some("effect"));
        assert_eq!(did_you_mean("banana", keys), None);
        assert_eq!(
            did_you_mean("default_effect", &["defaultEffect"]),
            Some("defaultEffect")
        );
    }
}
