//! Image bytes: sniffing, measuring, hashing and atomic no-clobber saving. Uses nothing else of the crate.
