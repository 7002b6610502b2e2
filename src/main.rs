//! The `sotto` command: `serve` runs the edge, `call` places one call.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sotto",
    version,
    about = "A SIP/RTP telephony edge for contact centres"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the edge: SIP (UDP+TCP), RTP media, registrar, HTTP API.
    Serve(sotto::serve::ServeArgs),
    /// Place one call, play a WAV into it, record what comes back, hang up.
    Call(sotto::uac::CallArgs),
}

fn main() -> std::process::ExitCode {
    sotto::logging::init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sotto: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => sotto::serve::run(args).await,
            Command::Call(args) => sotto::uac::run(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sotto: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
