//! Persistent state of the control plane behind the [`Store`] trait.
//!
//! One implementation, [`SqlStore`], serves both backends through sqlx's `Any` driver:
//! SQLite (embedded default, a file under the data dir) and PostgreSQL (production).
//! Both run the same migration set (`controlplane/migrations/`, applied on start) and the
//! same test suite (`controlplane/tests/storage.rs`). Every operation that writes more than
//! one row runs in one transaction, and each change writes its audit entry in that same
//! transaction: a change is either fully recorded, audit included, or not at all.

mod cursor;
mod sql;
mod sql_auth;
mod sql_records;
mod sql_workflows;
mod types;

pub use cursor::{Cursor, Page, CURSOR_BYTES_MAX};
pub use sql::{Backend, SqlStore};
pub use sql_auth::now_ms;
pub use types::*;

use async_trait::async_trait;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The addressed row does not exist.
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write (e.g. an email already registered).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The first owner already exists (setup runs once).
    #[error("an owner already exists")]
    OwnerExists,
    /// The database failed or is unreachable.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be decoded (a bug or a hand-edited database).
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// Result of a storage operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Users, refresh-token families and API keys.
#[async_trait]
pub trait AuthStore: Send + Sync {
    /// Creates the first owner; fails with [`StoreError::OwnerExists`] once any owner exists.
    /// The check and the insert are one transaction.
    async fn create_owner(&self, user: &NewUser) -> StoreResult<User>;
    /// Creates a user (by an owner or admin).
    async fn create_user(&self, user: &NewUser, actor: &Actor) -> StoreResult<User>;
    /// Looks a user up by email (case-insensitive: emails are stored lower-cased).
    async fn user_by_email(&self, email: &str) -> StoreResult<User>;
    /// Looks a user up by id.
    async fn user_by_id(&self, id: &str) -> StoreResult<User>;
    /// Lists users in creation order.
    async fn list_users(&self, page: &Cursor, limit: u32) -> StoreResult<Page<User>>;
    /// Stores a new refresh token (its hash) in `family_id`.
    async fn insert_refresh(&self, token: &NewRefreshToken) -> StoreResult<()>;
    /// Consumes a refresh token: marks it used and stores `next` in the same family, in one
    /// transaction. A token already used or revoked revokes its whole family and returns
    /// [`RefreshOutcome::Reused`].
    async fn rotate_refresh(
        &self,
        token_hash: &str,
        next_hash: &str,
        now_ms: i64,
        next_expires_ms: i64,
    ) -> StoreResult<RefreshOutcome>;
    /// Stores an API key (its hash).
    async fn insert_api_key(&self, key: &NewApiKey, actor: &Actor) -> StoreResult<ApiKey>;
    /// Finds the user owning the API key with this hash.
    async fn api_key_user(&self, key_hash: &str) -> StoreResult<(ApiKey, User)>;
    /// Lists a user's API keys (never the keys themselves).
    async fn list_api_keys(&self, user_id: &str) -> StoreResult<Vec<ApiKey>>;
    /// Deletes one of a user's API keys.
    async fn delete_api_key(&self, user_id: &str, key_id: &str, actor: &Actor) -> StoreResult<()>;
}

/// Workflows and their versions.
#[async_trait]
pub trait WorkflowStore: Send + Sync {
    /// Creates a workflow with version 1.
    async fn create_workflow(&self, wf: &NewWorkflow, actor: &Actor) -> StoreResult<Workflow>;
    /// Creates several workflows in one transaction: all or none.
    async fn create_workflows(
        &self,
        wfs: &[NewWorkflow],
        actor: &Actor,
    ) -> StoreResult<Vec<Workflow>>;
    /// Reads a workflow with its current version's body.
    async fn workflow(&self, id: &str) -> StoreResult<(Workflow, WorkflowVersion)>;
    /// Lists workflows matching `filter`.
    async fn list_workflows(
        &self,
        filter: &WorkflowFilter,
        page: &Cursor,
        limit: u32,
    ) -> StoreResult<Page<Workflow>>;
    /// Saves a new version (the previous ones stay readable).
    async fn update_workflow(
        &self,
        id: &str,
        wf: &NewWorkflow,
        actor: &Actor,
    ) -> StoreResult<Workflow>;
    /// Deletes a workflow with its versions, tags and activations.
    async fn delete_workflow(&self, id: &str, actor: &Actor) -> StoreResult<()>;
    /// Lists a workflow's versions, oldest first.
    async fn list_versions(
        &self,
        id: &str,
        page: &Cursor,
        limit: u32,
    ) -> StoreResult<Page<WorkflowVersion>>;
    /// Reads one version.
    async fn version(&self, id: &str, version: i64) -> StoreResult<WorkflowVersion>;
    /// Records an activation or deactivation and sets the workflow's `active` flag.
    async fn record_activation(
        &self,
        act: &Activation,
        active: bool,
        actor: &Actor,
    ) -> StoreResult<()>;
    /// Lists a workflow's activations, oldest first.
    async fn list_activations(&self, workflow_id: &str) -> StoreResult<Vec<Activation>>;
}

/// Encrypted credentials, the audit log and execution summaries.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Stores a credential (already encrypted by the caller).
    async fn create_credential(&self, c: &CredentialRow, actor: &Actor) -> StoreResult<()>;
    /// Reads a credential row (ciphertext included; the API never returns it).
    async fn credential(&self, id: &str) -> StoreResult<CredentialRow>;
    /// Lists credentials.
    async fn list_credentials(&self, page: &Cursor, limit: u32)
        -> StoreResult<Page<CredentialRow>>;
    /// Replaces a credential's name and secret.
    async fn update_credential(&self, c: &CredentialRow, actor: &Actor) -> StoreResult<()>;
    /// Deletes a credential.
    async fn delete_credential(&self, id: &str, actor: &Actor) -> StoreResult<()>;
    /// Reads the audit log, oldest first.
    async fn list_audit(&self, page: &Cursor, limit: u32) -> StoreResult<Page<AuditEntry>>;
    /// Records (or updates) an execution summary reported by a data plane.
    async fn upsert_execution(&self, e: &Execution) -> StoreResult<()>;
    /// Reads one execution.
    async fn execution(&self, id: &str) -> StoreResult<Execution>;
    /// Lists executions, oldest first.
    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
        page: &Cursor,
        limit: u32,
    ) -> StoreResult<Page<Execution>>;
    /// Cheap round trip for `/health/ready`.
    async fn ping(&self) -> StoreResult<()>;
}

/// Everything the control plane persists.
pub trait Store: AuthStore + WorkflowStore + RecordStore {}

impl<T: AuthStore + WorkflowStore + RecordStore> Store for T {}
