mod bridge;
mod cli;
mod http;
mod library;
mod mcp;
