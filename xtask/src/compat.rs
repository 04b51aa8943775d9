//! `cargo xtask compat`: the live scenarios on every release of the matrix plus the newest stable
//! release on npm, with the results written into `COMPATIBILITY.md`.
//!
//! The matrix is `RELEASES` in `tests/loopback-backend/src/install.rs`, read through that crate's
//! `install-codex --list`, so there is one list. Every release is installed (race-safe, into
//! `$CODEX_IMG_CODEX_CACHE`) before any scenario runs, then the live test target runs once with
//! `CODEX_IMG_LIVE_ONLY` set to all of them. Each scenario prints one line per release
//! (`live <scenario> on Codex <version>: ok|FAILED in <secs>s`); those lines are the measurement.
//! A cell with no line is "not run", and counts as a failure like "fail" does.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The cargo arguments that run the live test target. The one place that names it.
pub const LIVE_TESTS: &[&str] = &["test", "-p", "codex-img-live", "--test", "live"];

/// The cargo arguments of the installer of the loopback crate.
const INSTALLER: &[&str] = &[
    "run",
    "--quiet",
    "--package",
    "loopback-backend",
    "--bin",
    "install-codex",
    "--",
];

const COMPATIBILITY: &str = "COMPATIBILITY.md";
const BEGIN: &str = "<!-- BEGIN cargo xtask compat: this section is rewritten by the command -->";
const END: &str = "<!-- END cargo xtask compat -->";

/// One release column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub version: String,
    /// In `RELEASES`; otherwise it is only the newest stable release on npm.
    pub in_matrix: bool,
}

/// One scenario on one release.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub ok: bool,
    pub secs: f64,
}

/// What one run measured: scenario -> version -> cell.
pub type Results = BTreeMap<String, BTreeMap<String, Cell>>;

/// Everything a rendering needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub date: String,
    pub secs: f64,
    pub columns: Vec<Column>,
    pub newest_on_npm: String,
    pub results: Results,
    /// Whether the cargo invocation itself succeeded (a build failure leaves every cell "not run").
    pub cargo_ok: bool,
}

pub fn run(root: &Path) -> Result<(), String> {
    let started = Instant::now();
    let matrix = cargo_lines(root, &[INSTALLER, &["--list"]].concat())?;
    if matrix.is_empty() {
        return Err("install-codex --list printed no release".to_owned());
    }
    let newest = npm_newest()?;
    eprintln!(
        "compat: matrix {}; newest on npm {newest}",
        matrix.join(", ")
    );
    // Installs the matrix (and the release below the floor the version gate uses), then npm's newest.
    cargo_lines(root, &[INSTALLER, &["--all"]].concat())?;
    cargo_lines(root, &[INSTALLER, &[newest.as_str()]].concat())?;

    let columns = merge_versions(&matrix, &newest);
    let only: Vec<&str> = columns.iter().map(|c| c.version.as_str()).collect();
    eprintln!("compat: running the live scenarios on {}", only.join(", "));
    let (cargo_ok, output) = run_live(root, &only.join(","))?;
    let run = Run {
        date: utc_date(SystemTime::now()),
        secs: started.elapsed().as_secs_f64(),
        columns,
        newest_on_npm: newest,
        results: parse_results(&output),
        cargo_ok,
    };

    let path = root.join(COMPATIBILITY);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let updated = replace_section(&text, &render(&run))?;
    std::fs::write(&path, updated).map_err(|e| format!("cannot write {}: {e}", path.display()))?;

    let (summary, failures) = summary(&run);
    println!("{summary}");
    println!("wrote {COMPATIBILITY}");
    if failures == 0 {
        Ok(())
    } else {
        Err(format!("{failures} failing or missing cell(s); see above"))
    }
}

/// Runs `cargo ARGS` in `root` and returns its stdout lines; stderr passes through.
fn cargo_lines(root: &Path, args: &[&str]) -> Result<Vec<String>, String> {
    let output = Command::new(crate::cargo())
        .args(args)
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "`cargo {}` failed ({}):\n{stdout}",
            args.join(" "),
            output.status
        ));
    }
    Ok(stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// The newest stable release of `@openai/codex` on the npm registry.
fn npm_newest() -> Result<String, String> {
    let output = Command::new("npm")
        .args(["view", "@openai/codex", "version"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run npm (install Node.js and npm): {e}"))?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || version_key(&version).is_none() {
        return Err(format!(
            "`npm view @openai/codex version` failed ({}), printing {version:?}",
            output.status
        ));
    }
    Ok(version)
}

/// Runs the live tests on `only`, echoing their output, and returns cargo's success and the output.
fn run_live(root: &Path, only: &str) -> Result<(bool, String), String> {
    let mut child = Command::new(crate::cargo())
        .args(LIVE_TESTS)
        .args(["--", "--nocapture"])
        .env("CODEX_IMG_LIVE_ONLY", only)
        .env_remove("CODEX_IMG_LIVE_ALL")
        .current_dir(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let echo = |stream: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut seen = String::new();
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                eprintln!("{line}");
                seen.push_str(&line);
                seen.push('\n');
            }
            seen
        })
    };
    let out = echo(Box::new(child.stdout.take().ok_or("no stdout")?));
    let err = echo(Box::new(child.stderr.take().ok_or("no stderr")?));
    let status = child
        .wait()
        .map_err(|e| format!("waiting for cargo: {e}"))?;
    let mut output = out.join().unwrap_or_default();
    output.push_str(&err.join().unwrap_or_default());
    Ok((status.success(), output))
}

/// `X.Y.Z` (a `-pre` tag ignored) as numbers, for ordering.
pub fn version_key(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.split('-').next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let key = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(key)
}

/// The matrix plus npm's newest, oldest first, without duplicates.
pub fn merge_versions(matrix: &[String], newest_on_npm: &str) -> Vec<Column> {
    let mut columns: Vec<Column> = matrix
        .iter()
        .map(|v| Column {
            version: v.clone(),
            in_matrix: true,
        })
        .collect();
    if !matrix.iter().any(|v| v == newest_on_npm) {
        columns.push(Column {
            version: newest_on_npm.to_owned(),
            in_matrix: false,
        });
    }
    columns.sort_by_key(|c| version_key(&c.version).unwrap_or_default());
    columns.dedup_by(|a, b| a.version == b.version);
    columns
}

/// The per-release lines of the live tests' output.
pub fn parse_results(output: &str) -> Results {
    let mut results = Results::new();
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("live ") else {
            continue;
        };
        let Some((scenario, rest)) = rest.split_once(" on Codex ") else {
            continue;
        };
        let Some((version, rest)) = rest.split_once(": ") else {
            continue;
        };
        let (ok, rest) = if let Some(r) = rest.strip_prefix("ok in ") {
            (true, r)
        } else if let Some(r) = rest.strip_prefix("FAILED in ") {
            (false, r)
        } else {
            continue;
        };
        let Some(secs) = rest.strip_suffix('s').and_then(|s| s.parse::<f64>().ok()) else {
            continue;
        };
        results
            .entry(scenario.to_owned())
            .or_default()
            .insert(version.to_owned(), Cell { ok, secs });
    }
    results
}

fn header(column: &Column, matrix_newest: Option<(u64, u64, u64)>) -> String {
    if column.in_matrix {
        return column.version.clone();
    }
    let newer = version_key(&column.version) > matrix_newest;
    let what = if newer {
        "newer than the matrix"
    } else {
        "not in the matrix"
    };
    format!("{} ({what}; newest on npm)", column.version)
}

fn cell_text(cell: Option<&Cell>) -> String {
    match cell {
        Some(Cell { ok: true, secs }) => format!("pass ({secs:.1} s)"),
        Some(Cell { ok: false, secs }) => format!("**FAIL** ({secs:.1} s)"),
        None => "**not run**".to_owned(),
    }
}

/// The scenarios that ran on the release columns, and those that ran only on other releases (the
/// version gate on the release below the floor).
fn split_scenarios(run: &Run) -> (Vec<&String>, Vec<&String>) {
    run.results.keys().partition(|scenario| {
        run.results[*scenario]
            .keys()
            .any(|v| run.columns.iter().any(|c| &c.version == v))
    })
}

/// The section of `COMPATIBILITY.md` that `cargo xtask compat` owns, markers included.
pub fn render(run: &Run) -> String {
    let matrix_newest = run
        .columns
        .iter()
        .filter(|c| c.in_matrix)
        .filter_map(|c| version_key(&c.version))
        .max();
    let (main, other) = split_scenarios(run);
    let mut out = format!("{BEGIN}\n## Last `cargo xtask compat` run\n\n");
    out.push_str(&format!(
        "- **Date:** {} (UTC); the whole run (installs, build, scenarios) took **{:.0} s**.\n",
        run.date, run.secs
    ));
    let npm = match run.columns.iter().find(|c| c.version == run.newest_on_npm) {
        Some(c) if c.in_matrix => format!("{}, which is in the matrix", run.newest_on_npm),
        _ => format!("{}, which is **not in the matrix**", run.newest_on_npm),
    };
    out.push_str(&format!(
        "- **Releases:** the matrix (`RELEASES` in `tests/loopback-backend/src/install.rs`) plus the newest stable release on npm: {npm}.\n"
    ));
    let (summary, failures) = summary(run);
    let first = summary.lines().next().unwrap_or_default();
    out.push_str(&format!("- **Result:** {first}\n"));
    if !run.cargo_ok && failures == 0 {
        out.push_str("- The live test run itself failed; see its output.\n");
    }
    out.push_str("\nEach cell is the scenario's result on that release and its time.\n\n");

    let headers: Vec<String> = run
        .columns
        .iter()
        .map(|c| header(c, matrix_newest))
        .collect();
    out.push_str(&format!("| scenario | {} |\n", headers.join(" | ")));
    out.push_str(&format!("|---|{}\n", "---|".repeat(headers.len())));
    for scenario in &main {
        let cells: Vec<String> = run
            .columns
            .iter()
            .map(|c| cell_text(run.results[*scenario].get(&c.version)))
            .collect();
        out.push_str(&format!("| {scenario} | {} |\n", cells.join(" | ")));
    }
    for scenario in &other {
        out.push('\n');
        let cells = &run.results[*scenario];
        let versions: Vec<&String> = cells.keys().collect();
        out.push_str(&format!(
            "| {scenario} | {} |\n|---|{}\n| result | {} |\n",
            versions
                .iter()
                .map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
            "---|".repeat(versions.len()),
            versions
                .iter()
                .map(|v| cell_text(cells.get(*v)))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    out.push_str(END);
    out.push('\n');
    out
}

/// A printable summary, and the number of failing or missing cells.
pub fn summary(run: &Run) -> (String, usize) {
    let (main, other) = split_scenarios(run);
    let mut total = 0;
    let mut failures = Vec::new();
    for scenario in &main {
        for column in &run.columns {
            total += 1;
            match run.results[*scenario].get(&column.version) {
                Some(cell) if cell.ok => {}
                Some(_) => failures.push(format!("{scenario} on {}: FAIL", column.version)),
                None => failures.push(format!("{scenario} on {}: not run", column.version)),
            }
        }
    }
    for scenario in &other {
        for (version, cell) in &run.results[*scenario] {
            total += 1;
            if !cell.ok {
                failures.push(format!("{scenario} on {version}: FAIL"));
            }
        }
    }
    let mut count = failures.len();
    if total == 0 {
        failures.push("no scenario reported a result".to_owned());
        count = 1;
    } else if !run.cargo_ok && failures.is_empty() {
        failures.push("the live test run failed although every cell passed".to_owned());
        count = 1;
    }
    let mut text = format!(
        "{} of {total} cells passed on {} release(s), {} scenario(s).",
        total - failures.len().min(total),
        run.columns.len(),
        main.len() + other.len()
    );
    for failure in &failures {
        text.push_str(&format!("\n  - {failure}"));
    }
    (text, count)
}

/// `text` with its compat section replaced by `section`.
pub fn replace_section(text: &str, section: &str) -> Result<String, String> {
    let (Some(start), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        return Err(format!(
            "{COMPATIBILITY} has no `{BEGIN}` ... `{END}` section to rewrite"
        ));
    };
    if end < start {
        return Err(format!(
            "{COMPATIBILITY}: the compat markers are out of order"
        ));
    }
    let after = &text[end + END.len()..];
    let after = after.strip_prefix('\n').unwrap_or(after);
    Ok(format!("{}{section}{after}", &text[..start]))
}

/// `YYYY-MM-DD` in UTC.
pub fn utc_date(now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn col(version: &str, in_matrix: bool) -> Column {
        Column {
            version: version.to_owned(),
            in_matrix,
        }
    }

    #[test]
    fn npm_newest_already_in_the_matrix_adds_nothing() {
        assert_eq!(
            merge_versions(&v(&["0.122.0", "0.171.0"]), "0.171.0"),
            vec![col("0.122.0", true), col("0.171.0", true)]
        );
    }

    #[test]
    fn a_newer_npm_release_is_a_column_of_its_own_ordered_by_version() {
        assert_eq!(
            merge_versions(&v(&["0.122.0", "0.99.0", "0.171.0"]), "0.180.0"),
            vec![
                col("0.99.0", true),
                col("0.122.0", true),
                col("0.171.0", true),
                col("0.180.0", false)
            ]
        );
    }

    #[test]
    fn versions_order_numerically_and_reject_junk() {
        assert_eq!(version_key("0.171.0"), Some((0, 171, 0)));
        assert_eq!(version_key("0.162.0-alpha.15"), Some((0, 162, 0)));
        assert_eq!(version_key("0.171"), None);
        assert_eq!(version_key("latest"), None);
        assert_eq!(version_key("1.2.3.4"), None);
    }

    #[test]
    fn the_scenario_lines_are_parsed_and_the_rest_ignored() {
        let output = "running 2 tests\n\
            live text_to_image on Codex 0.122.0: ok in 3.4s\n\
            live text_to_image on Codex 0.171.0: FAILED in 12.0s\n\
            thread 'x' panicked at tests/live.rs:1: live text_to_image failed\n\
            live version_gate on Codex 0.116.0: ok in 0.2s\n\
            test live_text_to_image ... FAILED\n";
        let results = parse_results(output);
        assert_eq!(
            results,
            Results::from([
                (
                    "text_to_image".to_owned(),
                    BTreeMap::from([
                        (
                            "0.122.0".to_owned(),
                            Cell {
                                ok: true,
                                secs: 3.4
                            }
                        ),
                        (
                            "0.171.0".to_owned(),
                            Cell {
                                ok: false,
                                secs: 12.0
                            }
                        ),
                    ])
                ),
                (
                    "version_gate".to_owned(),
                    BTreeMap::from([(
                        "0.116.0".to_owned(),
                        Cell {
                            ok: true,
                            secs: 0.2
                        }
                    )])
                ),
            ])
        );
    }

    fn sample(newest: &str, cells: &str, cargo_ok: bool) -> Run {
        let columns = merge_versions(&v(&["0.122.0", "0.171.0"]), newest);
        Run {
            date: "2026-12-01".to_owned(),
            secs: 412.4,
            columns,
            newest_on_npm: newest.to_owned(),
            results: parse_results(cells),
            cargo_ok,
        }
    }

    #[test]
    fn the_table_has_one_cell_per_scenario_and_release() {
        let run = sample(
            "0.172.0",
            "live a on Codex 0.122.0: ok in 1.0s\n\
             live a on Codex 0.171.0: ok in 2.0s\n\
             live a on Codex 0.172.0: FAILED in 3.0s\n\
             live b on Codex 0.122.0: ok in 4.0s\n\
             live version_gate on Codex 0.116.0: ok in 0.5s\n",
            false,
        );
        let expected = format!(
            "{BEGIN}\n## Last `cargo xtask compat` run\n\n\
             - **Date:** 2026-12-01 (UTC); the whole run (installs, build, scenarios) took **412 s**.\n\
             - **Releases:** the matrix (`RELEASES` in `tests/loopback-backend/src/install.rs`) plus the newest stable release on npm: 0.172.0, which is **not in the matrix**.\n\
             - **Result:** 4 of 7 cells passed on 3 release(s), 3 scenario(s).\n\
             \nEach cell is the scenario's result on that release and its time.\n\n\
             | scenario | 0.122.0 | 0.171.0 | 0.172.0 (newer than the matrix; newest on npm) |\n\
             |---|---|---|---|\n\
             | a | pass (1.0 s) | pass (2.0 s) | **FAIL** (3.0 s) |\n\
             | b | pass (4.0 s) | **not run** | **not run** |\n\
             \n\
             | version_gate | 0.116.0 |\n|---|---|\n| result | pass (0.5 s) |\n\
             {END}\n"
        );
        pretty_assertions::assert_eq!(render(&run), expected);
        let (text, failures) = summary(&run);
        assert_eq!(failures, 3);
        assert_eq!(
            text,
            "4 of 7 cells passed on 3 release(s), 3 scenario(s).\n  \
             - a on 0.172.0: FAIL\n  - b on 0.171.0: not run\n  - b on 0.172.0: not run"
        );
    }

    #[test]
    fn an_all_green_run_passes_and_a_silent_one_fails() {
        let green = sample(
            "0.171.0",
            "live a on Codex 0.122.0: ok in 1.0s\nlive a on Codex 0.171.0: ok in 1.0s\n",
            true,
        );
        assert_eq!(summary(&green).1, 0);
        assert!(render(&green).contains("| scenario | 0.122.0 | 0.171.0 |\n"));
        assert!(render(&green).contains("0.171.0, which is in the matrix"));
        // A build failure prints no scenario line: that is a failure, never an empty pass.
        assert_eq!(summary(&sample("0.171.0", "error[E0425]", false)).1, 1);
        // Every cell green but cargo failed (another test broke): still a failure.
        let broken = Run {
            cargo_ok: false,
            ..green
        };
        assert_eq!(summary(&broken).1, 1);
    }

    #[test]
    fn only_the_marked_section_is_replaced() {
        let text = format!("# Title\n\nintro\n\n{BEGIN}\nold\n{END}\n\n## Rest\n");
        let section = format!("{BEGIN}\nnew\n{END}\n");
        assert_eq!(
            replace_section(&text, &section).unwrap(),
            format!("# Title\n\nintro\n\n{BEGIN}\nnew\n{END}\n\n## Rest\n")
        );
        assert!(replace_section("# no markers\n", &section).is_err());
    }

    #[test]
    fn dates_are_utc_calendar_days() {
        let at = |secs| utc_date(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01");
        assert_eq!(at(951_782_400), "2000-02-29");
        assert_eq!(at(1_796_083_199), "2026-11-30");
        assert_eq!(at(1_796_083_200), "2026-12-01");
    }
}
