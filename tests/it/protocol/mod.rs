mod allowlist;
mod conformance;
mod methods;
mod shapes;
mod transcripts;
mod wire;
