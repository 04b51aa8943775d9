//! The library in a few lines: one client (one warm `codex app-server`), a preflight that spends no
//! quota, one text-to-image generation with progress, and a safe save.
//!
//! ```sh
//! cargo run --example generate -- "a lighthouse at dawn, watercolour" lighthouse.png
//! ```

use std::time::Duration;

use codex_img::{Client, GenerateRequest, Hints, IfExists, Size};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(prompt), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: generate PROMPT OUT.png");
        return std::process::ExitCode::from(2);
    };
    let client = Client::builder()
        .request_timeout(Duration::from_secs(240))
        .build();

    let report = client.preflight().await;
    if let Some(problem) = &report.blocking {
        eprintln!("not ready [{}]: {problem}", problem.code());
        client.shutdown().await;
        return std::process::ExitCode::from(3);
    }

    let request = GenerateRequest::new(prompt)
        .hints(Hints {
            size: Some(Size {
                width: 1024,
                height: 1024,
            }),
            ..Hints::default()
        })
        .on_progress(|p| eprintln!("{:>6.1}s {}", p.elapsed.as_secs_f32(), p.phase.as_str()));
    let result = client.generate(request).await;
    let code = match result.and_then(|image| {
        let path = image.save(out.as_ref(), IfExists::Fail)?;
        println!(
            "{} ({}x{} {}, sha256 {})",
            path.display(),
            image.width,
            image.height,
            image.format,
            image.sha256
        );
        Ok(())
    }) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error[{}]: {e}", e.code());
            1
        }
    };
    client.shutdown().await;
    std::process::ExitCode::from(code)
}
