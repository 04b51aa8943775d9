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

use clap::Args;
use codex_img::{
    Answer, Aspect, Background, BatchOutcome, Client, Error, Fit, GenerateParams, ImageInput, Key,
    OptionError, OutputFormat, Quality, Refusal, Rules, Size,
};
use codex_img::{BatchReport, ErrorReport, ImageReport};

use crate::words::words;

use crate::exit;
use crate::progress::Progress;
use crate::shared::ConcurrencyArg;
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
          value_parser = words::<Quality>())]
    pub quality: Option<Quality>,

    /// Background. `transparent` asks the image tool for real transparency (Codex 0.150+); the
    /// result's `alpha` says what came back.
    #[arg(long, value_name = "KIND",
          value_parser = words::<Background>())]
    pub background: Option<Background>,

    /// Output format; taken from OUT's extension (.png, .jpg/.jpeg, .webp) when not given, and must
    /// agree with it. Needed to convert into a directory target.
    #[arg(long, value_name = "FMT",
          value_parser = words::<OutputFormat>())]
    pub format: Option<OutputFormat>,

    /// JPEG quality, 0-100 (default 90). PNG and WebP are written lossless and take none.
    // Out of range is the library's `request/invalid_option`, as on every face; so is `-n`'s.
    #[arg(long, value_name = "0-100")]
    pub compression: Option<u8>,

    /// Make the image exactly --size (or --aspect): cover = scale and centre-crop, contain = scale and
    /// pad (transparent in PNG/WebP, white in JPEG), fill = stretch. Without it nothing is resized.
    #[arg(long, value_name = "MODE",
          value_parser = words::<Fit>())]
    pub fit: Option<Fit>,

    /// Key colour, `auto` or `#RRGGBB`: implies a transparent background; when Codex cannot make one,
    /// it is asked for a flat background of this colour, which codex-img then removes.
    #[arg(long, value_name = "COLOUR", value_parser = |s: &str| s.parse::<Key>())]
    pub key: Option<Key>,

    /// How many images, 1-8, each from its own turn. A file OUT `cat.png` gives `cat-1.png` ...
    /// `cat-N.png`; a directory gets hash-named files.
    #[arg(short = 'n', value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32))]
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

    #[command(flatten)]
    pub concurrency: ConcurrencyArg,
}

impl GenerateArgs {
    /// The arguments in the vocabulary every face shares.
    fn params(&self) -> GenerateParams {
        GenerateParams {
            prompt: self.prompt.clone(),
            output: Some(self.output.clone()),
            image: self.image.clone().map(ImageInput::Path),
            references: self
                .references
                .iter()
                .cloned()
                .map(ImageInput::Path)
                .collect(),
            size: self.size,
            aspect: self.aspect,
            quality: self.quality,
            background: self.background,
            format: self.format,
            compression: self.compression,
            fit: self.fit,
            key: self.key,
            n: Some(self.n),
            sidecar: self.sidecar,
            overwrite: self.overwrite,
            timeout: self.timeout.map(Duration::from_secs),
            ignore_known_usage_limit: self.ignore_known_usage_limit.then_some(true),
        }
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
    match Answer::of(&outcome, args.n) {
        Answer::Batch(outcome) => report_batch(args, outcome),
        Answer::Failed(failed) => {
            if args.json {
                print_json(&ErrorReport::from(&*failed));
            } else {
                print_error(&failed);
            }
            exit::for_error(&failed)
        }
        Answer::Image(done) => {
            let report = ImageReport::new(&done.image, done.path.as_deref());
            if args.json {
                print_json(&report);
            } else {
                print_stdout(&summary(&report, &done.image));
            }
            exit::SUCCESS
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
    if let Some(note) = image.size_note() {
        size.push_str(&format!(" ({note})"));
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
    let job = match args.params().into_job(Rules::local()) {
        Ok(job) => job,
        // clap already refused what the arguments themselves get wrong (`--size` with `--aspect`).
        Err(Refusal::Arguments(message)) => {
            return Err(Error::Option(OptionError::Conflict(message)))
        }
        Err(Refusal::App(e)) => return Err(e),
    };
    let progress = Progress::start(std::io::stderr().is_terminal());
    let request = job.request.on_progress(progress.callback());
    let outcome = client
        .generate_batch(request, job.target.as_deref(), job.if_exists)
        .await;
    drop(progress);
    outcome
}
