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

/// A binary built for x86-64-v3 (the default, `.cargo/config.toml`) would die of an
/// illegal instruction on a CPU without AVX2/FMA, somewhere deep in the denoiser.
/// Say so at once instead, and how to build for that CPU.
fn cpu_supports_build() -> Result<(), String> {
    #[cfg(all(
        target_arch = "x86_64",
        target_feature = "avx2",
        target_feature = "fma"
    ))]
    if !(std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"))
    {
        return Err(
            "this sotto binary was built for x86-64-v3 (AVX2, FMA) and this CPU lacks \
                    them; rebuild it with RUSTFLAGS=\"-C target-cpu=x86-64\" cargo build --release"
                .to_owned(),
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    if let Err(e) = cpu_supports_build() {
        eprintln!("sotto: {e}");
        return std::process::ExitCode::FAILURE;
    }
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
