//! Audits: records, their validation and the figures the reports need.
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Audit {
    pub id: u64,
    pub name: String,
    pub amounts: Vec<i64>,
    pub tags: Vec<String>,
    pub kind: AuditKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AuditKind {
    Open,
    Pending,
    Settled,
    Disputed,
    Archived,
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            AuditKind::Open => "open",
            AuditKind::Pending => "pending",
            AuditKind::Settled => "settled",
            AuditKind::Disputed => "disputed",
            AuditKind::Archived => "archived",
        };
        write!(f, "{text}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditError {
    Empty(u64),
    Negative { id: u64, at: usize },
    TooLarge(u64, i64),
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditError::Empty(id) => write!(f, "audit {id} has no amounts"),
            AuditError::Negative { id, at } => write!(f, "audit {id} is negative at {at}"),
            AuditError::TooLarge(id, amount) => write!(f, "audit {id} amount {amount} is too large"),
        }
    }
}

impl std::error::Error for AuditError {}

impl Audit {
    pub fn new(id: u64, name: impl Into<String>) -> Self {
        Self { id, name: name.into(), amounts: Vec::new(), tags: Vec::new(), kind: AuditKind::Open }
    }

    pub fn with_amounts(mut self, amounts: impl IntoIterator<Item = i64>) -> Self {
        self.amounts.extend(amounts);
        self
    }

    pub fn tagged(mut self, tag: &str) -> Self {
        if !self.tags.iter().any(|t| t == tag) {
            self.tags.push(tag.to_string());
        }
        self
    }

    pub fn total(&self) -> i64 {
        self.amounts.iter().sum()
    }

    pub fn mean(&self) -> Option<f64> {
        if self.amounts.is_empty() {
            None
        } else {
            Some(self.total() as f64 / self.amounts.len() as f64)
        }
    }

    pub fn largest(&self) -> Option<i64> {
        self.amounts.iter().copied().max()
    }

    pub fn validate(&self, limit: i64) -> Result<(), AuditError> {
        if self.amounts.is_empty() {
            return Err(AuditError::Empty(self.id));
        }
        if let Some(at) = self.amounts.iter().position(|a| *a < 0) {
            return Err(AuditError::Negative { id: self.id, at });
        }
        match self.amounts.iter().find(|a| **a > limit) {
            Some(a) => Err(AuditError::TooLarge(self.id, *a)),
            None => Ok(()),
        }
    }

    pub fn advance(&mut self) {
        self.kind = match self.kind {
            AuditKind::Open => AuditKind::Pending,
            AuditKind::Pending => AuditKind::Settled,
            AuditKind::Settled | AuditKind::Disputed => AuditKind::Archived,
            AuditKind::Archived => AuditKind::Archived,
        };
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// Sums per kind, in kind order.
pub fn totals_by_kind(items: &[Audit]) -> BTreeMap<AuditKind, i64> {
    let mut totals = BTreeMap::new();
    for item in items {
        *totals.entry(item.kind).or_insert(0) += item.total();
    }
    totals
}

/// How often each tag occurs, most frequent first, ties by name.
pub fn tag_counts(items: &[Audit]) -> Vec<(String, usize)> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for tag in items.iter().flat_map(|item| item.tags.iter()) {
        *counts.entry(tag.as_str()).or_insert(0) += 1;
    }
    let mut sorted: Vec<(String, usize)> = counts.into_iter().map(|(t, c)| (t.to_string(), c)).collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sorted
}

/// The items whose validation fails, with the reason.
pub fn failures(items: &[Audit], limit: i64) -> Vec<(u64, String)> {
    items
        .iter()
        .filter_map(|item| item.validate(limit).err().map(|e| (item.id, e.to_string())))
        .collect()
}

/// Moving sums of width `window` over one item's amounts.
pub fn moving_sums(item: &Audit, window: usize) -> Vec<i64> {
    if window == 0 || item.amounts.len() < window {
        return Vec::new();
    }
    item.amounts.windows(window).map(|w| w.iter().sum()).collect()
}

/// Groups items by the first letter of their name.
pub fn by_initial(items: &[Audit]) -> BTreeMap<char, Vec<u64>> {
    let mut groups: BTreeMap<char, Vec<u64>> = BTreeMap::new();
    for item in items {
        let initial = item.name.chars().next().unwrap_or('_').to_ascii_lowercase();
        groups.entry(initial).or_default().push(item.id);
    }
    groups
}

/// A scaled copy: every amount times `factor` over `divisor`, rounded towards zero.
pub fn scaled(item: &Audit, factor: i64, divisor: i64) -> Audit {
    let divisor = divisor.max(1);
    let mut copy = item.clone();
    copy.amounts = item.amounts.iter().map(|a| a * factor / divisor).collect();
    copy
}

/// A one-line summary for the report.
pub fn summary_line(item: &Audit) -> String {
    format!(
        "{} #{} [{}]: total {}, mean {:.2}, largest {}, tags {}",
        item.name,
        item.id,
        item.kind,
        item.total(),
        item.mean().unwrap_or(0.0),
        item.largest().unwrap_or(0),
        item.tags.join(","),
    )
}

/// A generic fold over any field the caller picks.
pub fn fold_by<K: Ord, F: Fn(&Audit) -> K>(items: &[Audit], key: F) -> BTreeMap<K, i64> {
    let mut folded = BTreeMap::new();
    for item in items {
        *folded.entry(key(item)).or_insert(0) += item.total();
    }
    folded
}

/// Sample data for the bin and the tests.
pub fn sample(count: u64) -> Vec<Audit> {
    (0..count)
        .map(|id| {
            let amounts = (0..(id % 7 + 1)).map(|k| ((id * 13 + k * 13) % 97) as i64);
            let mut item = Audit::new(id, format!("audit-{id}")).with_amounts(amounts);
            if id % 3 == 0 {
                item = item.tagged("quarterly");
            }
            if id % 5 == 0 {
                item = item.tagged("audited");
            }
            for _ in 0..(id % 4) {
                item.advance();
            }
            item
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_validation() {
        let items = sample(20);
        assert_eq!(items.len(), 20);
        assert!(totals_by_kind(&items).values().sum::<i64>() > 0);
        assert!(failures(&items, 1000).is_empty());
        let back = Audit::from_json(&items[3].to_json()).unwrap();
        assert_eq!(back, items[3]);
    }
}
