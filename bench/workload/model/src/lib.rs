//! Records that the app reads and writes as JSON.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub name: String,
    pub words: usize,
    pub tags: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    pub records: Vec<Record>,
    pub total_words: usize,
}

impl Summary {
    pub fn push(&mut self, record: Record) {
        self.total_words += record.words;
        self.records.push(record);
    }

    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(self)
    }

    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut summary = Summary::default();
        summary.push(Record { name: "a".into(), words: 3, tags: vec!["x".into()] });
        let back = Summary::from_json(&summary.to_json().unwrap()).unwrap();
        assert_eq!(back.total_words, 3);
        assert_eq!(back.records, summary.records);
    }
}
