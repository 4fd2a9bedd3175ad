//! Credentials as nodes see them: the runtime injects a [`CredentialSource`] (sans-IO: the
//! engine never reads files or asks a server), and a node asks it for the credential its
//! `credentials` field names (n8n: `{"httpHeaderAuth": {"id": "7", "name": "My key"}}`).
//!
//! Secrets stay out of messages: [`Credential`]'s `Debug` prints no data, and errors name
//! the credential (type, id, name) and the missing field, never a value.

use std::fmt;

/// Credentials one source may hold. Why: a credentials file is user input; a bound keeps a
/// pasted dump from becoming an unbounded lookup table.
pub const CREDENTIALS_MAX: usize = 1_024;
/// Fields one credential may hold (n8n's generic credentials have one to three).
pub const CREDENTIAL_FIELDS_MAX: usize = 64;

/// One credential: its type, id, display name and data fields.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// Credential type, e.g. `httpHeaderAuth`.
    pub kind: String,
    /// Id the workflow refers to.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Data fields (`name`/`value`, `user`/`password`, `token` ...), strings.
    data: Vec<(String, String)>,
}

impl Credential {
    /// A credential with these data fields.
    pub fn new(kind: &str, id: &str, name: &str, data: Vec<(String, String)>) -> Self {
        Credential {
            kind: kind.to_owned(),
            id: id.to_owned(),
            name: name.to_owned(),
            data,
        }
    }

    /// The data field `key`.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The data values (to mask them wherever text might echo them).
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.data.iter().map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("name", &self.name)
            .field(
                "fields",
                &self.data.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Where a node's credentials come from, as the runtime provides them.
pub trait CredentialSource {
    /// The credential of type `kind` a node refers to by `id` (first) or `name`.
    fn find(&self, kind: &str, id: &str, name: &str) -> Option<&Credential>;
}

/// Credentials from a JSON document (`linkflow run --credentials FILE.json`): an object
/// keyed by credential id, each `{"type": "...", "name": "...", "data": {field: value}}`.
#[derive(Debug, Clone, Default)]
pub struct CredentialMap {
    credentials: Vec<Credential>,
}

impl CredentialMap {
    /// Parses the JSON document. Errors say which entry is wrong and why (never a value).
    pub fn parse(json: &serde_json::Value) -> Result<Self, String> {
        let Some(entries) = json.as_object() else {
            return Err("credentials: expected a JSON object keyed by credential id".to_owned());
        };
        if entries.len() > CREDENTIALS_MAX {
            return Err(format!(
                "credentials: {} entries, at most {CREDENTIALS_MAX}",
                entries.len()
            ));
        }
        let mut credentials = Vec::with_capacity(entries.len());
        for (id, entry) in entries {
            let kind = entry
                .get("type")
                .and_then(|t| t.as_str())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| format!("credentials: \"{id}\" needs a \"type\" string"))?;
            let name = match entry.get("name") {
                None => "",
                Some(serde_json::Value::String(name)) => name.as_str(),
                Some(_) => return Err(format!("credentials: \"{id}\".name must be a string")),
            };
            let data = entry
                .get("data")
                .and_then(|d| d.as_object())
                .ok_or_else(|| format!("credentials: \"{id}\" needs a \"data\" object"))?;
            if data.len() > CREDENTIAL_FIELDS_MAX {
                return Err(format!(
                    "credentials: \"{id}\" has {} fields, at most {CREDENTIAL_FIELDS_MAX}",
                    data.len()
                ));
            }
            let mut fields = Vec::with_capacity(data.len());
            for (key, value) in data {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    _ => {
                        return Err(format!(
                            "credentials: \"{id}\".data.{key} must be a string, number or boolean"
                        ))
                    }
                };
                fields.push((key.clone(), text));
            }
            credentials.push(Credential::new(kind, id, name, fields));
        }
        Ok(CredentialMap { credentials })
    }
}

impl CredentialMap {
    /// A source over `credentials` (delivered with a plan; the sender checked the bounds).
    pub fn from_credentials(credentials: Vec<Credential>) -> Self {
        assert!(
            credentials.len() <= CREDENTIALS_MAX,
            "delivered credentials are bounded by the wire"
        );
        CredentialMap { credentials }
    }

    /// How many credentials the source holds.
    pub fn len(&self) -> usize {
        self.credentials.len()
    }

    /// Whether the source holds none.
    pub fn is_empty(&self) -> bool {
        self.credentials.is_empty()
    }
}

impl CredentialSource for CredentialMap {
    fn find(&self, kind: &str, id: &str, name: &str) -> Option<&Credential> {
        let of_kind = || self.credentials.iter().filter(|c| c.kind == kind);
        if !id.is_empty() {
            if let Some(found) = of_kind().find(|c| c.id == id) {
                return Some(found);
            }
        }
        if name.is_empty() {
            return None;
        }
        of_kind().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map() -> CredentialMap {
        CredentialMap::parse(&json!({
            "7": {"type": "httpHeaderAuth", "name": "Key", "data": {"name": "X-Key", "value": "s3cret"}},
            "8": {"type": "httpBasicAuth", "name": "Key", "data": {"user": "u", "password": 12}}
        }))
        .expect("parses")
    }

    #[test]
    fn lookup_by_id_then_by_name_within_the_type() {
        let map = map();
        assert_eq!(
            map.find("httpHeaderAuth", "7", "").unwrap().field("value"),
            Some("s3cret")
        );
        assert_eq!(map.find("httpHeaderAuth", "99", "Key").unwrap().id, "7");
        assert_eq!(
            map.find("httpBasicAuth", "", "Key")
                .unwrap()
                .field("password"),
            Some("12")
        );
        assert!(map.find("httpQueryAuth", "7", "Key").is_none());
        assert!(map.find("httpHeaderAuth", "99", "").is_none());
    }

    #[test]
    fn debug_output_hides_the_data() {
        let map = map();
        let shown = format!("{map:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("X-Key") || shown.contains("\"name\""),
            "{shown}"
        );
    }

    #[test]
    fn malformed_documents_are_clear_errors_without_values() {
        for (doc, expected) in [
            (json!([]), "expected a JSON object"),
            (json!({"1": {"data": {}}}), "\"1\" needs a \"type\""),
            (
                json!({"1": {"type": "httpHeaderAuth"}}),
                "\"1\" needs a \"data\" object",
            ),
            (
                json!({"1": {"type": "httpHeaderAuth", "data": {"value": {"nested": "s3cret"}}}}),
                "\"1\".data.value must be",
            ),
        ] {
            let error = CredentialMap::parse(&doc).unwrap_err();
            assert!(error.contains(expected), "{error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }
}
