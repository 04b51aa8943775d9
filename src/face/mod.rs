//! What every face shares and nothing below it needs: the rules for images a host sends
//! ([`image_input`]), `--root` confinement ([`root`]), and a stdin that sees the host leave ([`stdin`]).

pub(crate) mod image_input;
pub(crate) mod root;
pub(crate) mod stdin;
