//! The leaf crate the benchmark edits: only the app depends on it.

pub fn banner(version: &str) -> String {
    format!("wordstat {version}: counting words in parallel")
}
