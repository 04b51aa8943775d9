//! clap's value lists from the library's own: each choice a flag offers is a word of its type
//! ([`Words`]), so `--help`, the parser and the library cannot disagree.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use codex_img::Words;

/// A parser that offers `T`'s words (and takes their aliases) and gives back the value.
pub fn words<T>() -> impl TypedValueParser<Value = T>
where
    T: Words + Clone + Send + Sync,
{
    let values = T::ALL
        .iter()
        .map(|v| PossibleValue::new(v.word()).aliases(v.aliases().iter().copied()));
    PossibleValuesParser::new(values).try_map(|s| T::parse_word(&s))
}
