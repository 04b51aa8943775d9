//! `codex-img generate`: one image from a prompt, saved to a file.
//!
//! Order matters because every turn spends quota: the arguments are parsed, the output target is
//! checked, and only then does the library validate the request and start a turn. The image is saved
//! atomically and never over an existing file without `--overwrite`. Ctrl-C drops the generation, which
//! makes the library interrupt the turn.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::Args;
use codex_img::report::{ErrorReport, ImageReport};
use codex_img::{
    Aspect, Background, Client, Error, GenerateRequest, Hints, IfExists, Quality, Size,
};

use crate::exit;
use crate::progress::Progress;
use crate::{print_error, print_json, print_stdout, Interrupted};

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to draw.
    #[arg(value_name = "PROMPT")]
    pub prompt: String,

    /// Where to save the image: a file path, or an existing directory (the file is then named
    /// `codex-img-<sha256 prefix>.<ext>`).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,

    /// An image to edit (image-to-image). PNG, JPEG, WebP or GIF.
    #[arg(long, value_name = "IN")]
    pub image: Option<PathBuf>,

    /// A reference image, in order; repeat for more (up to 4).
    #[arg(long = "ref", value_name = "R")]
    pub references: Vec<PathBuf>,

    /// Size hint in pixels, such as 1024x1536 (passed to the model as a hint; the real size is reported).
    #[arg(long, value_name = "WxH", conflicts_with = "aspect")]
    pub size: Option<Size>,

    /// Aspect ratio hint, such as 16:9.
    #[arg(long, value_name = "W:H")]
    pub aspect: Option<Aspect>,

    /// Quality hint.
    #[arg(long, value_name = "LEVEL",
          value_parser = PossibleValuesParser::new(["low", "medium", "high", "auto"])
              .try_map(|s| s.parse::<Quality>()))]
    pub quality: Option<Quality>,

    /// Background hint (the built-in tool may not honour transparency).
    #[arg(long, value_name = "KIND",
          value_parser = PossibleValuesParser::new(["transparent", "opaque", "auto"])
              .try_map(|s| s.parse::<Background>()))]
    pub background: Option<Background>,

    /// Replace OUT if it already exists.
    #[arg(long)]
    pub overwrite: bool,

    /// Give up after this many seconds, queue included (default 300). A timed-out turn may have spent
    /// quota and is never retried.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,

    /// Print one JSON object on stdout: the saved image, or the error.
    #[arg(long)]
    pub json: bool,

    /// How many generations run at once when several are asked for (default 4; the rest wait in
    /// order). Each one spends quota.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: Option<u16>,
}

impl GenerateArgs {
    fn if_exists(&self) -> IfExists {
        if self.overwrite {
            IfExists::Replace
        } else {
            IfExists::Fail
        }
    }

    fn request(&self) -> GenerateRequest {
        let mut request = GenerateRequest::new(self.prompt.clone()).hints(Hints {
            size: self.size,
            aspect: self.aspect,
            quality: self.quality,
            background: self.background,
        });
        if let Some(image) = &self.image {
            request = request.image(image.clone());
        }
        for reference in &self.references {
            request = request.reference(reference.clone());
        }
        if let Some(secs) = self.timeout {
            request = request.timeout(Duration::from_secs(secs));
        }
        request
    }
}

/// Runs the command and returns the exit code. The caller shuts the client down.
pub async fn run(
    client: &Client,
    args: &GenerateArgs,
    interrupted: impl std::future::Future<Output = Interrupted>,
) -> u8 {
    let (result, code_if_failed) = tokio::select! {
        result = generate_and_save(client, args) => (result, None),
        signal = interrupted => {
            // The generation future is dropped here; the library interrupts its turn.
            tracing::info!("{signal:?}: cancelling the generation");
            (Err(Error::Cancelled), Some(signal.exit_code()))
        }
    };
    match result {
        Ok((image, path)) => {
            let report = ImageReport::new(&image, Some(&path));
            if args.json {
                print_json(&report);
            } else {
                print_stdout(&format!(
                    "{}\n{} {}x{}, {} bytes, sha256 {}, {:.1}s\n",
                    path.display(),
                    image.format,
                    report.width,
                    report.height,
                    report.bytes,
                    &report.sha256[..report.sha256.len().min(12)],
                    image.timings.total.as_secs_f64()
                ));
            }
            exit::SUCCESS
        }
        Err(error) => {
            if args.json {
                print_json(&ErrorReport::from(&error));
            } else {
                print_error(&error);
            }
            code_if_failed.unwrap_or_else(|| exit::for_error(&error))
        }
    }
}

async fn generate_and_save(
    client: &Client,
    args: &GenerateArgs,
) -> Result<(codex_img::GeneratedImage, PathBuf), Error> {
    codex_img::output::precheck_target(&args.output, args.if_exists())?;
    let progress = Progress::start(std::io::stderr().is_terminal());
    let request = args.request().on_progress(progress.callback());
    let image = client.generate(request).await;
    drop(progress);
    let image = image?;
    let path = image.resolve_target(&args.output);
    let saved = image.save_async(path, args.if_exists()).await?;
    Ok((image, saved))
}
