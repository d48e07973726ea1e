//! Word counting and `#tag` extraction with regex.
use regex::Regex;

pub struct Scanner {
    word: Regex,
    tag: Regex,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Scanner {
    pub fn new() -> Self {
        Self {
            word: Regex::new(r"\b[\w']+\b").expect("word pattern"),
            tag: Regex::new(r"#([a-z][a-z0-9_-]*)").expect("tag pattern"),
        }
    }

    pub fn words(&self, text: &str) -> usize {
        self.word.find_iter(text).count()
    }

    pub fn tags(&self, text: &str) -> Vec<String> {
        self.tag.captures_iter(text).map(|c| c[1].to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_and_tags() {
        let scanner = super::Scanner::new();
        assert_eq!(scanner.words("one two #three"), 3);
        assert_eq!(scanner.tags("one #two #three"), vec!["two", "three"]);
    }
}
