//! What every face shares and nothing below it needs: the parameters of a generation and the rules
//! that turn them into a request ([`params`]), the rules for images a host sends ([`image_input`]),
//! `--root` confinement ([`root`]), the one reduction of a batch to an answer ([`answer`]), and a stdin
//! that sees the host leave ([`stdin`]).

pub(crate) mod answer;
pub(crate) mod image_input;
pub(crate) mod params;
pub(crate) mod root;
pub(crate) mod stdin;
