mod commands;
mod options;
