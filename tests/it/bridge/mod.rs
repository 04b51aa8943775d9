mod conformance;
mod generate;
mod hosts;
mod options;
mod process;
mod root;
