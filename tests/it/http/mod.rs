mod generate;
mod process;
mod sdk;
mod security;
