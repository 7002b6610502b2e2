//! `sotto call`: placeholder (written next).

#[derive(clap::Args, Debug)]
pub struct CallArgs {
    /// The SIP URI to call, e.g. sip:echo@127.0.0.1:5060
    pub uri: String,
}

pub async fn run(_args: CallArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
