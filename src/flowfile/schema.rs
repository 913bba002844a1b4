//! The JSON Schema of a flow file, generated from the AST types (so it cannot drift from what
//! the parser accepts). `flows schema` prints it; CI regenerates it and fails on a diff.

use super::ast::{FlowFile, GroupFile};

/// The schema's `$id`.
pub const SCHEMA_ID: &str = "urn:flows:flow-file";

/// Pretty-printed JSON Schema (draft 2020-12) of a flow file, ending with a newline. The output
/// is stable: the same types always give the same text.
pub fn schema_json() -> String {
    render(
        schemars::schema_for!(FlowFile),
        SCHEMA_ID,
        "flows: flow file",
    )
}

/// The schema of a step group file (`groups/NAME.yaml`).
pub const GROUP_SCHEMA_ID: &str = "urn:flows:group-file";

/// Pretty-printed JSON Schema of a step group file, like [`schema_json`].
pub fn group_schema_json() -> String {
    render(
        schemars::schema_for!(GroupFile),
        GROUP_SCHEMA_ID,
        "flows: step group file",
    )
}

fn render(mut schema: schemars::Schema, id: &str, title: &str) -> String {
    schema.insert("$id".to_string(), serde_json::Value::String(id.to_string()));
    schema.insert(
        "title".to_string(),
        serde_json::Value::String(title.to_string()),
    );
    let value = sort_keys(schema.to_value());
    let mut out = serde_json::to_string_pretty(&value).unwrap_or_default();
    out.push('\n');
    out
}

/// Sorts object keys recursively, so the text does not depend on serde_json's `preserve_order`
/// feature (another crate in the build may switch it on).
fn sort_keys(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sort_keys).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_stable_and_describes_steps() {
        let a = schema_json();
        assert_eq!(a, schema_json());
        let v: serde_json::Value = serde_json::from_str(&a).unwrap();
        assert_eq!(v["$id"], SCHEMA_ID);
        assert_eq!(v["title"], "flows: flow file");
        assert!(v["required"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "steps"));
        assert!(a.contains("\"wait_for\""));
        assert!(a.contains("^([0-9]+(ms|s|m|h|d))+$"));
    }

    #[test]
    fn group_schema_has_params_and_steps() {
        let v: serde_json::Value = serde_json::from_str(&group_schema_json()).unwrap();
        assert_eq!(v["$id"], GROUP_SCHEMA_ID);
        let required: Vec<&str> = v["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r.as_str())
            .collect();
        assert_eq!(required, ["group", "steps"]);
        assert!(v["properties"]["params"].is_object());
    }
}
