//! The command line: flags as clap parses them, resolved once into a [`Config`], and the
//! exit-code contract.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{self, IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::checks::Severity;
use crate::input::{self, EhloName};
use crate::net::{Config, ConnectTo, Net};
use crate::observe::Families;
use crate::output;
use crate::report::tlsrpt::ReportFormat;
use crate::report::{self, CheckFormat, Format, LintFormat, Sink, Style};
use crate::run::InOrder;
use crate::snapshot::Snapshot;
use crate::state::State;
use crate::tally::Tally;

/// Exit status: nothing at or above `--fail-on`.
pub const EXIT_OK: u8 = 0;
/// Exit status: findings at or above `--fail-on`.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status: usage error, or the audit could not run (including: port 25 blocked here).
pub const EXIT_ERROR: u8 = 2;

/// Certificates that expire within this many days are reported (`--expiry-warning`).
const EXPIRY_WARNING_DAYS: u32 = 14;

#[derive(Debug, Parser)]
#[command(
    name = "mtasts",
    version,
    about = "Audit MTA-STS (RFC 8461) and SMTP TLS Reporting (RFC 8460) deployments the way sending MTAs see them",
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit domains from the outside: DNS records, the policy, and every MX address.
    Check(Box<CheckArgs>),
    /// Check policy files offline, before publishing them (FILE, or - for standard input).
    Lint(LintArgs),
    /// Sum up TLS-RPT reports: what failed, where, for whom, and what would reproduce it.
    Report(ReportArgs),
    /// Draft a first deployment from the live MX hosts: the policy, the two TXT records, and
    /// the order in which to publish them; judged as mtasts check will judge it.
    Init(Box<InitArgs>),
    /// List every check: id, severity, RFC 8460 result-type, meaning and RFC section.
    Checks {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The domains to audit (the part after @ in mail addresses); - reads a list from
    /// standard input.
    #[arg(value_name = "DOMAIN", required_unless_present = "domains_file")]
    pub domains: Vec<String>,

    /// Also audit the domains listed in FILE (- for standard input), one per line; # starts
    /// a comment.
    #[arg(long, value_name = "FILE")]
    pub domains_file: Option<PathBuf>,

    /// Audit only the K-th of N slices of the domains (1/4, 2/4, ...), chosen by a stable
    /// hash of each domain: N machines split one list, and their outputs add up to one run.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<input::Shard>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human, help_heading = "Output")]
    pub format: CheckFormat,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Warn about certificates that expire within this many days.
    #[arg(
        long,
        default_value_t = EXPIRY_WARNING_DAYS,
        value_name = "DAYS",
        help_heading = "Checks"
    )]
    pub expiry_warning: u32,

    /// Judge this draft policy (a file, or - for standard input) instead of the published
    /// one: "if I publish this, does every MX pass?". The published one is fetched too, to
    /// judge the change (plan-* checks).
    #[arg(long, value_name = "FILE", help_heading = "Checks")]
    pub policy_file: Option<String>,

    /// Answer DNS from this zone file (RFC 1035; repeatable) for every name it is
    /// authoritative for, and judge the change from live DNS (plan-* checks). ORIGIN=
    /// names the zone when the file has no $ORIGIN.
    #[arg(long, value_name = "[ORIGIN=]FILE", help_heading = "Checks")]
    pub zone: Vec<String>,

    /// Exit with 1 unless every domain is enforce-ready: a sender honouring the policy in
    /// enforce mode would deliver everything it delivers today (unknown counts as not ready).
    #[arg(long, help_heading = "Checks")]
    pub require_enforce_ready: bool,

    /// Keep each domain's MTA-STS state in this JSON file and report what changed since
    /// the last run (drift-* checks). It is written at the end, atomically.
    #[arg(long, value_name = "FILE", help_heading = "Checks", conflicts_with_all = ["zone", "policy_file"])]
    pub state: Option<PathBuf>,

    #[command(flatten)]
    pub network: NetworkArgs,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The domain (the part after @ in mail addresses).
    #[arg(value_name = "DOMAIN")]
    pub domain: String,

    /// The policy's mode: testing (senders deliver as before and report failures) or
    /// enforce (they refuse MX hosts that fail TLS).
    #[arg(long, value_enum, default_value_t = InitMode::Testing, help_heading = "Policy")]
    pub mode: InitMode,

    /// The policy's max_age: how long senders cache it, in seconds (at most a year).
    #[arg(long, default_value_t = 86_400, value_name = "SECONDS", help_heading = "Policy",
          value_parser = clap::value_parser!(u64).range(0..=31_557_600))]
    pub max_age: u64,

    /// Also write the policy to DIR/.well-known/mta-sts.txt, ready to upload (not when an
    /// enforce draft would not pass).
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub output: Option<PathBuf>,

    /// Replace a different file already at DIR/.well-known/mta-sts.txt.
    #[arg(long, requires = "output", help_heading = "Output")]
    pub force: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human, help_heading = "Output")]
    pub format: Format,

    /// Colour: auto (on a terminal, unless NO_COLOR is set or TERM=dumb), always or never.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN", help_heading = "Output")]
    pub color: ColorWhen,

    #[command(flatten)]
    pub network: NetworkArgs,
}

/// The modes `mtasts init` drafts (a policy in mode none is for withdrawing one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitMode {
    Testing,
    Enforce,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Policy files to check (- for standard input).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Human, help_heading = "Output")]
    pub format: LintFormat,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Reports: JSON, gzip, .eml messages or mbox files, each holding one report or many
    /// (- for standard input).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human, help_heading = "Output")]
    pub format: ReportFormat,
    /// Exit with 1 when the reports hold failed sessions or findings of this severity or
    /// worse (see the README for what each severity means).
    #[arg(long, value_enum, default_value_t = FailOn::Error, value_name = "LEVEL", help_heading = "Output")]
    pub fail_on: FailOn,
    /// Colour: auto (on a terminal, unless NO_COLOR is set or TERM=dumb), always or never.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN", help_heading = "Output")]
    pub color: ColorWhen,
    /// Print no summary, only errors (on standard error); the exit code tells.
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,
    #[command(flatten)]
    pub to: Destination,
}

/// `--output FILE`, for every command that writes a report.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct Destination {
    /// Write the report to FILE instead of standard output, atomically: to a temporary file
    /// beside it, renamed over FILE once complete (for node_exporter's textfile collector).
    #[arg(short, long, value_name = "FILE", conflicts_with = "quiet")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Exit with 1 when a finding of this severity or worse is reported.
    #[arg(long, value_enum, default_value_t = FailOn::Error, value_name = "LEVEL")]
    pub fail_on: FailOn,
    /// Colour: auto (on a terminal, unless NO_COLOR is set or TERM=dumb), always (pipes too,
    /// for less -R; even with NO_COLOR) or never.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
    /// The same as --color never, which replaced it.
    #[arg(long, hide = true, conflicts_with = "color")]
    pub no_color: bool,
    /// Print no report, only errors (on standard error); the exit code tells.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also show the hints of info findings and certificate details.
    #[arg(short, long)]
    pub verbose: bool,
    #[command(flatten)]
    pub to: Destination,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Network")]
pub struct NetworkArgs {
    /// Bound on one network operation (a lookup, a connection, a reply, the fetch), in seconds.
    #[arg(long, default_value = "10", value_name = "SECONDS", value_parser = Plain(parse_seconds))]
    pub timeout: Duration,
    /// Bound on the whole audit of one domain, in seconds [default: 4 x --timeout].
    #[arg(long, value_name = "SECONDS", value_parser = Plain(parse_seconds))]
    pub deadline: Option<Duration>,
    /// Query this nameserver instead of the system's resolver.
    #[arg(long, value_name = "IP[:PORT]", value_parser = Plain(parse_resolver))]
    pub resolver: Option<SocketAddr>,
    /// Also trust the CA certificates in this PEM file (for labs and private test setups).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Connect to ADDR:PORT instead of HOST:PORT, still verifying TLS for HOST (curl's syntax;
    /// HOST may be an address, IPv6 in brackets, to redirect just that address). Repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDR:PORT")]
    pub connect_to: Vec<ConnectTo>,
    /// The name to send with EHLO: a host name, or an address literal such as [192.0.2.1].
    #[arg(long, default_value = "mtasts.invalid", value_name = "NAME", value_parser = Plain(str::parse::<EhloName>))]
    pub ehlo_name: EhloName,
    /// Check DNS and the policy only; skip the SMTP checks of the MX hosts.
    #[arg(long)]
    pub skip_mx: bool,
    /// Probe only the IPv4 addresses of MX hosts and the policy host.
    #[arg(long, conflicts_with = "ipv6_only")]
    pub ipv4_only: bool,
    /// Probe only the IPv6 addresses of MX hosts and the policy host.
    #[arg(long)]
    pub ipv6_only: bool,
    /// Domains audited at once.
    #[arg(long, default_value_t = crate::limits::JOBS, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// Network connections open at once, over the whole run.
    #[arg(long, default_value_t = 64, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_connections: u16,
}

/// The `--color` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

/// The `--fail-on` threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

impl FailOn {
    fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Never => None,
        }
    }
}

/// A value parser whose refusal shows the value escaped: clap's own message prints it as
/// typed, and a CR or an escape sequence in it would rewrite the terminal.
#[derive(Clone)]
struct Plain<T>(fn(&str) -> Result<T, String>);

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Plain<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let text = value.to_str().ok_or("it is not valid UTF-8".to_string());
        text.and_then(self.0).map_err(|why| {
            let arg = arg.map_or_else(|| "the value".to_string(), |a| format!("'{a}'"));
            let shown = input::quote(&value.to_string_lossy());
            clap::Error::raw(
                ErrorKind::ValueValidation,
                format!("invalid value {shown} for {arg}: {why}"),
            )
            .format(&mut cmd.clone())
        })
    }
}

/// Seconds as people type them: fractions down to a millisecond, at most an hour.
fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs = s
        .parse::<f64>()
        .ok()
        .filter(|secs| secs.is_finite())
        .ok_or("it is not a number of seconds")?;
    if secs < 0.0 {
        return Err("it cannot be negative".into());
    }
    if secs == 0.0 {
        return Err("it must be more than 0 seconds".into());
    }
    if secs < 0.001 {
        return Err("it must be at least 0.001 seconds (1 ms)".into());
    }
    if secs > 3600.0 {
        return Err("it must be at most 3600 seconds (an hour)".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A nameserver's address, port 53 unless one is given.
fn parse_resolver(s: &str) -> Result<SocketAddr, String> {
    let addr = s
        .parse::<SocketAddr>()
        .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .map_err(|_| "it is not an IP address, IP:PORT or [IPv6]:PORT".to_string())?;
    let ip = addr.ip().to_canonical();
    if ip.is_unspecified() {
        return Err(format!(
            "{ip} is the unspecified address: it means any address, not a nameserver"
        ));
    }
    if ip.is_multicast() {
        return Err(format!("{ip} is a multicast address, not a nameserver"));
    }
    if ip == IpAddr::V4(Ipv4Addr::BROADCAST) {
        return Err(format!("{ip} is the broadcast address, not a nameserver"));
    }
    if addr.port() == 0 {
        return Err(
            "port 0 is not a port a nameserver answers on (leave the port out for 53)".into(),
        );
    }
    Ok(addr)
}

/// The webpki roots plus the certificates of `ca_file`.
fn roots(ca_file: Option<&PathBuf>) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let mut added = 0;
        for der in CertificateDer::pem_file_iter(path)
            .with_context(|| format!("reading {}", path.display()))?
        {
            let der = der.with_context(|| format!("reading {}", path.display()))?;
            roots.add(der).with_context(|| {
                format!("a certificate in {} is not a usable CA", path.display())
            })?;
            added += 1;
        }
        if added == 0 {
            bail!("{} holds no PEM certificate", path.display());
        }
    }
    Ok(roots)
}

impl CheckArgs {
    /// The run as reports describe it.
    fn run(&self, judged_at: i64) -> report::Run {
        let n = &self.network;
        report::Run {
            judged_at,
            timeout: n.timeout,
            deadline: n.deadline(),
            families: n.families(),
            skip_mx: n.skip_mx,
            policy_file: self.policy_file.clone(),
            zones: self.zone.clone(),
            state: self.state.as_ref().map(|p| p.display().to_string()),
            expiry_warning_days: self.expiry_warning,
            resolver: n.resolver.map(|r| r.to_string()),
            ca_file: n.ca_file.as_ref().map(|p| p.display().to_string()),
            ehlo_name: n.ehlo_name.to_string(),
        }
    }
}

impl NetworkArgs {
    fn deadline(&self) -> Duration {
        self.deadline.unwrap_or(self.timeout * 4)
    }

    fn families(&self) -> Families {
        match (self.ipv4_only, self.ipv6_only) {
            (true, _) => Families::V4Only,
            (_, true) => Families::V6Only,
            _ => Families::Both,
        }
    }

    pub fn config(&self) -> anyhow::Result<Config> {
        Ok(Config {
            timeout: self.timeout,
            deadline: self.deadline(),
            resolver: self.resolver,
            roots: Arc::new(roots(self.ca_file.as_ref())?),
            connect_to: self.connect_to.clone(),
            ehlo_name: self.ehlo_name.clone(),
            families: self.families(),
            skip_mx: self.skip_mx,
            policy_file: None,
            zones: None,
            jobs: usize::from(self.jobs),
            max_connections: usize::from(self.max_connections),
        })
    }
}

impl OutputArgs {
    /// `--color`, or never for the old `--no-color`.
    fn color_when(&self) -> ColorWhen {
        if self.no_color {
            ColorWhen::Never
        } else {
            self.color
        }
    }

    fn style(&self) -> Style {
        self.to.style(self.color_when(), self.verbose)
    }
}

impl Destination {
    /// How the human reporter writes to this destination.
    fn style(&self, when: ColorWhen, verbose: bool) -> Style {
        Style {
            color: use_color(
                when,
                std::env::var_os("NO_COLOR").as_deref(),
                std::env::var_os("TERM").as_deref(),
                self.terminal(),
            ),
            verbose,
            width: self.width(),
        }
    }

    /// Whether the report goes to a terminal.
    fn terminal(&self) -> bool {
        self.output.is_none() && std::io::stdout().is_terminal()
    }

    /// The width of the terminal the report goes to, if it goes to one: hints wrap there.
    fn width(&self) -> Option<usize> {
        if self.output.is_some() {
            return None;
        }
        console::Term::stdout()
            .size_checked()
            .map(|(_, columns)| usize::from(columns))
    }
}

/// Whether to colour standard output. `auto` colours only a terminal that can show it,
/// and not when `NO_COLOR` is set non-empty (<https://no-color.org>); `always` is asked for
/// by name, so it wins over `NO_COLOR`.
fn use_color(
    when: ColorWhen,
    no_color_env: Option<&OsStr>,
    term: Option<&OsStr>,
    terminal: bool,
) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            terminal && no_color_env.is_none_or(OsStr::is_empty) && term.is_none_or(|t| t != "dumb")
        }
    }
}

/// The exit-code contract: 2 when the audit could not run in full (this network reaches
/// no DNS or no port 25), 1 when findings reach the threshold or, asked for, a domain is
/// not enforce-ready, 0 otherwise.
pub fn exit_code(tally: &Tally, fail_on: FailOn, require_enforce_ready: bool) -> u8 {
    if tally.blind() {
        return EXIT_ERROR;
    }
    let reached = fail_on
        .threshold()
        .is_some_and(|t| tally.worst.is_some_and(|w| w >= t));
    if reached || (require_enforce_ready && tally.not_ready > 0) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// A policy file's bytes (`-`: standard input), up to one byte past what senders read, so
/// that an oversized file is recognised without reading it all.
fn read_policy(path: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let limit = crate::limits::MAX_POLICY_BYTES as u64 + 1;
    let mut body = Vec::new();
    if path == "-" {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut body)
            .context("reading standard input")?;
    } else {
        let file = std::fs::File::open(path).with_context(|| format!("reading {path}"))?;
        file.take(limit)
            .read_to_end(&mut body)
            .with_context(|| format!("reading {path}"))?;
    }
    Ok(body)
}

/// The zone files of `--zone [ORIGIN=]FILE`, each read up to its limit and parsed.
fn read_zones(specs: &[String]) -> anyhow::Result<crate::zone::Zones> {
    use std::io::Read;
    let limit = crate::limits::MAX_ZONE_BYTES;
    let mut files = Vec::new();
    for spec in specs {
        let (origin, path) = match spec.split_once('=') {
            Some((origin, path)) if !origin.contains('/') => (Some(origin.to_string()), path),
            _ => (None, spec.as_str()),
        };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(limit as u64 + 1).read_to_end(&mut bytes))
            .with_context(|| format!("reading {path}"))?;
        if bytes.len() > limit {
            bail!("{path}: a zone file larger than {limit} bytes is not read");
        }
        let Ok(text) = String::from_utf8(bytes) else {
            bail!("{path}: a zone file must be text (UTF-8)");
        };
        files.push((path.to_string(), origin, text));
    }
    crate::zone::Zones::parse(&files).map_err(|e| anyhow::anyhow!(report::escape(&e.to_string())))
}

/// Runs a parsed command line, writing reports to `out`, and to `err` one line for each
/// input that is refused while the others go on.
pub fn run(cli: Cli, out: &mut impl Write, err: &mut impl Write) -> anyhow::Result<u8> {
    match cli.command {
        Command::Check(args) => {
            let to = args.output.to.output.clone();
            output::written(to.as_deref(), out, |mut o| check(&args, &mut o, err))
        }
        Command::Lint(args) => {
            let to = args.output.to.output.clone();
            output::written(to.as_deref(), out, |mut o| lint(&args, &mut o, err))
        }
        Command::Report(args) => {
            let to = args.to.output.clone();
            output::written(to.as_deref(), out, |mut o| report(&args, &mut o, err))
        }
        Command::Init(args) => init(&args, out, err),
        Command::Checks { format } => {
            report::checks(format, out)?;
            Ok(EXIT_OK)
        }
    }
}

fn check(args: &CheckArgs, out: &mut impl Write, err: &mut impl Write) -> anyhow::Result<u8> {
    let mut cfg = args.network.config()?;
    if let Some(path) = &args.policy_file {
        cfg.policy_file = Some((path.clone(), read_policy(path)?));
    }
    if !args.zone.is_empty() {
        cfg.zones = Some(Arc::new(read_zones(&args.zone)?));
    }
    // Read before anything is audited: a file we may not overwrite stops the run here.
    let state = args.state.as_deref().map(State::read).transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let run = args.run(crate::unix_now());
    let (domains, known) = domain_list(args);
    let style = args.output.style();
    let mut quiet = io::sink();
    let mut sink = if args.output.quiet {
        report::sink(args.format, style, &mut quiet)
    } else {
        report::sink(args.format, style, out)
    };
    let progress = progress(args, known);
    let mut drift = state.map(|state| (state, BTreeMap::new()));
    let (tally, refused) = runtime.block_on(async {
        let net = Net::new(cfg)?;
        let drift = drift.as_mut().map(|(state, seen)| (&*state, seen));
        sink.begin(&run)?;
        audit_all(&net, args, domains, &mut *sink, drift, &progress, err).await
    })?;
    progress.finish_and_clear();
    if let Some((state, seen)) = drift {
        state.write(seen)?;
    }
    if tally.domains == 0 && refused == 0 {
        writeln!(err, "mtasts: no domain to audit")?;
        return Ok(EXIT_ERROR);
    }
    let code = exit_code(&tally, args.output.fail_on, args.require_enforce_ready);
    Ok(worst(code, refused > 0))
}

/// Audits the domains as they come and writes each (after the run's header), in input
/// order or as judged as the format wants, with its drift from `--state`; returns the
/// tally and how many inputs were refused (each told on `err`).
async fn audit_all(
    net: &Net,
    args: &CheckArgs,
    mut domains: tokio::sync::mpsc::Receiver<Listed>,
    sink: &mut dyn Sink,
    mut drift: Option<(&State, &mut BTreeMap<String, Snapshot>)>,
    progress: &ProgressBar,
    err: &mut impl Write,
) -> anyhow::Result<(Tally, usize)> {
    let mut refused = 0;
    let mut place = 0;
    let input = futures_util::stream::poll_fn(|cx| domains.poll_recv(cx)).filter_map(|listed| {
        let next = match listed {
            Listed::Domain(d) => {
                place += 1;
                Some((place - 1, d))
            }
            Listed::Refused(why) => {
                refused += 1;
                let _ = progress.suspend(|| writeln!(err, "mtasts: {why}"));
                None
            }
        };
        std::future::ready(next)
    });
    let jobs = usize::from(args.network.jobs);
    let ordered = args.format.ordered();
    let window = if ordered { jobs * 4 } else { jobs };
    let mut tally = Tally::default();
    {
        let mut order = InOrder::default();
        let judged = crate::audit_stream(net, input, args.expiry_warning, jobs, window);
        tokio::pin!(judged);
        while let Some(j) = judged.next().await {
            progress.inc(1);
            let ready = if ordered {
                order.push(j.place, j)
            } else {
                vec![j]
            };
            for mut j in ready {
                if let Some((state, seen)) = drift.as_mut() {
                    compare_state(&mut j.report, state, seen, args.expiry_warning);
                }
                tally.add(&j.report);
                progress.suspend(|| sink.domain(&j.report))?;
            }
        }
    }
    sink.end(&tally)?;
    Ok((tally, refused))
}

/// `--state`: the drift of one judged domain from its last snapshot, and the snapshot to
/// keep (none when its DNS failed: the last one stays).
fn compare_state(
    report: &mut crate::judge::DomainReport,
    state: &State,
    seen: &mut BTreeMap<String, Snapshot>,
    expiry_warning_days: u32,
) {
    let Some(now_seen) = Snapshot::observed(report) else {
        return;
    };
    let domain = report.observations.domain.clone();
    let kept = match state.get(&domain) {
        Some(before) => {
            crate::judge::drift(report, before, &now_seen, expiry_warning_days);
            now_seen.carry(before)
        }
        None => now_seen,
    };
    seen.insert(domain, kept);
}

/// One entry of the input, as the reading thread hands it over.
enum Listed {
    Domain(String),
    /// Why an input was refused, with where it was found.
    Refused(String),
}

/// The domains to audit, read in a thread of their own (a list on standard input may come
/// slowly) and handed over through a bounded channel, so a list of millions is never held
/// at once; and their number, when known beforehand (arguments only).
fn domain_list(args: &CheckArgs) -> (tokio::sync::mpsc::Receiver<Listed>, Option<u64>) {
    let (tx, rx) = tokio::sync::mpsc::channel(1024);
    let named: Vec<String> = args.domains.clone();
    let file = args.domains_file.clone();
    let shard = args.shard;
    let known = (file.is_none() && !named.iter().any(|d| d == "-")).then_some(named.len() as u64);
    std::thread::spawn(move || {
        let mut list = input::List::new(shard);
        let mut send = |entry: input::Entry, place: &dyn Fn() -> String| {
            let listed = match entry {
                input::Entry::Audit(d) => Listed::Domain(d),
                input::Entry::Skip => return true,
                input::Entry::Refused(why) => Listed::Refused(format!("{}{why}", place())),
            };
            tx.blocking_send(listed).is_ok()
        };
        for typed in &named {
            if typed == "-" {
                if !read_list(io::stdin().lock(), "standard input", &mut list, &mut send) {
                    return;
                }
            } else if !send(list.take(typed), &|| String::new()) {
                return;
            }
        }
        if let Some(path) = file {
            let name = path.display().to_string();
            let opened: Result<Box<dyn io::BufRead>, _> = if name == "-" {
                Ok(Box::new(io::stdin().lock()))
            } else {
                std::fs::File::open(&path).map(|f| Box::new(io::BufReader::new(f)) as _)
            };
            match opened {
                Ok(reader) => {
                    read_list(reader, &name, &mut list, &mut send);
                }
                Err(e) => {
                    let _ = tx.blocking_send(Listed::Refused(format!("reading {name}: {e}")));
                }
            }
        }
    });
    (rx, known)
}

/// Feeds the lines of a list to `send`, each refusal named by its line; false when the
/// audit stopped listening.
fn read_list(
    reader: impl io::BufRead,
    name: &str,
    list: &mut input::List,
    send: &mut impl FnMut(input::Entry, &dyn Fn() -> String) -> bool,
) -> bool {
    for (i, line) in reader.split(b'\n').enumerate() {
        let line = match line {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                let why = input::Entry::Refused(input::NotADomain {
                    typed: String::new(),
                    why: e.to_string(),
                });
                return send(why, &|| format!("{name} line {}: ", i + 1));
            }
        };
        if !send(list.take(&line), &|| format!("{name} line {}: ", i + 1)) {
            return false;
        }
    }
    true
}

/// A progress bar on standard error, for people watching a run of several domains.
fn progress(args: &CheckArgs, known: Option<u64>) -> ProgressBar {
    let watched = std::io::stderr().is_terminal()
        && args.format == CheckFormat::Human
        && !args.output.quiet
        && known.is_none_or(|n| n > 1);
    if !watched {
        return ProgressBar::hidden();
    }
    let bar = match known {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} domains, {elapsed} (eta {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {pos} domains, {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar
}

fn lint(args: &LintArgs, out: &mut impl Write, err: &mut impl Write) -> anyhow::Result<u8> {
    let mut reports = Vec::new();
    let mut unreadable = false;
    for path in &args.files {
        match read_policy(path) {
            Ok(body) => reports.push(crate::judge::lint(path, body)),
            Err(e) => {
                writeln!(err, "mtasts: {e:#}")?;
                unreadable = true;
            }
        }
    }
    if reports.is_empty() {
        return Ok(EXIT_ERROR);
    }
    if !args.output.quiet {
        report::render_lint(&reports, args.format, args.output.style(), out)?;
        out.flush()?;
    }
    let mut tally = Tally::default();
    tally.worst = reports
        .iter()
        .flat_map(|r| &r.findings)
        .map(|f| f.severity())
        .max();
    let code = exit_code(&tally, args.output.fail_on, false);
    Ok(worst(code, unreadable))
}

/// `mtasts init`: the domain observed as `check` observes it, the draft judged as `check`
/// will judge it once published; the file written when asked and safe; 2 when this network
/// cannot see what it needs or the file was refused, else 1 when the draft would not pass.
fn init(args: &InitArgs, out: &mut impl Write, err: &mut impl Write) -> anyhow::Result<u8> {
    use crate::init::Options;
    use crate::policy::Mode;
    use crate::report::init::{Answer, Written};
    let domain = match input::domain(&args.domain) {
        Ok(domain) => domain,
        Err(why) => {
            let refused = input::NotADomain {
                typed: args.domain.clone(),
                why,
            };
            writeln!(err, "mtasts: {refused}")?;
            return Ok(EXIT_ERROR);
        }
    };
    let mode = match args.mode {
        InitMode::Testing => Mode::Testing,
        InitMode::Enforce => Mode::Enforce,
    };
    let opts = Options {
        mode,
        max_age: args.max_age,
    };
    let cfg = args.network.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let now = crate::unix_now();
    let outcome = runtime.block_on(async {
        let net = Net::new(cfg)?;
        let observed = crate::run::observe(&net, &domain).await;
        let certs = crate::cert::Memo::new(net.config().roots.clone());
        let ctx = observed.context(&net, &certs, now, EXPIRY_WARNING_DAYS);
        anyhow::Ok(crate::init::init(observed.obs, &ctx, opts))
    })?;
    let mut tally = Tally::default();
    tally.add(&outcome.report);
    let mut code = exit_code(&tally, FailOn::Error, false);
    let written = match (&args.output, &outcome.draft) {
        (Some(dir), Some(draft)) => {
            let path = dir.join(".well-known").join("mta-sts.txt");
            // A testing policy never makes senders refuse mail (RFC 8461 §5); an enforce one
            // is safe only when every MX host was seen to pass.
            let checked = outcome.report.observations.mx_checked;
            let safe = mode == Mode::Testing || (code == EXIT_OK && checked);
            let written = if safe {
                write_policy(&path, &draft.policy_text(), args.force)
            } else {
                Written::Withheld {
                    path: path.display().to_string(),
                }
            };
            if let Written::Refused { path, why } = &written {
                writeln!(
                    err,
                    "mtasts: {}: {}",
                    report::escape(path),
                    report::escape(why)
                )?;
                code = code.max(EXIT_ERROR);
            }
            written
        }
        _ => Written::NotAsked,
    };
    let answer = match exit_code(&tally, FailOn::Error, false) {
        EXIT_OK => Answer::Passes,
        EXIT_FINDINGS => Answer::Fails,
        _ => Answer::Unseen,
    };
    // init's --output is the directory of the site, not the report's file: the report
    // goes to standard output.
    let style = Destination { output: None }.style(args.color, false);
    report::init::render(&outcome, &written, answer, args.format, style, out)?;
    out.flush()?;
    Ok(code)
}

/// Writes the policy at `path` (creating its directories), unless a different file is
/// there and `force` is not given.
fn write_policy(path: &std::path::Path, text: &str, force: bool) -> report::init::Written {
    use crate::report::init::Written;
    use std::io::Read;
    let shown = path.display().to_string();
    let refused = |why: String| Written::Refused {
        path: shown.clone(),
        why,
    };
    let mut existing = Vec::new();
    let limit = crate::limits::MAX_POLICY_BYTES as u64 + 1;
    let replaced = match std::fs::File::open(path) {
        Ok(file) => {
            if let Err(e) = file.take(limit).read_to_end(&mut existing) {
                return refused(format!("reading the file there: {e}"));
            }
            if existing == text.as_bytes() {
                return Written::Unchanged { path: shown };
            }
            if !force {
                return refused(
                    "a different file is there; it was left as it is (--force replaces it)".into(),
                );
            }
            true
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return refused(format!("reading the file there: {e}")),
    };
    let done = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(path, text));
    match done {
        Ok(()) => Written::Written {
            path: shown,
            replaced,
        },
        Err(e) => refused(format!("writing it: {e}")),
    }
}

/// `mtasts report`: every input read (bounded), its reports summed up with the others;
/// what could not be read said on standard error; 2 when something could not be read,
/// else 1 when what the reports say reaches `--fail-on`.
fn report(args: &ReportArgs, out: &mut impl Write, err: &mut impl Write) -> anyhow::Result<u8> {
    use crate::tlsrpt::{self, InputError, MAX_INPUT_BYTES, ReadError, Summary};
    use std::io::Read;
    let read = |path: &str| -> Result<Vec<u8>, ReadError> {
        let limit = MAX_INPUT_BYTES as u64 + 1;
        let mut bytes = Vec::new();
        let done = if path == "-" {
            std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
        } else {
            std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut bytes))
        };
        match done {
            Err(e) => Err(ReadError::Io(e.to_string())),
            Ok(_) if bytes.len() > MAX_INPUT_BYTES => Err(ReadError::InputTooLarge),
            Ok(_) => Ok(bytes),
        }
    };
    let mut builder = Summary::builder();
    for path in &args.files {
        builder.begin(path);
        let name = (path != "-")
            .then(|| std::path::Path::new(path).file_name())
            .flatten()
            .and_then(OsStr::to_str);
        match read(path) {
            Ok(bytes) => tlsrpt::read(&bytes, name).for_each(|item| builder.add(item)),
            Err(e) => builder.add(Err(InputError::whole(e))),
        }
    }
    let summary = builder.finish();
    for input in &summary.inputs {
        for e in &input.errors {
            let id = e.error.check().id();
            writeln!(
                err,
                "mtasts: {}: {} [{id}]",
                report::escape(&input.path),
                report::escape(&e.to_string())
            )?;
        }
    }
    if !args.quiet {
        let style = args.to.style(args.color, false);
        report::tlsrpt::render(&summary, args.format, style, out)?;
        out.flush()?;
    }
    let code = match (args.fail_on.threshold(), summary.worst()) {
        (Some(threshold), Some(worst)) if worst >= threshold => EXIT_FINDINGS,
        _ => EXIT_OK,
    };
    Ok(worst(code, summary.unreadable()))
}

/// The exit code of a run in which some inputs were refused: a usage error, whatever the
/// others found.
fn worst(code: u8, refused: bool) -> u8 {
    if refused { code.max(EXIT_ERROR) } else { code }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_input_makes_the_exit_code_2_whatever_the_others_found() {
        assert_eq!(worst(EXIT_OK, true), EXIT_ERROR);
        assert_eq!(worst(EXIT_FINDINGS, true), EXIT_ERROR);
        assert_eq!(worst(EXIT_FINDINGS, false), EXIT_FINDINGS);
        assert_eq!(worst(EXIT_OK, false), EXIT_OK);
    }

    #[test]
    fn colour_follows_the_flag_then_no_color_then_the_terminal() {
        use ColorWhen::{Always, Auto, Never};
        let os = |s: &'static str| Some(OsStr::new(s));
        #[rustfmt::skip]
        let table = [
            // flag,  NO_COLOR, TERM,             terminal, colour
            (Auto,   None,     os("xterm"),      true,     true),
            (Auto,   None,     None,             true,     true),
            (Auto,   os(""),   os("xterm"),      true,     true), // NO_COLOR="" does not count
            (Auto,   os("1"),  os("xterm"),      true,     false),
            (Auto,   None,     os("dumb"),       true,     false),
            (Auto,   None,     os("xterm"),      false,    false), // a pipe or a file
            (Always, None,     os("xterm"),      false,    true),  // for less -R
            (Always, os("1"),  os("dumb"),       false,    true),  // asked for by name
            (Never,  None,     os("xterm"),      true,     false),
            (Never,  os(""),   os("xterm"),      true,     false),
        ];
        for (when, no_color, term, terminal, want) in table {
            assert_eq!(
                use_color(when, no_color, term, terminal),
                want,
                "{when:?} NO_COLOR={no_color:?} TERM={term:?} terminal={terminal}"
            );
        }
    }

    #[test]
    fn no_color_is_the_old_spelling_of_color_never() {
        let when = |args: &[&str]| {
            let cli = Cli::try_parse_from(["mtasts", "lint", "-"].iter().chain(args))?;
            match cli.command {
                Command::Lint(lint) => Ok(lint.output.color_when()),
                _ => Err(clap::Error::new(ErrorKind::InvalidSubcommand)),
            }
        };
        assert_eq!(when(&[]).ok(), Some(ColorWhen::Auto));
        assert_eq!(when(&["--color", "always"]).ok(), Some(ColorWhen::Always));
        assert_eq!(when(&["--color", "never"]).ok(), Some(ColorWhen::Never));
        assert_eq!(when(&["--no-color"]).ok(), Some(ColorWhen::Never));
        assert!(when(&["--no-color", "--color", "always"]).is_err());
        assert!(when(&["--color", "sometimes"]).is_err());
    }

    #[test]
    fn seconds_parse_down_to_a_millisecond_and_up_to_an_hour() {
        for (typed, want) in [
            ("10", Duration::from_secs(10)),
            ("0.5", Duration::from_millis(500)),
            ("0.001", Duration::from_millis(1)),
            ("3600", Duration::from_secs(3600)),
            ("1e3", Duration::from_secs(1000)),
        ] {
            assert_eq!(parse_seconds(typed), Ok(want), "{typed}");
        }
    }

    #[test]
    fn seconds_are_refused_with_the_reason() {
        for (typed, why) in [
            ("0", "it must be more than 0 seconds"),
            ("0.0", "it must be more than 0 seconds"),
            ("-0", "it must be more than 0 seconds"),
            ("-1", "it cannot be negative"),
            ("-0.5", "it cannot be negative"),
            ("NaN", "it is not a number of seconds"),
            ("inf", "it is not a number of seconds"),
            ("-inf", "it is not a number of seconds"),
            ("ten", "it is not a number of seconds"),
            ("10s", "it is not a number of seconds"),
            ("", "it is not a number of seconds"),
            ("3600.5", "it must be at most 3600 seconds (an hour)"),
            ("1e9", "it must be at most 3600 seconds (an hour)"),
            ("0.0009", "it must be at least 0.001 seconds (1 ms)"),
            ("1e-9", "it must be at least 0.001 seconds (1 ms)"),
        ] {
            assert_eq!(parse_seconds(typed), Err(why.to_string()), "{typed}");
        }
    }

    #[test]
    fn resolvers_parse() {
        let sa = |s: &str| s.parse::<SocketAddr>().expect("a socket address");
        assert_eq!(parse_resolver("127.0.0.1:5353"), Ok(sa("127.0.0.1:5353")));
        assert_eq!(parse_resolver("192.0.2.53"), Ok(sa("192.0.2.53:53")));
        assert_eq!(parse_resolver("::1"), Ok(sa("[::1]:53")));
        assert_eq!(
            parse_resolver("[2001:db8::53]:5353"),
            Ok(sa("[2001:db8::53]:5353"))
        );
    }

    #[test]
    fn resolvers_that_are_no_nameserver_are_refused_with_the_reason() {
        for (typed, why) in [
            (
                "dns.example",
                "it is not an IP address, IP:PORT or [IPv6]:PORT",
            ),
            (
                "192.0.2.53:dns",
                "it is not an IP address, IP:PORT or [IPv6]:PORT",
            ),
            (
                "0.0.0.0",
                "0.0.0.0 is the unspecified address: it means any address, not a nameserver",
            ),
            (
                "[::]:53",
                ":: is the unspecified address: it means any address, not a nameserver",
            ),
            (
                "::ffff:0.0.0.0",
                "0.0.0.0 is the unspecified address: it means any address, not a nameserver",
            ),
            (
                "255.255.255.255",
                "255.255.255.255 is the broadcast address, not a nameserver",
            ),
            (
                "224.0.0.251:5353",
                "224.0.0.251 is a multicast address, not a nameserver",
            ),
            (
                "ff02::fb",
                "ff02::fb is a multicast address, not a nameserver",
            ),
            (
                "192.0.2.53:0",
                "port 0 is not a port a nameserver answers on (leave the port out for 53)",
            ),
        ] {
            assert_eq!(parse_resolver(typed), Err(why.to_string()), "{typed}");
        }
    }
}
