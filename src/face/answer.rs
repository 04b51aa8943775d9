//! One request's answer, reduced from what its batch produced, the same way on every face: several
//! images asked for answer as a batch (every image and every failure, by index); one image answers
//! with that image, or with its error. A batch that produced neither, which `Client::generate_batch`
//! never returns, answers with one error that says so, on every face alike.

use std::ops::Deref;

use crate::api::batch::{BatchOutcome, Delivered};
use crate::types::error::Error;

/// What a face renders for one request.
#[derive(Debug)]
pub enum Answer<'a> {
    /// One image was asked for and delivered.
    Image(&'a Delivered),
    /// One image was asked for, and this is why there is none.
    Failed(Failure<'a>),
    /// Several images were asked for: the batch, whatever failed.
    Batch(&'a BatchOutcome),
}

/// The error of a one-image answer: the image's own, or the one for a batch that ran nothing.
#[derive(Debug)]
pub enum Failure<'a> {
    /// The image's error.
    Of(&'a Error),
    /// Neither an image nor an error came back.
    Nothing(Error),
}

impl Deref for Failure<'_> {
    type Target = Error;
    fn deref(&self) -> &Error {
        match self {
            Self::Of(e) => e,
            Self::Nothing(e) => e,
        }
    }
}

impl<'a> Answer<'a> {
    /// The answer to a request for `n` images that produced `outcome`.
    pub fn of(outcome: &'a BatchOutcome, n: u32) -> Self {
        if n > 1 {
            return Self::Batch(outcome);
        }
        match (outcome.delivered.first(), outcome.failed.first()) {
            (Some(image), _) => Self::Image(image),
            (None, Some(failed)) => Self::Failed(Failure::Of(&failed.error)),
            (None, None) => Self::Failed(Failure::Nothing(nothing())),
        }
    }
}

/// The error of a batch that produced neither an image nor an error.
pub(crate) fn nothing() -> Error {
    Error::NoImage {
        detail: "neither an image nor an error came back".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::batch::Failed;
    use crate::types::output::GeneratedImage;

    fn delivered(index: u32) -> Delivered {
        Delivered {
            index,
            image: GeneratedImage::sample(),
            path: None,
            sidecar: None,
        }
    }

    #[test]
    fn one_image_answers_with_it_or_its_error_several_with_the_batch() {
        let ok = BatchOutcome {
            delivered: vec![delivered(1)],
            failed: vec![],
        };
        assert!(matches!(Answer::of(&ok, 1), Answer::Image(d) if d.index == 1));
        assert!(matches!(Answer::of(&ok, 2), Answer::Batch(_)));
        let failed = BatchOutcome {
            delivered: vec![],
            failed: vec![Failed {
                index: 1,
                error: Error::Cancelled,
            }],
        };
        assert!(
            matches!(Answer::of(&failed, 1), Answer::Failed(f) if f.code() == "runtime/cancelled")
        );
        let nothing = BatchOutcome::default();
        assert!(
            matches!(Answer::of(&nothing, 1), Answer::Failed(f) if f.code() == "runtime/no_image")
        );
    }
}
