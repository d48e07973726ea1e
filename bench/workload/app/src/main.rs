//! wordstat: reads text files concurrently (tokio), scans them in parallel (rayon), prints JSON.
use anyhow::{Context, Result};
use bench_model::{Record, Summary};
use bench_textscan::Scanner;
use clap::Parser;
use rayon::prelude::*;

#[derive(Parser, Debug)]
#[command(version, about = "Counts words and #tags in text files")]
struct Args {
    /// Files to scan
    files: Vec<std::path::PathBuf>,
    /// Print the banner first
    #[arg(long)]
    banner: bool,
    /// Print the ledger overview of a sample this size
    #[arg(long)]
    ledger: Option<u64>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.banner {
        println!("{}", bench_banner::banner(env!("CARGO_PKG_VERSION")));
    }
    if let Some(count) = args.ledger {
        for line in bench_ledger::overview(count) {
            println!("{line}");
        }
    }
    let mut texts = Vec::new();
    for path in &args.files {
        let text = tokio::fs::read_to_string(path)
            .await
            .with_context(|| format!("reading {}", path.display()))?;
        texts.push((path.display().to_string(), text));
    }
    log::info!("scanning {} files", texts.len());
    let scanner = Scanner::new();
    let records: Vec<Record> = texts
        .par_iter()
        .map(|(name, text)| Record { name: name.clone(), words: scanner.words(text), tags: scanner.tags(text) })
        .collect();
    let mut summary = Summary::default();
    for record in records {
        summary.push(record);
    }
    println!("{}", summary.to_json()?);
    Ok(())
}
