//! dlt's schema contracts: what a sync may do to a table's schema. `tables` governs a table the
//! warehouse does not have yet, `columns` a new column of a table it has, `data_type` a value
//! whose type does not fit its column (which would otherwise start a variant column).

use std::fmt;

use serde::Deserialize;

/// What to do with data that would change the schema in one of the contract's three ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractMode {
    /// Change the schema (the default).
    #[default]
    Evolve,
    /// Fail the sync, naming what would change; nothing is loaded.
    Freeze,
    /// Drop the records that would change it (and their child rows), and count them.
    DiscardRow,
    /// Load the records without the values that would change it.
    DiscardValue,
}

impl ContractMode {
    /// dlt's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Evolve => "evolve",
            Self::Freeze => "freeze",
            Self::DiscardRow => "discard_row",
            Self::DiscardValue => "discard_value",
        }
    }
}

impl fmt::Display for ContractMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A table's schema contract, as dlt's `schema_contract` has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchemaContract {
    /// A table the warehouse does not have (a child table included).
    pub tables: ContractMode,
    /// A new column of a table the warehouse has.
    pub columns: ContractMode,
    /// A value of another type than its column's.
    pub data_type: ContractMode,
}

impl SchemaContract {
    /// Whether nothing is restricted.
    pub fn evolves(&self) -> bool {
        *self == Self::default()
    }
}

/// `schema_contract:` as written: one mode for all three, or a mapping of some of them.
/// Examples: `schema_contract: freeze`,
/// `schema_contract: {columns: discard_value, data_type: freeze}`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ContractConfig {
    /// One mode for tables, columns and data types.
    All(ContractMode),
    /// Modes per kind of change; the rest are inherited.
    Each(ContractParts),
}

/// The mapping form of `schema_contract:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractParts {
    /// Example: `tables: freeze`
    #[serde(default)]
    pub tables: Option<ContractMode>,
    /// Example: `columns: discard_value`
    #[serde(default)]
    pub columns: Option<ContractMode>,
    /// Example: `data_type: freeze`
    #[serde(default)]
    pub data_type: Option<ContractMode>,
}

impl ContractConfig {
    /// This contract over `base` (a source's): what it names wins, the rest is `base`'s.
    pub fn over(&self, base: SchemaContract) -> SchemaContract {
        match *self {
            Self::All(mode) => SchemaContract {
                tables: mode,
                columns: mode,
                data_type: mode,
            },
            Self::Each(parts) => SchemaContract {
                tables: parts.tables.unwrap_or(base.tables),
                columns: parts.columns.unwrap_or(base.columns),
                data_type: parts.data_type.unwrap_or(base.data_type),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_word_sets_all_and_a_mapping_inherits_the_rest() {
        let word: ContractConfig = serde_yaml_ng::from_str("freeze").unwrap();
        let all = word.over(SchemaContract::default());
        assert_eq!(all.tables, ContractMode::Freeze);
        assert_eq!(all.data_type, ContractMode::Freeze);
        let parts: ContractConfig = serde_yaml_ng::from_str("{columns: discard_value}").unwrap();
        let mixed = parts.over(all);
        assert_eq!(mixed.columns, ContractMode::DiscardValue);
        assert_eq!(mixed.tables, ContractMode::Freeze);
        assert!(serde_yaml_ng::from_str::<ContractConfig>("{colums: freeze}").is_err());
        assert!(serde_yaml_ng::from_str::<ContractConfig>("frozen").is_err());
    }
}
