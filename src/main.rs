//! The process contract: parse, run, print a fatal error once, exit with the code.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use mtasts::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = io::BufWriter::new(io::stdout().lock());
    match cli::run(cli, &mut out, &mut io::stderr()) {
        Ok(code) => ExitCode::from(code),
        // `mtasts check d | head` closes our stdout early: that is the reader's choice, not a failure.
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            drop(out.flush());
            #[allow(clippy::print_stderr)]
            {
                eprintln!("mtasts: {e:#}");
            }
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}

fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
