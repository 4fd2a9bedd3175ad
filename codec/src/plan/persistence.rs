//! n8n's execution-saving settings folded into the plan's [`Persistence`].
//!
//! n8n (`toSaveSettings`, `hookFunctionsSave`) reads three workflow settings:
//!
//! - `saveDataSuccessExecution` / `saveDataErrorExecution`: absent or `"DEFAULT"` take the
//!   instance default (`EXECUTIONS_DATA_SAVE_ON_SUCCESS` / `_ON_ERROR`, both `all` unless
//!   set); otherwise only the exact string `"all"` saves, anything else saves nothing — an
//!   execution not saved is deleted entirely when it ends.
//! - `saveManualExecutions`: absent or `"DEFAULT"` take the instance default
//!   (`EXECUTIONS_DATA_SAVE_MANUAL_EXECUTIONS`, `true`); otherwise its JavaScript
//!   truthiness. A manual execution that is saved is saved whole, whatever the two
//!   settings above say.
//!
//! LinkFlow maps them onto [`SaveLevel`]s and adds one value n8n does not have,
//! `"summary"`: keep ids, status, times and error, not the per-node data. The instance
//! default is left to the node that runs the plan ([`SaveLevel::Default`]: its
//! `--record-level`), as n8n leaves it to the process's environment. A value that is none
//! of these keeps nothing, as in n8n, and is reported as a warning so a typo does not go
//! unnoticed.

use serde_json::{Map, Value};

use super::types::{Persistence, SaveLevel};
use crate::validate::{Diagnostic, Severity};

/// Warning code: a save setting has a value n8n does not define; it keeps nothing (n8n's
/// reading of it), which is probably not what was meant.
pub const UNKNOWN_SAVE_SETTING: &str = "LF-CMP-004";

/// n8n's value meaning "the instance default" (its editor writes it).
const DEFAULT: &str = "DEFAULT";

/// The plan's persistence for a workflow's `settings`; warnings go to `out`.
pub fn persistence(
    settings: Option<&Map<String, Value>>,
    out: &mut Vec<Diagnostic>,
) -> Persistence {
    let get = |key: &str| settings.and_then(|s| s.get(key));
    Persistence {
        success: save_level(
            get("saveDataSuccessExecution"),
            "saveDataSuccessExecution",
            out,
        ),
        error: save_level(get("saveDataErrorExecution"), "saveDataErrorExecution", out),
        manual: save_manual(get("saveManualExecutions"), out),
    }
}

fn save_level(value: Option<&Value>, key: &str, out: &mut Vec<Diagnostic>) -> SaveLevel {
    match value {
        None | Some(Value::Null) => SaveLevel::Default,
        Some(Value::String(text)) => match text.as_str() {
            DEFAULT => SaveLevel::Default,
            "all" => SaveLevel::All,
            "summary" => SaveLevel::Summary,
            "none" => SaveLevel::None,
            _ => unknown(value, key, out),
        },
        Some(_) => unknown(value, key, out),
    }
}

fn unknown(value: Option<&Value>, key: &str, out: &mut Vec<Diagnostic>) -> SaveLevel {
    out.push(warning(
        key,
        format!(
            "{} is not \"all\", \"summary\", \"none\" or \"DEFAULT\": executions are not \
             recorded (n8n saves only on \"all\")",
            value.map_or_else(String::new, Value::to_string)
        ),
    ));
    SaveLevel::None
}

/// n8n's instance default for `saveManualExecutions`.
const SAVE_MANUAL_DEFAULT: bool = true;

fn save_manual(value: Option<&Value>, out: &mut Vec<Diagnostic>) -> bool {
    let truthy = match value {
        None | Some(Value::Null) => return SAVE_MANUAL_DEFAULT,
        Some(Value::Bool(b)) => return *b,
        Some(Value::String(text)) if text == DEFAULT => return SAVE_MANUAL_DEFAULT,
        // n8n uses any other value as a JavaScript condition.
        Some(Value::String(text)) => !text.is_empty(),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|v| v != 0.0),
        Some(Value::Array(_) | Value::Object(_)) => true,
    };
    out.push(warning(
        "saveManualExecutions",
        format!(
            "{} is not a boolean or \"DEFAULT\": read as {truthy}, as n8n reads it",
            value.map_or_else(String::new, Value::to_string)
        ),
    ));
    truthy
}

fn warning(key: &str, message: String) -> Diagnostic {
    Diagnostic {
        code: UNKNOWN_SAVE_SETTING,
        severity: Severity::Warning,
        node: None,
        path: format!("settings.{key}"),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(settings: Value) -> (Persistence, Vec<Diagnostic>) {
        let mut out = Vec::new();
        let persistence = persistence(settings.as_object(), &mut out);
        (persistence, out)
    }

    #[test]
    fn absent_settings_take_the_instance_default_and_manual_runs_are_saved() {
        for settings in [
            json!({}),
            json!({"saveDataSuccessExecution": "DEFAULT",
            "saveDataErrorExecution": null, "saveManualExecutions": "DEFAULT"}),
        ] {
            let (p, warnings) = of(settings);
            assert_eq!(p.success, SaveLevel::Default);
            assert_eq!(p.error, SaveLevel::Default);
            assert!(p.manual);
            assert!(warnings.is_empty());
        }
        let mut out = Vec::new();
        let p = persistence(None, &mut out);
        assert_eq!(
            (p.success, p.error, p.manual),
            (SaveLevel::Default, SaveLevel::Default, true)
        );
    }

    #[test]
    fn n8n_values_map_per_status_and_summary_is_selectable() {
        let (p, warnings) = of(json!({"saveDataSuccessExecution": "none",
            "saveDataErrorExecution": "all", "saveManualExecutions": false}));
        assert_eq!(
            (p.success, p.error, p.manual),
            (SaveLevel::None, SaveLevel::All, false)
        );
        assert!(warnings.is_empty());
        let (p, _) = of(json!({"saveDataSuccessExecution": "summary",
            "saveDataErrorExecution": "none", "saveManualExecutions": true}));
        assert_eq!(
            (p.success, p.error, p.manual),
            (SaveLevel::Summary, SaveLevel::None, true)
        );
    }

    #[test]
    fn an_unknown_level_keeps_nothing_as_n8n_does_and_warns() {
        let (p, warnings) = of(json!({"saveDataSuccessExecution": "All",
            "saveDataErrorExecution": true}));
        assert_eq!((p.success, p.error), (SaveLevel::None, SaveLevel::None));
        assert_eq!(warnings.len(), 2);
        assert!(warnings
            .iter()
            .all(|w| w.code == UNKNOWN_SAVE_SETTING && w.severity == Severity::Warning));
        assert_eq!(warnings[0].path, "settings.saveDataSuccessExecution");
    }

    #[test]
    fn a_non_boolean_manual_setting_is_read_as_javascript_truthiness() {
        let (p, warnings) = of(json!({"saveManualExecutions": "false"}));
        assert!(p.manual, "a non-empty string is truthy in n8n");
        assert_eq!(warnings[0].path, "settings.saveManualExecutions");
        let (p, _) = of(json!({"saveManualExecutions": 0}));
        assert!(!p.manual);
    }
}
