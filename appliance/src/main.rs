//! The `meridian` binary: run the grandmaster, check a configuration, show status.
//!
//! One convention for the configuration file everywhere: `--config FILE` (`-c`), or the
//! file as the only positional argument.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use meridian::config::{Config, LogFormat};

/// Where the configuration lives on an appliance.
const DEFAULT_CONFIG: &str = "/etc/meridian/meridian.toml";

/// Exit status of `meridian status` when the daemon answers but no port is serving
/// (MASTER): e.g. every port PASSIVE behind a better grandmaster, LISTENING or FAULTY.
const EXIT_NOT_SERVING: u8 = 2;

/// Meridian: an IEEE 1588-2019 (PTP) grandmaster.
#[derive(Debug, Parser)]
#[command(name = "meridian", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The configuration file: `--config FILE` or a positional `FILE`.
#[derive(Debug, Args)]
struct ConfigFile {
    /// The configuration file [default: /etc/meridian/meridian.toml].
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The configuration file (the same as --config).
    #[arg(value_name = "FILE", conflicts_with = "config")]
    file: Option<PathBuf>,
}

impl ConfigFile {
    fn given(&self) -> Option<PathBuf> {
        self.config.clone().or_else(|| self.file.clone())
    }

    fn path(&self) -> PathBuf {
        self.given().unwrap_or_else(|| DEFAULT_CONFIG.into())
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the grandmaster in the foreground until SIGINT/SIGTERM.
    Run {
        #[command(flatten)]
        config: ConfigFile,
    },
    /// Check a configuration file and exit: 0 and "ok", or 1 and the error with key and line.
    CheckConfig {
        #[command(flatten)]
        config: ConfigFile,
    },
    /// Write the man pages (meridian.1, meridian-SUBCOMMAND.1) generated from this command
    /// line into DIR, for packaging.
    #[command(hide = true)]
    Manpages {
        /// Where to write them.
        dir: PathBuf,
    },
    /// Show the running daemon's status. Exit status: 0 when at least one port is serving
    /// (MASTER), 2 when the daemon answers but no port is, 1 when it does not answer.
    Status {
        /// The control socket (default: from the configuration file if one is given, else
        /// /run/meridian/control.sock).
        #[arg(short, long)]
        socket: Option<PathBuf>,
        #[command(flatten)]
        config: ConfigFile,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => {
            let file = config.path();
            match Config::load(&file) {
                Ok(cfg) => {
                    for w in meridian::daemon::ports::neighbour_table_warnings(&cfg) {
                        eprintln!("warning: {w}");
                    }
                    println!("ok");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{}: {e}", file.display());
                    ExitCode::FAILURE
                }
            }
        }
        Command::Run { config } => match run(&config.path()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("meridian: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Manpages { dir } => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let r = clap_mangen::generate_to(cmd, &dir);
            match r {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("meridian manpage: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Status {
            socket,
            config,
            json,
        } => match status(socket, config.given(), json) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(EXIT_NOT_SERVING),
            Err(e) => {
                eprintln!("meridian status: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run(path: &std::path::Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let cfg = Config::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(cfg.logging.level.as_str()));
    // The filter can be replaced on a reload (SIGHUP) of `[logging] level`.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let set_log_level: meridian::daemon::reload::SetLogLevel = match cfg.logging.format {
        LogFormat::Text => {
            let builder = builder.with_filter_reloading();
            let handle = builder.reload_handle();
            builder.init();
            Box::new(move |level: &str| {
                handle
                    .reload(tracing_subscriber::EnvFilter::new(level))
                    .map_err(|e| e.to_string())
            })
        }
        LogFormat::Json => {
            let builder = builder.json().with_filter_reloading();
            let handle = builder.reload_handle();
            builder.init();
            Box::new(move |level: &str| {
                handle
                    .reload(tracing_subscriber::EnvFilter::new(level))
                    .map_err(|e| e.to_string())
            })
        }
    };
    meridian::daemon::run(
        cfg,
        Some(meridian::daemon::ReloadSource {
            path: path.to_path_buf(),
            text,
            set_log_level: Some(set_log_level),
        }),
    )
}

/// Prints the daemon's status; whether any port is serving.
fn status(socket: Option<PathBuf>, config: Option<PathBuf>, json: bool) -> anyhow::Result<bool> {
    let socket = match (socket, config) {
        (Some(s), _) => s,
        (None, Some(c)) => {
            Config::load(&c)
                .map_err(|e| anyhow::anyhow!("{}: {e}", c.display()))?
                .control
                .socket
        }
        (None, None) => meridian::config::default_control_socket(),
    };
    let report = meridian::control::fetch(&socket).context("is meridian running?")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    let serving = report.serving();
    if !serving {
        eprintln!("meridian status: no port is serving (none is MASTER)");
    }
    Ok(serving)
}
