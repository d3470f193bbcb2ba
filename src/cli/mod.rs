//! The `posconf` command line. Each subcommand is a thin shell over a library layer.

pub mod card;
pub mod input;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::crypto::{DesKey, MacAlgorithm};
use crate::inspect::{self, InspectOptions, Lang};
use crate::iso8583::Framing;
use crate::profile::Profile;

#[derive(Parser)]
#[command(
    name = "posconf",
    version,
    about = "Conformance test harness for China UnionPay direct-connect POS terminals"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum FramingArg {
    Auto,
    Tcp,
    Serial,
    Bare,
    Body,
}

impl From<FramingArg> for Framing {
    fn from(f: FramingArg) -> Framing {
        match f {
            FramingArg::Auto => Framing::Auto,
            FramingArg::Tcp => Framing::Tcp,
            FramingArg::Serial => Framing::Serial,
            FramingArg::Bare => Framing::Bare,
            FramingArg::Body => Framing::Body,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    Zh,
    En,
    Both,
}

#[derive(Clone, Copy, ValueEnum)]
enum BenchWhat {
    Codec,
    Host,
}

#[derive(Subcommand)]
enum Command {
    /// Time the hot paths on this machine (ns per operation).
    Bench {
        #[arg(value_enum)]
        what: BenchWhat,
        /// Iterations per measurement (codec).
        #[arg(long, default_value_t = 1_000_000)]
        iterations: u64,
        /// Concurrent terminals (host).
        #[arg(long, default_value_t = 50)]
        terminals: usize,
        /// Seconds to run (host).
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Purchases per second per terminal (host); 0 = back to back (maximum throughput).
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Decode one ISO 8583 frame given as hex (argument, --file, or stdin) and print its fields.
    ///
    /// Exit codes: 0 decoded (and MAC valid if checked), 1 MAC wrong, 2 the bytes do not decode.
    Decode {
        /// Frame as hex; `-` or absent reads stdin.
        hex: Option<String>,
        /// Read the frame from a file (hex text or raw bytes).
        #[arg(long, conflicts_with = "hex")]
        file: Option<PathBuf>,
        /// The input is the ISO 8583 body alone (MTI first); same as --framing body.
        #[arg(long)]
        body: bool,
        /// How the frame is wrapped; `auto` detects the length prefix, serial STX frame or TPDU.
        #[arg(long, value_enum, default_value = "auto")]
        framing: FramingArg,
        /// Verify field 64 with this MAK (8 or 16 bytes hex).
        #[arg(long, value_name = "HEX")]
        mak: Option<String>,
        /// MAC algorithm (default from the profile: ecb).
        #[arg(long, value_name = "ecb|x9.9|x9.19")]
        mac_alg: Option<String>,
        /// Open field 62 of a sign-in response with this TMK/KEK and verify the check values.
        #[arg(long, value_name = "HEX")]
        tmk: Option<String>,
        /// Show PAN, track and PIN-block fields (and opened keys) in clear.
        #[arg(long)]
        reveal: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Field names in Chinese, English or both.
        #[arg(long, value_enum, default_value = "both")]
        lang: LangArg,
        /// Acquirer profile (YAML) for [var] settings such as the pad nibble.
        #[arg(long)]
        profile: Option<PathBuf>,
    },
    /// Run the embedded POS centre until Ctrl-C; every frame and journal event goes to the
    /// transcript (JSONL, flushed per record).
    Host {
        /// Address to listen on (loopback unless told otherwise).
        #[arg(long, default_value = "127.0.0.1:8000")]
        listen: std::net::SocketAddr,
        /// Terminals fixture (YAML); default: the built-in fixtures/terminals.yaml.
        #[arg(long)]
        terminals: Option<PathBuf>,
        /// Cards fixture (YAML); default: the built-in fixtures/cards.yaml.
        #[arg(long)]
        cards: Option<PathBuf>,
        /// Behaviours to apply (YAML list), e.g. answer 51 to the 2nd purchase.
        #[arg(long)]
        behaviours: Option<PathBuf>,
        /// Transcript file (JSONL).
        #[arg(long, default_value = "reports/host-transcript.jsonl")]
        transcript: PathBuf,
        #[arg(long)]
        profile: Option<PathBuf>,
        /// Also serve a serial line (e.g. /dev/ttyUSB0): STX/len/ETX/LRC frames.
        #[arg(long, value_name = "PORT")]
        serial: Option<String>,
        #[arg(long, default_value_t = 9600)]
        baud: u32,
    },
    /// Run the reference terminal against a centre (e.g. `posconf host`): a scripted business
    /// day — sign-in, purchase, balance, void, refund, settlement, sign-off — printing each
    /// outcome and slip. Exit 0 when every step was approved, 1 otherwise, 2 on set-up errors.
    Sim {
        /// The centre's address.
        #[arg(long, default_value = "127.0.0.1:8000")]
        host: std::net::SocketAddr,
        /// Test card (name in the cards fixture).
        #[arg(long, default_value = "good")]
        card: String,
        /// Purchase amount in fen.
        #[arg(long, default_value_t = 12_345)]
        amount: u64,
        /// Terminal id from the terminals fixture (default: the first).
        #[arg(long)]
        terminal: Option<String>,
        #[arg(long)]
        terminals: Option<PathBuf>,
        #[arg(long)]
        cards: Option<PathBuf>,
        /// Instead of the scripted day, serve the reference terminal on this serial automation
        /// port (posconf's JSON-lines protocol) until the port closes or Ctrl-C: the far end of
        /// a `terminal: {driver: serial}` rig.
        #[arg(long, value_name = "PORT")]
        automation: Option<String>,
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
    },
    /// Re-run every conformance rule over a recorded transcript (from `posconf host` or a run).
    ///
    /// Exit codes: 0 conformant, 1 a rule is violated, 2 the transcript cannot be read.
    Check {
        transcript: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Show PAN, track and PIN-block bytes in clear in the violations.
        #[arg(long)]
        reveal: bool,
        #[arg(long)]
        profile: Option<PathBuf>,
    },
    /// Run suites against the embedded default (reference terminal + embedded centre) and write
    /// reports/<run-id>/ (junit.xml, transcript.jsonl, traffic.pcap).
    ///
    /// Exit codes: 0 every selected case passed (skips allowed), 1 a case failed, 2 suite or
    /// set-up error (a broken YAML names file, line and key).
    Run {
        /// Suite files or directories (default: suites/cup-direct).
        #[arg(default_value = "suites/cup-direct")]
        paths: Vec<PathBuf>,
        /// Rig file wiring the terminal, centre and card drivers (default: the reference
        /// terminal and the embedded centre on an ephemeral loopback port).
        #[arg(long)]
        rig: Option<PathBuf>,
        /// Only cases with this id or covering this requirement (prefix match on sections).
        #[arg(long)]
        filter: Option<String>,
        /// The terminal's capability file (its conformance statement); selects the cases that
        /// apply. Default: the rig's, else the reference terminal's.
        #[arg(long)]
        capabilities: Option<PathBuf>,
        /// Report directory (default: reports/<run-id>).
        #[arg(long)]
        report_dir: Option<PathBuf>,
        /// Reference-terminal cases run at once.
        #[arg(long, default_value_t = 8)]
        jobs: usize,
        /// An operator is at this console: `manual` cases prompt instead of being skipped.
        #[arg(long)]
        operator: bool,
        /// Show clear PANs in the HTML report.
        #[arg(long)]
        reveal: bool,
    },
    /// Print the JSON Schema of suite files (default), rig files or capability files, for
    /// editors (e.g. `# yaml-language-server: $schema=posconf-suite.schema.json`).
    Schema {
        #[arg(value_enum, default_value = "suite")]
        what: SchemaWhat,
    },
    /// List the cases of suites with their requirement ids; `--coverage` lists the seed-001
    /// requirement ids no case covers.
    List {
        #[arg(default_value = "suites/cup-direct")]
        paths: Vec<PathBuf>,
        #[arg(long)]
        coverage: bool,
        /// Requirement index for --coverage (default: seed 001's, built in); e.g.
        /// suites/requirements-003.yaml for the PBOC load suite.
        #[arg(long, value_name = "FILE")]
        requirements: Option<PathBuf>,
    },
    /// Write a transcript's frames as a packet capture (synthetic TCP streams) for Wireshark.
    Pcap {
        transcript: PathBuf,
        /// Output file (.pcap).
        out: PathBuf,
    },
    /// PBOC cards: serve the virtual card to pcscd (vpcd), read or load a card in a reader.
    Card {
        #[command(subcommand)]
        cmd: card::CardCmd,
    },
    /// Build a frame from the JSON/YAML document `decode --format json` prints; prints hex.
    ///
    /// Exit codes: 0 built, 2 the document is invalid (the error names the key).
    Encode {
        /// Document file; `-` or absent reads stdin.
        file: Option<PathBuf>,
        /// Compute field 64 with this MAK (8 or 16 bytes hex); adds field 64 if absent.
        #[arg(long, value_name = "HEX")]
        mak: Option<String>,
        #[arg(long, value_name = "ecb|x9.9|x9.19")]
        mac_alg: Option<String>,
        /// Output framing (default: the document's `framing`, as `decode` records it, else tcp).
        #[arg(long, value_enum)]
        framing: Option<FramingArg>,
        #[arg(long)]
        profile: Option<PathBuf>,
    },
}

fn load_profile(path: Option<&PathBuf>) -> Result<Profile, String> {
    match path {
        Some(p) => Profile::load(p).map_err(|e| e.to_string()),
        None => Ok(Profile::default()),
    }
}

fn mac_settings(
    profile: &Profile,
    mak: Option<&str>,
    alg: Option<&str>,
) -> Result<(Option<DesKey>, MacAlgorithm), String> {
    let alg = match alg {
        Some(a) => a
            .parse::<MacAlgorithm>()
            .map_err(|e| format!("--mac-alg: {e}"))?,
        None => profile.mac().map_err(|e| e.to_string())?,
    };
    let key = mak
        .map(|m| DesKey::from_hex(m).map_err(|e| format!("--mak: {e}")))
        .transpose()?;
    Ok((key, alg))
}

/// Entry point; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Command::Bench {
            what: BenchWhat::Host,
            terminals,
            seconds,
            rate,
            format,
            ..
        } => {
            let path = std::env::temp_dir()
                .join(format!("posconf-bench-host-{}.jsonl", std::process::id()));
            let result = crate::bench::host(
                terminals.max(1),
                std::time::Duration::from_secs_f64(seconds.max(0.1)),
                rate.max(0.0),
                &path,
            );
            let _ = std::fs::remove_file(&path);
            match result {
                Ok(b) => {
                    match format {
                        Format::Json => println!("{}", serde_json::to_string_pretty(&b).unwrap_or_default()),
                        Format::Text => println!(
                            "{} terminals at {}, {:.1} s: {} purchases ({:.0}/s, {:.0} messages/s), latency p50 {:.0} us, p90 {:.0} us, p99 {:.0} us, max {:.0} us, {} errors",
                            b.terminals, if b.rate > 0.0 { format!("{}/s each", b.rate) } else { "full speed".to_string() }, b.seconds, b.exchanges, b.exchanges_per_s, b.exchanges_per_s * 2.0, b.p50_us, b.p90_us, b.p99_us, b.max_us, b.errors
                        ),
                    }
                    i32::from(b.errors > 0)
                }
                Err(e) => {
                    eprintln!("posconf bench host: {e}");
                    2
                }
            }
        }
        Command::Bench {
            what: BenchWhat::Codec,
            iterations,
            format,
            ..
        } => {
            let timings = crate::bench::codec(iterations.max(1));
            match format {
                Format::Json => match serde_json::to_string_pretty(&timings) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("posconf bench: {e}");
                        return 2;
                    }
                },
                Format::Text => {
                    for t in &timings {
                        println!(
                            "{:<32} {:>10.1} ns/op  ({} iterations)",
                            t.name, t.ns_per_op, t.iterations
                        );
                    }
                }
            }
            0
        }
        Command::Decode {
            hex,
            file,
            body,
            framing,
            mak,
            mac_alg,
            tmk,
            reveal,
            format,
            lang,
            profile,
        } => {
            let run = || -> Result<i32, String> {
                let tmk = tmk
                    .as_deref()
                    .map(|t| DesKey::from_hex(t).map_err(|e| format!("--tmk: {e}")))
                    .transpose()?;
                let profile = load_profile(profile.as_ref())?;
                let codec = profile.codec().map_err(|e| e.to_string())?;
                let (mak, mac_algorithm) =
                    mac_settings(&profile, mak.as_deref(), mac_alg.as_deref())?;
                let bytes = input::read_frame(hex.as_deref(), file.as_deref())?;
                let framing = if body { Framing::Body } else { framing.into() };
                let opts = InspectOptions {
                    framing,
                    reveal,
                    mak,
                    mac_algorithm,
                    tmk,
                };
                let view = inspect::inspect(&codec, &bytes, &opts);
                match format {
                    Format::Json => {
                        let doc = inspect::to_json(&view);
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?
                        );
                    }
                    Format::Text => {
                        let lang = match lang {
                            LangArg::Zh => Lang::Zh,
                            LangArg::En => Lang::En,
                            LangArg::Both => Lang::Both,
                        };
                        print!("{}", inspect::to_text(&view, lang));
                    }
                }
                if let Some(e) = &view.error {
                    eprintln!("posconf decode: {e}");
                }
                Ok(view.exit_code())
            };
            run().unwrap_or_else(|e| {
                eprintln!("posconf decode: {e}");
                2
            })
        }
        Command::Host {
            listen,
            terminals,
            cards,
            behaviours,
            transcript,
            profile,
            serial,
            baud,
        } => match run_host(
            listen,
            terminals,
            cards,
            behaviours,
            transcript,
            profile,
            serial.map(|p| (p, baud)),
        ) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("posconf host: {e}");
                2
            }
        },
        Command::Sim {
            host,
            terminal,
            terminals,
            cards,
            automation: Some(port),
            baud,
            ..
        } => match serve_automation(host, &port, baud, terminal.as_deref(), terminals, cards) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("posconf sim: {e}");
                3
            }
        },
        Command::Sim {
            host,
            card,
            amount,
            terminal,
            terminals,
            cards,
            automation: None,
            ..
        } => match run_sim(host, &card, amount, terminal.as_deref(), terminals, cards) {
            Ok(true) => 0,
            Ok(false) => 1,
            Err(e) => {
                eprintln!("posconf sim: {e}");
                2
            }
        },
        Command::Check {
            transcript,
            format,
            reveal,
            profile,
        } => {
            let run = || -> Result<i32, String> {
                let profile = load_profile(profile.as_ref())?;
                let codec = profile.codec().map_err(|e| e.to_string())?;
                let (records, warning) =
                    crate::transcript::read_transcript(&transcript).map_err(|e| e.to_string())?;
                if let Some(w) = warning {
                    eprintln!("posconf check: warning: {w}");
                }
                let report = crate::checks::check_records(&records, &codec, reveal);
                match format {
                    Format::Json => println!(
                        "{}",
                        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
                    ),
                    Format::Text => print!("{}", crate::checks::to_text(&report)),
                }
                Ok(i32::from(report.unexpected > 0))
            };
            run().unwrap_or_else(|e| {
                eprintln!("posconf check: {e}");
                2
            })
        }
        Command::Run {
            paths,
            rig,
            filter,
            capabilities,
            report_dir,
            jobs,
            operator,
            reveal,
        } => cmd_run(RunArgs {
            paths,
            rig,
            filter,
            capabilities,
            report_dir,
            jobs,
            operator,
            reveal,
        }),
        Command::Schema { what } => {
            let v = match what {
                SchemaWhat::Suite => crate::suite::model::schema(),
                SchemaWhat::Rig => crate::suite::rig::rig_schema(),
                SchemaWhat::Capabilities => crate::suite::rig::capabilities_schema(),
            };
            match serde_json::to_string_pretty(&v) {
                Ok(text) => {
                    println!("{text}");
                    0
                }
                Err(e) => {
                    eprintln!("posconf schema: {e}");
                    2
                }
            }
        }
        Command::List {
            paths,
            coverage,
            requirements,
        } => {
            let run = || -> Result<(), String> {
                let files = crate::suite::runner::suite_files(&paths).map_err(|e| e.to_string())?;
                let fixtures = crate::fixtures::Fixtures::builtin().map_err(|e| e.to_string())?;
                let mut covered = std::collections::BTreeSet::new();
                for f in files {
                    let s = crate::suite::model::load(&f).map_err(|e| e.to_string())?;
                    for c in &s.cases {
                        covered.extend(c.requirements.iter().cloned());
                        if !coverage {
                            let all = c.all_needs(&|name| fixtures.is_foreign_card(name));
                            let needs = if all.is_empty() {
                                String::new()
                            } else {
                                format!("  (needs {})", all.join(", "))
                            };
                            println!(
                                "{:<32} {:<28} {} / {}{needs}",
                                c.id,
                                c.requirements.join(","),
                                c.title.zh,
                                c.title.en
                            );
                        }
                    }
                }
                if coverage {
                    let reqs = match &requirements {
                        Some(f) => crate::suite::model::requirements_from(f),
                        None => crate::suite::model::requirements(),
                    }
                    .map_err(|e| e.to_string())?;
                    let missing: Vec<_> =
                        reqs.iter().filter(|r| !covered.contains(&r.id)).collect();
                    for r in &missing {
                        println!("{:<9} {:<7} {} / {}", r.id, r.how, r.zh, r.en);
                    }
                    println!(
                        "{} of {} requirement ids covered, {} without a case",
                        reqs.len() - missing.len(),
                        reqs.len(),
                        missing.len()
                    );
                }
                Ok(())
            };
            match run() {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("posconf list: {e}");
                    2
                }
            }
        }
        Command::Card { cmd } => card::run(cmd),
        Command::Pcap { transcript, out } => {
            let run = || -> Result<usize, String> {
                let (records, warning) =
                    crate::transcript::read_transcript(&transcript).map_err(|e| e.to_string())?;
                if let Some(w) = warning {
                    eprintln!("posconf pcap: warning: {w}");
                }
                let file =
                    std::fs::File::create(&out).map_err(|e| format!("{}: {e}", out.display()))?;
                crate::pcap::write_pcap(&records, std::io::BufWriter::new(file))
                    .map_err(|e| e.to_string())
            };
            match run() {
                Ok(n) => {
                    println!("{n} packets written to {}", out.display());
                    0
                }
                Err(e) => {
                    eprintln!("posconf pcap: {e}");
                    2
                }
            }
        }
        Command::Encode {
            file,
            mak,
            mac_alg,
            framing,
            profile,
        } => {
            let run = || -> Result<(), String> {
                let profile = load_profile(profile.as_ref())?;
                let codec = profile.codec().map_err(|e| e.to_string())?;
                let (mak, alg) = mac_settings(&profile, mak.as_deref(), mac_alg.as_deref())?;
                let (text, origin) = match file.as_ref().filter(|f| f.as_os_str() != "-") {
                    Some(f) => (
                        std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?,
                        f.display().to_string(),
                    ),
                    None => {
                        let mut s = String::new();
                        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                            .map_err(|e| format!("<stdin>: {e}"))?;
                        (s, "<stdin>".to_string())
                    }
                };
                let doc: serde_yaml::Value =
                    crate::yaml::from_str(&text, &origin).map_err(|e| e.to_string())?;
                let crafted =
                    crate::craft::parse(&doc, &codec).map_err(|e| format!("{origin}: {e}"))?;
                let bytes = crate::craft::build(
                    &crafted,
                    &codec,
                    mak.as_ref().map(|k| (k, alg)),
                    framing
                        .map(Framing::from)
                        .or_else(|| crate::craft::framing_of(&doc))
                        .unwrap_or(Framing::Tcp),
                )
                .map_err(|e| format!("{origin}: {e}"))?;
                println!("{}", hex::encode_upper(bytes));
                Ok(())
            };
            match run() {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("posconf encode: {e}");
                    2
                }
            }
        }
    }
}

fn run_host(
    listen: std::net::SocketAddr,
    terminals: Option<PathBuf>,
    cards: Option<PathBuf>,
    behaviours: Option<PathBuf>,
    transcript: PathBuf,
    profile: Option<PathBuf>,
    serial: Option<(String, u32)>,
) -> Result<(), String> {
    use crate::fixtures::Fixtures;
    use crate::host::behaviour::Behaviours;
    use crate::host::centre::{system_clock, system_random, Centre};
    use crate::transcript::TranscriptWriter;
    let profile = load_profile(profile.as_ref())?;
    let fixtures = Fixtures::load_or_builtin(terminals.as_deref(), cards.as_deref())
        .map_err(|e| e.to_string())?;
    let behaviours = match behaviours {
        Some(p) => Behaviours::load(&p).map_err(|e| e.to_string())?,
        None => Behaviours::default(),
    };
    if let Some(dir) = transcript.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let writer =
        std::sync::Arc::new(TranscriptWriter::to_file(&transcript).map_err(|e| e.to_string())?);
    let centre = Centre::new(
        profile,
        fixtures,
        behaviours,
        Box::new(system_clock),
        Box::new(system_random),
    )?;
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let handle = crate::host::server::start(listen, centre, writer, Default::default())
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        if !listen.ip().is_loopback() {
            eprintln!(
                "posconf host: listening on {} (not loopback: reachable from the network)",
                handle.addr
            );
        }
        println!(
            "posconf host listening on {}; transcript {}; Ctrl-C to stop",
            handle.addr,
            transcript.display()
        );
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let serial_thread = match serial {
            Some((port, baud)) => {
                let (centre, transcript, stop) = (
                    handle.centre.clone(),
                    handle.transcript.clone(),
                    stop.clone(),
                );
                println!("posconf host serving serial port {port} at {baud} baud");
                Some(std::thread::spawn(move || {
                    crate::host::serial::serve(&port, baud, centre, transcript, stop)
                }))
            }
            None => None,
        };
        tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = serial_thread {
            if let Ok(Err(e)) = t.join() {
                eprintln!("posconf host: serial: {e}");
            }
        }
        handle.shutdown().await;
        println!("posconf host stopped; transcript {}", transcript.display());
        Ok(())
    })
}

/// A scripted business day on the reference terminal; `Ok(false)` when a step was not approved.
/// The reference terminal configured from the fixtures (terminal `tid`, or the first).
fn sim_config(
    fixtures: &crate::fixtures::Fixtures,
    tid: Option<&str>,
) -> Result<crate::terminal::sim::SimConfig, String> {
    let t = match tid {
        Some(tid) => fixtures
            .terminal(tid)
            .ok_or_else(|| format!("no terminal {tid:?} in the terminals fixture"))?,
        None => fixtures
            .terminals
            .first()
            .ok_or("no terminal in the fixture")?,
    };
    let mut cfg = crate::terminal::sim::SimConfig::default_terminal(
        t.active_kek().map_err(|e| e.to_string())?,
    );
    cfg.tid = t.tid.clone();
    cfg.mid = t.mid.clone();
    cfg.merchant_name = t.merchant_name.clone();
    Ok(cfg)
}

fn serve_automation(
    host: std::net::SocketAddr,
    port: &str,
    baud: u32,
    tid: Option<&str>,
    terminals: Option<PathBuf>,
    cards: Option<PathBuf>,
) -> Result<(), String> {
    let fixtures =
        crate::fixtures::Fixtures::load_or_builtin(terminals.as_deref(), cards.as_deref())
            .map_err(|e| e.to_string())?;
    let cfg = sim_config(&fixtures, tid)?;
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let sim = crate::terminal::sim::SimTerminal::new(
            cfg,
            crate::terminal::link::TcpLink::new(host, false),
        );
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = tx.send(true);
        });
        eprintln!("posconf sim: reference terminal on automation port {port}, centre {host}");
        crate::terminal::automation::serve(port, baud, sim, rx)
            .await
            .map_err(|e| e.to_string())
    })
}

fn run_sim(
    host: std::net::SocketAddr,
    card_name: &str,
    amount: u64,
    tid: Option<&str>,
    terminals: Option<PathBuf>,
    cards: Option<PathBuf>,
) -> Result<bool, String> {
    use crate::terminal::link::TcpLink;
    use crate::terminal::sim::{CardInput, SimConfig, SimTerminal};
    use crate::terminal::Terminal;
    let fixtures =
        crate::fixtures::Fixtures::load_or_builtin(terminals.as_deref(), cards.as_deref())
            .map_err(|e| e.to_string())?;
    let t = match tid {
        Some(tid) => fixtures
            .terminal(tid)
            .ok_or_else(|| format!("no terminal {tid:?} in the terminals fixture"))?,
        None => fixtures
            .terminals
            .first()
            .ok_or("no terminal in the fixture")?,
    };
    let c = fixtures
        .card(card_name)
        .ok_or_else(|| format!("no card named {card_name:?} in the cards fixture"))?;
    let mut cfg = SimConfig::default_terminal(t.active_kek().map_err(|e| e.to_string())?);
    cfg.tid = t.tid.clone();
    cfg.mid = t.mid.clone();
    cfg.merchant_name = t.merchant_name.clone();
    let card = CardInput {
        pan: c.pan.clone(),
        track2: c.track2.clone(),
        expiry: c.expiry.clone(),
        pin: Some(c.pin.expose().to_string()),
    };
    let supervisor = t
        .operators
        .iter()
        .find(|o| o.role == crate::fixtures::Role::Supervisor)
        .map(|o| o.password.expose().to_string())
        .unwrap_or_default();
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let mut sim = SimTerminal::new(cfg, TcpLink::new(host, false));
        fn step(
            name: &str,
            r: Result<crate::terminal::Outcome, crate::terminal::TerminalError>,
        ) -> bool {
            match r {
                Ok(o) => {
                    println!(
                        "{name:<16} {:<4} {}",
                        o.code.as_deref().unwrap_or("-"),
                        o.display
                    );
                    o.code.as_deref().is_none_or(|c| c == "00")
                }
                Err(e) => {
                    println!("{name:<16} ERR  {e}");
                    false
                }
            }
        }
        if !step("sign-in", Terminal::pos_sign_in(&mut sim).await) {
            return Ok(false);
        }
        let mut all_ok = step("echo test", Terminal::echo_test(&mut sim).await);
        all_ok &= step(
            "purchase",
            Terminal::purchase(&mut sim, &card, amount).await,
        );
        if let Some(slip) = Terminal::last_receipt(&sim) {
            println!("{slip}");
        }
        all_ok &= step("balance", Terminal::balance_inquiry(&mut sim, &card).await);
        all_ok &= step("purchase", Terminal::purchase(&mut sim, &card, 100).await);
        if let Some(v) = sim.log.last().map(|e| e.stan.clone()) {
            all_ok &= step(
                "void",
                Terminal::void(&mut sim, &card, &v, &supervisor).await,
            );
        }
        if let Some((rrn, date)) = sim.log.first().map(|e| (e.rrn.clone(), e.date.clone())) {
            all_ok &= step(
                "refund",
                Terminal::refund(&mut sim, &card, 1, &rrn, &date, &supervisor).await,
            );
        }
        match Terminal::settle(&mut sim).await {
            Ok(flags) => {
                println!(
                    "{:<16} {}{}   {}",
                    "settlement",
                    flags.0,
                    flags.1,
                    sim.read_display()
                );
                all_ok &= flags == ('1', '1');
                if let Some(slip) = Terminal::last_receipt(&sim) {
                    println!("{slip}");
                }
            }
            Err(e) => {
                println!("{:<16} ERR  {e}", "settlement");
                all_ok = false;
            }
        }
        all_ok &= step("sign-off", Terminal::sign_off(&mut sim).await);
        Ok(all_ok)
    })
}

struct RunArgs {
    paths: Vec<PathBuf>,
    rig: Option<PathBuf>,
    filter: Option<String>,
    capabilities: Option<PathBuf>,
    report_dir: Option<PathBuf>,
    jobs: usize,
    operator: bool,
    reveal: bool,
}

/// `reports/YYYYMMDD-hhmmss` (UTC).
fn run_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d) = crate::host::centre::civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

/// `posconf run`: exit 0 all applicable cases passed, 1 a case failed, 2 suite/rig/config
/// error, 3 rig infrastructure fault, 130 interrupted (reports of the finished cases written).
fn cmd_run(a: RunArgs) -> i32 {
    use crate::suite::rig::{Capabilities, Rig};
    use crate::suite::runner::{run, CaseResult, RunOptions};
    let dir = a
        .report_dir
        .unwrap_or_else(|| PathBuf::from("reports").join(run_id()));
    let mut opts = RunOptions::new(dir.clone());
    opts.filter = a.filter;
    opts.jobs = a.jobs;
    opts.operator = a.operator;
    opts.reveal = a.reveal;
    if let Some(path) = &a.rig {
        match Rig::load(path) {
            Ok(r) => opts.rig = r,
            Err(e) => {
                eprintln!("posconf run: {e}");
                return 2;
            }
        }
    }
    if let Some(path) = &a.capabilities {
        match Capabilities::load(path) {
            Ok(c) => opts.capabilities = Some(c),
            Err(e) => {
                eprintln!("posconf run: {e}");
                return 2;
            }
        }
    }
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut progress = |r: &CaseResult| {
        let status = if r.skipped.is_some() {
            "SKIP"
        } else if r.passed() {
            "PASS"
        } else {
            "FAIL"
        };
        let status = match (tty, status) {
            (true, "PASS") => "\x1b[32mPASS\x1b[0m",
            (true, "FAIL") => "\x1b[31mFAIL\x1b[0m",
            (true, _) => "\x1b[33mSKIP\x1b[0m",
            (false, s) => s,
        };
        println!(
            "{status} {} [{}] {} ({} ms)",
            r.id,
            r.requirements.join(","),
            r.title,
            r.duration.as_millis()
        );
        for f in &r.failures {
            println!("     {f}");
        }
        if let Some(why) = &r.skipped {
            if tty {
                println!("     {why}");
            }
        }
    };
    let started = std::time::Instant::now();
    match run(&a.paths, &opts, &mut progress) {
        Ok(summary) if summary.results.is_empty() && !summary.interrupted => {
            eprintln!(
                "posconf run: no case selected{} — nothing was tested",
                opts.filter
                    .as_deref()
                    .map(|f| format!(" (no case id or requirement matches --filter {f})"))
                    .unwrap_or_default()
            );
            2
        }
        Ok(summary) => {
            let results = &summary.results;
            let failed = results
                .iter()
                .filter(|r| !r.passed() && r.skipped.is_none())
                .count();
            let skipped = results.iter().filter(|r| r.skipped.is_some()).count();
            println!(
                "{} passed, {failed} failed, {skipped} skipped in {:.1} s; reports in {}",
                results.len() - failed - skipped,
                started.elapsed().as_secs_f64(),
                dir.display()
            );
            if summary.interrupted {
                eprintln!("posconf run: interrupted; reports hold the cases that finished");
                130
            } else {
                i32::from(failed > 0)
            }
        }
        Err(e) => {
            eprintln!("posconf run: {e}");
            e.exit_code()
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SchemaWhat {
    Suite,
    Rig,
    Capabilities,
}
