mod cli_stdio;
mod faces;
mod http;
mod library;
mod mcp;
mod save;
mod version;
mod workdir;
