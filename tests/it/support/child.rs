//! A face as a tokio child process spoken to line by line: each stdout line must be a JSON-RPC 2.0
//! message, and every read and the exit have a deadline.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// How long any one expected line, or the exit, may take.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Starts `command` (a face: `World::command` with its arguments) as a tokio child with piped stdin and
/// stdout, its stderr the test's, killed if the test drops it.
pub fn spawn(command: std::process::Command) -> (Child, ChildStdin, BufReader<ChildStdout>) {
    let mut child = tokio::process::Command::from(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn codex-img");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    (child, stdin, stdout)
}

/// One message as the line that carries it.
pub fn line(message: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(message).expect("json");
    bytes.push(b'\n');
    bytes
}

/// Writes one message line and flushes it.
pub async fn send(stdin: &mut ChildStdin, message: &Value) {
    stdin.write_all(&line(message)).await.expect("write");
    stdin.flush().await.expect("flush");
}

/// The next stdout line, which must be a JSON-RPC 2.0 message; `None` at the end of output.
pub async fn next(stdout: &mut BufReader<ChildStdout>) -> Option<Value> {
    let mut line = String::new();
    let n = tokio::time::timeout(PATIENCE, stdout.read_line(&mut line))
        .await
        .expect("output in time")
        .expect("read");
    if n == 0 {
        return None;
    }
    let v: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("stdout carried a line that is not JSON-RPC ({e}): {line:?}"));
    assert_eq!(v["jsonrpc"], "2.0", "{line}");
    Some(v)
}

/// The exit code, once the child exits (within [`PATIENCE`]).
pub async fn exit_code(child: &mut Child) -> Option<i32> {
    tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("exited in time")
        .expect("wait")
        .code()
}
