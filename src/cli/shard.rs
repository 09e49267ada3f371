//! `dango sync --shard K/N`: the K-th of N deterministic shares of the sources, so N workers of
//! any scheduler split them without coordinating. Sources are dealt out round-robin in name
//! order: the shares differ in size by at most one, and every worker reading the same
//! `sources.yml` computes the same split.

use std::fmt;

/// One share of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based: which share.
    index: usize,
    /// How many shares.
    count: usize,
}

impl Shard {
    /// Parses `K/N` with 1 ≤ K ≤ N.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a shard: write K/N with 1 ≤ K ≤ N, like 2/4");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }

    /// This shard's names out of `names` (sorted, deduplicated first).
    pub fn select(&self, mut names: Vec<String>) -> Vec<String> {
        names.sort();
        names.dedup();
        names
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % self.count == self.index - 1)
            .map(|(_, name)| name)
            .collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_lands_in_exactly_one_shard() {
        let names: Vec<String> = ["e", "a", "d", "b", "c"].map(String::from).to_vec();
        let mut seen: Vec<String> = (1..=3)
            .flat_map(|k| Shard { index: k, count: 3 }.select(names.clone()))
            .collect();
        assert_eq!(
            Shard::parse("1/3").unwrap().select(names.clone()),
            ["a", "d"]
        );
        seen.sort();
        assert_eq!(seen, ["a", "b", "c", "d", "e"]);
        assert_eq!(Shard::parse(" 2 / 2 ").unwrap().to_string(), "2/2");
        for bad in ["0/2", "3/2", "2", "a/b", "1/0"] {
            assert!(Shard::parse(bad).unwrap_err().contains("K/N"), "{bad}");
        }
    }
}
