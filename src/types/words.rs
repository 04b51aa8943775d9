//! Values that are words (`low`, `cover`, `png`): one list per type, which every face takes its choices
//! from (the CLI's value lists, the MCP schema's enums, the parsers of the bridge and the Images API),
//! so a face cannot offer a value the library does not know, or miss one it does.

use crate::image::{Fit, OutputFormat};
use crate::types::hints::{Background, Quality};

/// A type whose every value has one word, and maybe a few accepted aliases.
pub trait Words: Copy + Sized + 'static {
    /// What the values are, for messages ("quality").
    const WHAT: &'static str;
    /// Every value, in the order faces list them.
    const ALL: &'static [Self];

    /// The word for this value.
    fn word(self) -> &'static str;

    /// Other words accepted for this value (none, unless a type says so).
    fn aliases(self) -> &'static [&'static str] {
        &[]
    }

    /// Every word, in order: the list faces offer.
    fn words() -> Vec<&'static str> {
        Self::ALL.iter().map(|v| v.word()).collect()
    }

    /// The value `s` names, ignoring case; or a message that lists the words.
    fn parse_word(s: &str) -> Result<Self, String> {
        let wanted = s.trim().to_ascii_lowercase();
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.word() == wanted || v.aliases().contains(&wanted.as_str()))
            .ok_or_else(|| {
                format!(
                    "unknown {} `{s}`; use one of: {}",
                    Self::WHAT,
                    Self::words().join(" ")
                )
            })
    }
}

impl Words for Quality {
    const WHAT: &'static str = "quality";
    const ALL: &'static [Self] = &[Self::Low, Self::Medium, Self::High, Self::Auto];
    fn word(self) -> &'static str {
        self.as_str()
    }
}

impl Words for Background {
    const WHAT: &'static str = "background";
    const ALL: &'static [Self] = &[Self::Transparent, Self::Opaque, Self::Auto];
    fn word(self) -> &'static str {
        self.as_str()
    }
}

impl Words for Fit {
    const WHAT: &'static str = "fit";
    const ALL: &'static [Self] = &[Self::Cover, Self::Contain, Self::Fill];
    fn word(self) -> &'static str {
        self.as_str()
    }
}

impl Words for OutputFormat {
    const WHAT: &'static str = "format";
    const ALL: &'static [Self] = &OutputFormat::ALL;
    fn word(self) -> &'static str {
        self.as_str()
    }
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Self::Jpeg => &["jpg"],
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn each_type_parses_its_own_words_and_lists_them_when_it_cannot() {
        assert_eq!(Quality::words(), ["low", "medium", "high", "auto"]);
        assert_eq!(Quality::parse_word(" HIGH "), Ok(Quality::High));
        assert_eq!(
            Quality::parse_word("ultra"),
            Err("unknown quality `ultra`; use one of: low medium high auto".to_owned())
        );
        assert_eq!(OutputFormat::parse_word("JPG"), Ok(OutputFormat::Jpeg));
        assert_eq!(
            Fit::parse_word("stretch"),
            Err("unknown fit `stretch`; use one of: cover contain fill".to_owned())
        );
        assert_eq!(Background::words(), ["transparent", "opaque", "auto"]);
    }

    #[test]
    fn every_word_parses_back_to_its_value() {
        fn round_trip<T: Words + PartialEq + std::fmt::Debug>() {
            for v in T::ALL {
                assert_eq!(T::parse_word(v.word()), Ok(*v));
                for alias in v.aliases() {
                    assert_eq!(T::parse_word(alias), Ok(*v));
                }
            }
        }
        round_trip::<Quality>();
        round_trip::<Background>();
        round_trip::<Fit>();
        round_trip::<OutputFormat>();
    }

    /// The pixel types parse themselves (the image module uses nothing of the crate); they say the same.
    #[test]
    fn the_image_types_own_parsers_agree_with_their_words() {
        for word in ["cover", "FILL", "stretch", ""] {
            assert_eq!(word.parse::<Fit>(), Fit::parse_word(word), "{word:?}");
        }
        for word in ["png", "jpg", "WEBP", "gif"] {
            assert_eq!(
                word.parse::<OutputFormat>(),
                OutputFormat::parse_word(word),
                "{word:?}"
            );
        }
    }
}
