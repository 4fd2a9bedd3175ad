//! Rows and inputs of the [`super::Store`] traits.

use serde::{Deserialize, Serialize};

/// A user's role. Owners and admins manage users and may change anyone's work;
/// members change only what they own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Created by first-run setup; one per installation.
    Owner,
    /// Manages users and all workflows.
    Admin,
    /// Manages its own workflows and credentials.
    Member,
}

impl Role {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }

    /// Whether this role may change work owned by someone else.
    pub fn manages_others(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

/// Who made a change, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    /// User id; `None` for the system itself (e.g. first-run setup before a user exists).
    pub user_id: Option<String>,
}

impl Actor {
    /// A change made by user `id`.
    pub fn user(id: &str) -> Actor {
        Actor {
            user_id: Some(id.to_owned()),
        }
    }
}

/// A user as stored (the password hash never leaves the control plane).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// UUID.
    pub id: String,
    /// Lower-cased email.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Rate-limit tier name (see [`crate::ratelimit`]).
    pub tier: String,
    /// Creation time, Unix ms.
    pub created_at: i64,
}

/// Input for creating a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// UUID chosen by the caller.
    pub id: String,
    /// Email (stored lower-cased).
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Rate-limit tier.
    pub tier: String,
    /// Unix ms.
    pub created_at: i64,
}

/// A refresh token to store (only its hash).
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// Family shared by every token rotated from one login.
    pub family_id: String,
    /// Owner.
    pub user_id: String,
    /// Expiry, Unix ms.
    pub expires_at: i64,
    /// Unix ms.
    pub created_at: i64,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Token was valid and is now used; the next token is stored. Carries the user id.
    Rotated(String),
    /// Token was used before (or revoked): the family is now revoked.
    Reused,
    /// Token is unknown or expired.
    Invalid,
}

/// An API key to store (only its hash).
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// UUID.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Label given by the user.
    pub name: String,
    /// SHA-256 of the key, hex.
    pub key_hash: String,
    /// First characters of the key, to recognise it in listings.
    pub prefix: String,
    /// Unix ms.
    pub created_at: i64,
}

/// An API key as listed (never the key itself).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    /// UUID.
    pub id: String,
    /// Owner.
    #[serde(skip)]
    pub user_id: String,
    /// Label.
    pub name: String,
    /// First characters of the key.
    pub prefix: String,
    /// Unix ms.
    pub created_at: i64,
}

/// Input for creating a workflow or saving a new version.
#[derive(Debug, Clone)]
pub struct NewWorkflow {
    /// UUID (ignored by updates).
    pub id: String,
    /// Owner (ignored by updates).
    pub owner_id: String,
    /// Name.
    pub name: String,
    /// Tags.
    pub tags: Vec<String>,
    /// The n8n JSON as given.
    pub body: String,
    /// Unix ms.
    pub now: i64,
}

/// A workflow's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    /// UUID.
    pub id: String,
    /// Owner's user id.
    pub owner_id: String,
    /// Name.
    pub name: String,
    /// Whether the workflow is deployed.
    pub active: bool,
    /// Latest version number (1-based).
    pub version: i64,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// One saved version of a workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowVersion {
    /// Workflow id.
    pub workflow_id: String,
    /// Version number.
    pub version: i64,
    /// The n8n JSON as saved.
    pub body: String,
    /// Author's user id.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
}

/// Filters of the workflow list.
#[derive(Debug, Clone, Default)]
pub struct WorkflowFilter {
    /// Case-insensitive substring of the name.
    pub name: Option<String>,
    /// Exact tag.
    pub tag: Option<String>,
    /// Active flag.
    pub active: Option<bool>,
}

/// A deploy (or undeploy) of one workflow version.
#[derive(Debug, Clone, PartialEq)]
pub struct Activation {
    /// UUID.
    pub id: String,
    /// Workflow id.
    pub workflow_id: String,
    /// Version deployed.
    pub version: i64,
    /// Content hash of the plan ("" for a deactivation).
    pub plan_id: String,
    /// `activated`, `deactivated` or `failed`.
    pub status: String,
    /// The deployer's report (JSON).
    pub report: String,
    /// Unix ms.
    pub created_at: i64,
}

/// A credential row: metadata plus the sealed secret.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRow {
    /// UUID.
    pub id: String,
    /// Owner.
    pub owner_id: String,
    /// Name.
    pub name: String,
    /// n8n credential type (e.g. `httpHeaderAuth`).
    pub kind: String,
    /// Sealed secret (see [`crate::credentials`]).
    pub ciphertext: String,
    /// Names of the secret's fields.
    pub fields: Vec<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// One audit-log entry.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// UUID.
    pub id: String,
    /// Unix ms.
    pub at: i64,
    /// Acting user (absent for system actions).
    pub actor_id: Option<String>,
    /// What happened, e.g. `workflow.create`.
    pub action: String,
    /// Kind of object changed, e.g. `workflow`.
    pub target_type: String,
    /// Id of the object changed.
    pub target_id: String,
    /// Extra facts (JSON), never secrets.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// An execution summary reported by a data plane.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    /// Execution id.
    pub id: String,
    /// Workflow id.
    pub workflow_id: String,
    /// Workflow version that ran.
    pub workflow_version: i64,
    /// `running`, `success` or `error`.
    pub status: String,
    /// `webhook`, `manual`, `trigger`, ...
    pub mode: String,
    /// Unix ms.
    pub started_at: i64,
    /// Unix ms.
    pub finished_at: Option<i64>,
    /// Run data when the workflow keeps it (JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
}

/// Filters of the execution list.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    /// Workflow id.
    pub workflow_id: Option<String>,
    /// Status.
    pub status: Option<String>,
}
