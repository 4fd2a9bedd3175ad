//! `linkflow certs init DIR`: a dev CA, a node certificate and a client certificate for the
//! mutual TLS of QUIC plan submission, in one command.

use std::path::PathBuf;

use crate::certs;

/// Arguments of `linkflow certs`.
#[derive(Debug, Clone, clap::Args)]
pub struct CertsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: CertsCommand,
}

/// Subcommands of `linkflow certs`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CertsCommand {
    /// Write ca.pem, node.pem, node-key.pem, client.pem and client-key.pem into DIR
    /// (kept as they are when all five exist, unless --force).
    Init(InitArgs),
}

/// Arguments of `linkflow certs init`.
#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    /// Directory to write into (created if missing).
    pub dir: PathBuf,
    /// Replace existing files with a new set.
    #[arg(long)]
    pub force: bool,
    /// Extra DNS name or IP address for the node certificate (repeatable; localhost,
    /// 127.0.0.1 and ::1 are always included).
    #[arg(long = "node-name")]
    pub node_names: Vec<String>,
}

/// Runs `linkflow certs`.
pub fn run(args: &CertsArgs) -> anyhow::Result<()> {
    match &args.command {
        CertsCommand::Init(init) => {
            let paths = certs::CertPaths::in_dir(&init.dir);
            if init.force || !init.node_names.is_empty() {
                let mut names: Vec<String> = certs::NODE_NAMES_DEFAULT
                    .iter()
                    .map(|n| (*n).to_owned())
                    .collect();
                names.extend(init.node_names.iter().cloned());
                if !init.force && paths.ca.exists() {
                    anyhow::bail!(
                        "{} already holds certificates; pass --force to replace them",
                        init.dir.display()
                    );
                }
                certs::write_dev_certs(&init.dir, &names)?;
                println!("wrote a new dev certificate set to {}", init.dir.display());
            } else {
                let made = certs::ensure_dev_certs(&init.dir)?;
                if made.created {
                    println!("wrote a new dev certificate set to {}", init.dir.display());
                } else {
                    println!(
                        "{} already holds a certificate set; kept it (--force replaces it)",
                        init.dir.display()
                    );
                }
            }
            for path in [
                &paths.ca,
                &paths.node_cert,
                &paths.node_key,
                &paths.client_cert,
                &paths.client_key,
            ] {
                println!("  {}", path.display());
            }
            println!(
                "node:   linkflow dataplane --quic 127.0.0.1:4433 --certs {}",
                init.dir.display()
            );
            println!(
                "client: linkflow plan submit PLAN.lfp --to 127.0.0.1:4433 --certs {}",
                init.dir.display()
            );
            Ok(())
        }
    }
}
