//! The text of a turn: the caller's prompt, then the hints and the roles of the attached images, in the
//! words the model reads.

use crate::types::check::Checked;
use crate::types::hints::Background;
use crate::types::options::Key;

/// The key colour the turn asks for with `key: auto`: pure green, or magenta for a green subject.
const AUTO_KEY_PHRASE: &str =
    "#00FF00 (pure green; use pure magenta #FF00FF instead if the subject itself is green)";

/// The text of the turn: the prompt, then the hints and the roles of the attached images, each
/// attached image named by its neutral staged name.
///
/// A transparent request asks the image tool for a transparent background in so many words, naming
/// the tool's `transparent_background` argument (Codex 0.150+); with a key it also asks for a flat solid
/// background of the key colour should transparency be impossible (older releases, or reference
/// images), so one turn covers both and the key can be removed locally. Size and aspect stay hints.
pub(crate) fn turn_text(checked: &Checked, staged_names: &[String]) -> String {
    let mut text = checked.prompt.clone();
    let h = &checked.hints;
    let mut hints = Vec::new();
    if let Some(s) = h.size {
        hints.push(format!("size {}x{} pixels", s.width, s.height));
    }
    if let Some(a) = h.aspect {
        hints.push(format!("aspect ratio {}:{}", a.width, a.height));
    }
    if let Some(q) = h.quality {
        hints.push(format!("quality {}", q.as_str()));
    }
    match h.background {
        // Said in full below.
        Some(Background::Transparent) if checked.transparent => {}
        Some(b) => hints.push(format!("{} background", b.as_str())),
        None => {}
    }
    if !hints.is_empty() {
        text.push_str(&format!(
            "\n\nPreferences for the image (follow them as far as the image tool allows): {}.",
            hints.join(", ")
        ));
    }
    if checked.transparent {
        text.push_str(
            "\n\nThe image needs a transparent background: call the image tool with \
             transparent_background set to true, so the subject sits on real transparency (an alpha \
             channel), with no backdrop, shadow or frame.",
        );
        if let Some(key) = checked.key {
            let colour = match key {
                Key::Auto => AUTO_KEY_PHRASE.to_owned(),
                Key::Rgb(_) => key.to_string(),
            };
            text.push_str(&format!(
                " If a transparent background is not possible, use a flat solid {colour} background \
                 instead: one uniform colour from edge to edge, with no shadow, gradient, texture or \
                 reflection, and keep that colour out of the subject."
            ));
        }
    }
    let mut names = staged_names.iter();
    if checked.image.is_some() {
        if let Some(name) = names.next() {
            text.push_str(&format!("\n\nEdit the attached image {name}."));
        }
    }
    let refs: Vec<&str> = names.map(String::as_str).collect();
    if !refs.is_empty() {
        text.push_str(&format!(
            "\n\nUse the attached image(s) {} as references, in that order.",
            refs.join(", ")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ImageFormat;
    use crate::types::check::InputImage;
    use crate::types::hints::{Hints, Size};
    use pretty_assertions::assert_eq;

    #[test]
    fn turn_text_names_only_staged_files() {
        let png = vec![0u8; 1];
        let checked = Checked {
            prompt: "a cat".into(),
            image: Some(InputImage {
                bytes: png.clone(),
                format: ImageFormat::Png,
            }),
            references: vec![InputImage {
                bytes: png,
                format: ImageFormat::Png,
            }],
            hints: Hints {
                size: Some(Size {
                    width: 512,
                    height: 512,
                }),
                background: Some(Background::Opaque),
                ..Hints::default()
            },
            transparent: false,
            key: None,
        };
        assert_eq!(
            turn_text(&checked, &["input-1.png".into(), "ref-1.png".into()]),
            "a cat\n\nPreferences for the image (follow them as far as the image tool allows): size 512x512 pixels, opaque background.\n\nEdit the attached image input-1.png.\n\nUse the attached image(s) ref-1.png as references, in that order."
        );
    }

    #[test]
    fn a_transparent_request_names_the_tool_argument_and_the_key_fallback() {
        let checked = |background, key| Checked {
            prompt: "a fox".into(),
            image: None,
            references: Vec::new(),
            hints: Hints {
                background,
                ..Hints::default()
            },
            transparent: true,
            key,
        };
        let ask = "\n\nThe image needs a transparent background: call the image tool with transparent_background set to true, so the subject sits on real transparency (an alpha channel), with no backdrop, shadow or frame.";
        let fallback = |colour: &str| {
            format!(" If a transparent background is not possible, use a flat solid {colour} background instead: one uniform colour from edge to edge, with no shadow, gradient, texture or reflection, and keep that colour out of the subject.")
        };
        assert_eq!(
            vec![
                turn_text(&checked(Some(Background::Transparent), None), &[]),
                turn_text(&checked(None, Some(Key::Auto)), &[]),
                turn_text(
                    &checked(Some(Background::Transparent), Some(Key::Rgb([255, 0, 255]))),
                    &[]
                ),
            ],
            vec![
                format!("a fox{ask}"),
                format!("a fox{ask}{}", fallback(AUTO_KEY_PHRASE)),
                format!("a fox{ask}{}", fallback("#FF00FF")),
            ]
        );
    }
}
