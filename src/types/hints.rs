//! The hints a request passes to the model in its prompt text: size, aspect, quality and background,
//! their words and their parsers. Codex's image tool always asks its backend for `auto`, so none of them
//! is guaranteed; codex-img reports what really came back.

use std::str::FromStr;

use super::limits::MAX_IMAGE_SIDE;
use super::words::Words;

/// A requested size in pixels (a hint), also how reports write dimensions: `{"width", "height"}`.
///
/// Each side is 1 to [`MAX_IMAGE_SIDE`]. Parsing (`"1024x1536".parse()`) checks that; a value built
/// field by field is checked with the request, before any quota is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// A requested aspect ratio (a hint). Each part is 1 to [`MAX_IMAGE_SIDE`], checked as for [`Size`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aspect {
    /// The width part of `width:height`.
    pub width: u32,
    /// The height part of `width:height`.
    pub height: u32,
}

/// A requested quality (a hint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `auto`: the model decides.
    Auto,
}

/// A requested background (a hint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Background {
    /// `transparent`: an alpha background, where the format allows it.
    Transparent,
    /// `opaque`.
    Opaque,
    /// `auto`: the model decides.
    Auto,
}

/// Hints passed to the model in the prompt text; none of them is guaranteed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    /// The size to ask for.
    pub size: Option<Size>,
    /// The aspect ratio to ask for.
    pub aspect: Option<Aspect>,
    /// The quality to ask for.
    pub quality: Option<Quality>,
    /// The background to ask for.
    pub background: Option<Background>,
}

impl Quality {
    /// The word for this value, as every face spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Auto => "auto",
        }
    }
}

impl Background {
    /// The word for this value, as every face spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transparent => "transparent",
            Self::Opaque => "opaque",
            Self::Auto => "auto",
        }
    }
}

impl FromStr for Quality {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse_word(s)
    }
}

impl FromStr for Background {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse_word(s)
    }
}

fn two_numbers(s: &str, sep: char, what: &str, example: &str) -> Result<(u32, u32), String> {
    let bad = || format!("invalid {what} `{s}`; write it like {example}");
    let (a, b) = s.split_once(sep).ok_or_else(bad)?;
    let a: u32 = a.trim().parse().map_err(|_| bad())?;
    let b: u32 = b.trim().parse().map_err(|_| bad())?;
    if !side_in_range(a) || !side_in_range(b) {
        return Err(bad());
    }
    Ok((a, b))
}

/// Whether `side` may be one side of a [`Size`] or one part of an [`Aspect`].
pub(crate) fn side_in_range(side: u32) -> bool {
    (1..=MAX_IMAGE_SIDE).contains(&side)
}

impl FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (width, height) = two_numbers(&s.to_ascii_lowercase(), 'x', "size", "1024x1536")?;
        Ok(Self { width, height })
    }
}

impl FromStr for Aspect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (width, height) = two_numbers(s, ':', "aspect ratio", "16:9")?;
        Ok(Self { width, height })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn hint_parsing() {
        assert_eq!(
            "1024x1536".parse::<Size>(),
            Ok(Size {
                width: 1024,
                height: 1536
            })
        );
        assert_eq!(
            "16:9".parse::<Aspect>(),
            Ok(Aspect {
                width: 16,
                height: 9
            })
        );
        assert!("0x5".parse::<Size>().is_err());
        assert!("16/9".parse::<Aspect>().is_err());
        assert_eq!("HIGH".parse::<Quality>(), Ok(Quality::High));
        assert_eq!(
            "clear".parse::<Background>(),
            Err("unknown background `clear`; use one of: transparent opaque auto".to_owned())
        );
    }
}
