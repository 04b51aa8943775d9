mod bridge;
mod http;
mod mcp;
