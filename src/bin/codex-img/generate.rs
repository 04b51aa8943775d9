//! `codex-img generate`: one image (or `-n` images) from a prompt, saved to a file or a directory.
//!
//! Order matters because every turn spends quota: the arguments are parsed, then the library checks
//! the options, the request and every output target, and only then starts a turn
//! ([`Client::generate_batch`]). Each image is saved atomically as it finishes, and never over an
//! existing file without `--overwrite`. Ctrl-C drops the generation, which makes the library interrupt
//! every turn still running; images already saved stay.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::Args;
use codex_img::{
    Aspect, Background, BatchOutcome, Client, Error, Fit, GenerateRequest, Hints, IfExists, Key,
    Options, OutputFormat, Quality, Size,
};
use codex_img::{BatchReport, ErrorReport, ImageReport};

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

    /// Size hint in pixels, such as 1024x1536 (passed to the model as a hint; the real size is reported;
    /// --fit makes it exact).
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

    /// Background. `transparent` asks the image tool for real transparency (Codex 0.150+); the
    /// result's `alpha` says what came back.
    #[arg(long, value_name = "KIND",
          value_parser = PossibleValuesParser::new(["transparent", "opaque", "auto"])
              .try_map(|s| s.parse::<Background>()))]
    pub background: Option<Background>,

    /// Output format; taken from OUT's extension (.png, .jpg/.jpeg, .webp) when not given, and must
    /// agree with it. Needed to convert into a directory target.
    #[arg(long, value_name = "FMT",
          value_parser = PossibleValuesParser::new(["png", "jpeg", "jpg", "webp"])
              .try_map(|s| s.parse::<OutputFormat>()))]
    pub format: Option<OutputFormat>,

    /// JPEG quality, 0-100 (default 90). PNG and WebP are written lossless and take none.
    #[arg(long, value_name = "0-100", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub compression: Option<u8>,

    /// Make the image exactly --size (or --aspect): cover = scale and centre-crop, contain = scale and
    /// pad (transparent in PNG/WebP, white in JPEG), fill = stretch. Without it nothing is resized.
    #[arg(long, value_name = "MODE",
          value_parser = PossibleValuesParser::new(["cover", "contain", "fill"])
              .try_map(|s| s.parse::<Fit>()))]
    pub fit: Option<Fit>,

    /// Key colour, `auto` or `#RRGGBB`: implies a transparent background; when Codex cannot make one,
    /// it is asked for a flat background of this colour, which codex-img then removes.
    #[arg(long, value_name = "COLOUR", value_parser = |s: &str| s.parse::<Key>())]
    pub key: Option<Key>,

    /// How many images, 1-8, each from its own turn. A file OUT `cat.png` gives `cat-1.png` ...
    /// `cat-N.png`; a directory gets hash-named files.
    #[arg(short = 'n', value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=8))]
    pub n: u32,

    /// Also write `<image>.json` next to each image: prompt, revised prompt, sha256, format, size,
    /// requested size, fit, alpha, Codex version, ids and timings.
    #[arg(long)]
    pub sidecar: bool,

    /// Replace OUT if it already exists.
    #[arg(long)]
    pub overwrite: bool,

    /// Give up after this many seconds, queue included (default 300). A timed-out turn may have spent
    /// quota and is never retried.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,

    /// Print one JSON object on stdout: the saved image, or the error; with -n above 1, the batch
    /// object {ok, images, errors}.
    #[arg(long)]
    pub json: bool,

    /// Start the turns even if Codex has reported a usage limit that has not reset yet. Without it,
    /// such a request is refused with runtime/usage_limit and no turn; with it, a limit that still
    /// holds costs a model request.
    #[arg(long)]
    pub ignore_known_usage_limit: bool,

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
        let mut request = GenerateRequest::new(self.prompt.clone())
            .hints(Hints {
                size: self.size,
                aspect: self.aspect,
                quality: self.quality,
                background: self.background,
            })
            .options(Options {
                format: self.format,
                compression: self.compression,
                fit: self.fit,
                key: self.key,
                n: self.n,
                sidecar: self.sidecar,
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
        if self.ignore_known_usage_limit {
            request = request.ignore_known_usage_limit(true);
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
            // The generation future is dropped here; the library interrupts its turns.
            tracing::info!("{signal:?}: cancelling the generation");
            (Err(Error::Cancelled), Some(signal.exit_code()))
        }
    };
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => {
            if args.json {
                print_json(&ErrorReport::from(&error));
            } else {
                print_error(&error);
            }
            return code_if_failed.unwrap_or_else(|| exit::for_error(&error));
        }
    };
    if args.n > 1 {
        return report_batch(args, &outcome);
    }
    match (outcome.failed.first(), outcome.delivered.first()) {
        (Some(failed), _) => {
            if args.json {
                print_json(&ErrorReport::from(&failed.error));
            } else {
                print_error(&failed.error);
            }
            exit::for_error(&failed.error)
        }
        (None, Some(done)) => {
            let report = ImageReport::new(&done.image, done.path.as_deref());
            if args.json {
                print_json(&report);
            } else {
                print_stdout(&summary(&report, &done.image));
            }
            exit::SUCCESS
        }
        (None, None) => {
            let error = Error::NoImage {
                detail: "no turn ran".to_owned(),
            };
            print_error(&error);
            exit::for_error(&error)
        }
    }
}

/// `n > 1`: the batch object with `--json`, else one summary per saved image on stdout and one error
/// per failed image on stderr. The exit code is that of the first failure, or success.
fn report_batch(args: &GenerateArgs, outcome: &BatchOutcome) -> u8 {
    if args.json {
        print_json(&BatchReport::new(outcome, false));
    } else {
        for done in &outcome.delivered {
            let report = ImageReport::new(&done.image, done.path.as_deref());
            print_stdout(&summary(&report, &done.image));
        }
        for failed in &outcome.failed {
            eprint!("image {} of {}: ", failed.index, args.n);
            print_error(&failed.error);
        }
    }
    outcome
        .failed
        .first()
        .map_or(exit::SUCCESS, |f| exit::for_error(&f.error))
}

/// The path, then one line: format, size (and how it got there), bytes, hash prefix, alpha, time.
fn summary(report: &ImageReport, image: &codex_img::GeneratedImage) -> String {
    let path = report.path.as_deref().unwrap_or("-");
    let mut size = format!("{}x{}", report.width, report.height);
    match (report.fit, report.original) {
        (Some(fit), Some(o)) => size.push_str(&format!(" ({fit} from {}x{})", o.width, o.height)),
        (None, _) => {
            if let Some(r) = report.requested {
                if (r.width, r.height) != (report.width, report.height) {
                    size.push_str(&format!(" (asked {}x{}; a hint)", r.width, r.height));
                }
            }
        }
        _ => {}
    }
    format!(
        "{path}\n{} {size}, {} bytes, sha256 {}, alpha {}, {:.1}s\n",
        image.format,
        report.bytes,
        &report.sha256[..report.sha256.len().min(12)],
        report.alpha,
        image.timings.total.as_secs_f64()
    )
}

async fn generate_and_save(client: &Client, args: &GenerateArgs) -> Result<BatchOutcome, Error> {
    let progress = Progress::start(std::io::stderr().is_terminal());
    let request = args.request().on_progress(progress.callback());
    let outcome = client
        .generate_batch(request, Some(&args.output), args.if_exists())
        .await;
    drop(progress);
    outcome
}
