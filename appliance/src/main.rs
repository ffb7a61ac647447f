//! The `meridian` binary: run the grandmaster, check a configuration, show status.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use meridian::config::{Config, LogFormat};

/// Meridian: an IEEE 1588-2019 (PTP) grandmaster.
#[derive(Debug, Parser)]
#[command(name = "meridian", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the grandmaster in the foreground until SIGINT/SIGTERM.
    Run {
        /// The configuration file.
        #[arg(short, long, default_value = "/etc/meridian/meridian.toml")]
        config: PathBuf,
    },
    /// Check a configuration file and exit: 0 and "ok", or 1 and the error with key and line.
    CheckConfig {
        /// The configuration file.
        file: PathBuf,
    },
    /// Show the running daemon's status.
    Status {
        /// The control socket (default: from --config, else /run/meridian/control.sock).
        #[arg(short, long)]
        socket: Option<PathBuf>,
        /// Take the control socket from this configuration file.
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { file } => match Config::load(&file) {
            Ok(_) => {
                println!("ok");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                ExitCode::FAILURE
            }
        },
        Command::Run { config } => match run(&config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("meridian: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Status {
            socket,
            config,
            json,
        } => match status(socket, config, json) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("meridian status: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run(path: &std::path::Path) -> anyhow::Result<()> {
    let cfg = Config::load(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(cfg.logging.level.as_str()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cfg.logging.format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    meridian::runtime::run(cfg)
}

fn status(socket: Option<PathBuf>, config: Option<PathBuf>, json: bool) -> anyhow::Result<()> {
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
    Ok(())
}
