//! A Python source's dlt state as the cursor table keeps it: dlt's typed JSON of the whole
//! source state (`{"resources": {"orders": {"incremental": {"updated_at": {"last_value": ...}}}}}`).
//! Dango hands it back to the source untouched; only `dango state` reads it, and
//! `dango state reset --resource` takes one resource's part out of it.

use serde_json::{Map, Value};

/// The dlt state of one Python source.
#[derive(Debug, Clone, PartialEq)]
pub struct DltState(Value);

/// One resource's part of a dlt state.
#[derive(Debug, Clone, PartialEq)]
pub struct DltResourceState {
    /// The resource.
    pub name: String,
    /// Its incremental cursors, in the state's order.
    pub cursors: Vec<DltCursor>,
}

/// One incremental cursor of a resource in a dlt state.
#[derive(Debug, Clone, PartialEq)]
pub struct DltCursor {
    /// The cursor field's path (`updated_at`).
    pub path: String,
    /// Its last value, in dlt's typed JSON (`Null` if the state has none).
    pub last_value: Value,
}

impl DltState {
    /// Reads the state as saved. A state that is not JSON reads as one without resources.
    pub fn parse(text: &str) -> Self {
        Self(serde_json::from_str(text).unwrap_or_default())
    }

    /// Each resource with state, and its cursors, in the state's order.
    pub fn resources(&self) -> Vec<DltResourceState> {
        let Some(resources) = self.0.get("resources").and_then(Value::as_object) else {
            return Vec::new();
        };
        resources
            .iter()
            .map(|(name, state)| DltResourceState {
                name: name.clone(),
                cursors: incremental(state)
                    .into_iter()
                    .flatten()
                    .map(|(path, cursor)| DltCursor {
                        path: path.clone(),
                        last_value: cursor.get("last_value").cloned().unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect()
    }

    /// Takes `resource`'s part out of the state (its next run starts from its initial
    /// value); whether it had one.
    pub fn forget(&mut self, resource: &str) -> bool {
        self.0
            .get_mut("resources")
            .and_then(Value::as_object_mut)
            .and_then(|resources| resources.remove(resource))
            .is_some()
    }

    /// The state as saved: dlt's typed JSON.
    pub fn to_json(&self) -> String {
        self.0.to_string()
    }
}

/// The `incremental` object of a resource's state, if it has one.
fn incremental(state: &Value) -> Option<&Map<String, Value>> {
    state.get("incremental").and_then(Value::as_object)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = r#"{"resources": {
        "orders": {"incremental": {"updated_at": {"last_value": "2024-01-07", "initial_value": "2024-01-01"}}},
        "users": {"other": 1}
    }, "_state_version": 3}"#;

    #[test]
    fn reads_each_resources_cursors() {
        let resources = DltState::parse(STATE).resources();
        assert_eq!(
            resources,
            [
                DltResourceState {
                    name: "orders".into(),
                    cursors: vec![DltCursor {
                        path: "updated_at".into(),
                        last_value: "2024-01-07".into(),
                    }],
                },
                DltResourceState {
                    name: "users".into(),
                    cursors: Vec::new(),
                },
            ]
        );
        assert!(DltState::parse("not json").resources().is_empty());
        assert!(DltState::parse("[1]").resources().is_empty());
    }

    #[test]
    fn forgetting_a_resource_keeps_the_rest_of_the_state() {
        let mut state = DltState::parse(STATE);
        assert!(state.forget("orders"));
        assert!(!state.forget("orders"));
        let names: Vec<String> = state.resources().into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["users"]);
        let saved: Value = serde_json::from_str(&state.to_json()).unwrap();
        assert_eq!(saved["_state_version"], 3);
        assert!(!DltState::parse("[1]").forget("orders"), "no panic either");
    }
}
