//! Credentials, the audit log and execution summaries in SQL.

use async_trait::async_trait;
use serde_json::json;
use sqlx::any::AnyRow;

use super::sql::{audit, col, json_col, require_row, SqlStore};
use super::sql_auth::now_ms;
use super::{
    Actor, AuditEntry, CredentialRow, Cursor, Execution, ExecutionFilter, Page, RecordStore,
    StoreError, StoreResult,
};

const CREDENTIAL_COLUMNS: &str =
    "id, owner_id, name, kind, ciphertext, fields, created_at, updated_at";
const EXECUTION_COLUMNS: &str =
    "id, workflow_id, workflow_version, status, mode, started_at, finished_at, data";

fn credential_row(row: &AnyRow) -> StoreResult<CredentialRow> {
    Ok(CredentialRow {
        id: col(row, "id")?,
        owner_id: col(row, "owner_id")?,
        name: col(row, "name")?,
        kind: col(row, "kind")?,
        ciphertext: col(row, "ciphertext")?,
        fields: json_col(row, "fields")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

fn audit_row(row: &AnyRow) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        id: col(row, "id")?,
        at: col(row, "at")?,
        actor_id: col(row, "actor_id")?,
        action: col(row, "action")?,
        target_type: col(row, "target_type")?,
        target_id: col(row, "target_id")?,
        details: json_col(row, "details")?,
    })
}

fn execution_row(row: &AnyRow) -> StoreResult<Execution> {
    let data: Option<String> = col(row, "data")?;
    let data = match data {
        Some(text) => Some(
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("data: {e}")))?,
        ),
        None => None,
    };
    Ok(Execution {
        id: col(row, "id")?,
        workflow_id: col(row, "workflow_id")?,
        workflow_version: col(row, "workflow_version")?,
        status: col(row, "status")?,
        mode: col(row, "mode")?,
        started_at: col(row, "started_at")?,
        finished_at: col(row, "finished_at")?,
        data,
    })
}

fn fields_json(fields: &[String]) -> String {
    serde_json::Value::from(fields.to_vec()).to_string()
}

#[async_trait]
impl RecordStore for SqlStore {
    async fn create_credential(&self, c: &CredentialRow, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO credentials (id, owner_id, name, kind, ciphertext, fields, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&c.id)
        .bind(&c.owner_id)
        .bind(&c.name)
        .bind(&c.kind)
        .bind(&c.ciphertext)
        .bind(fields_json(&c.fields))
        .bind(c.created_at)
        .bind(c.updated_at)
        .execute(&mut *tx)
        .await?;
        let details = json!({ "name": c.name, "type": c.kind });
        audit(
            &mut tx,
            actor,
            "credential.create",
            ("credential", &c.id),
            details,
            c.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn credential(&self, id: &str) -> StoreResult<CredentialRow> {
        let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        credential_row(&row)
    }

    async fn list_credentials(
        &self,
        page: &Cursor,
        limit: u32,
    ) -> StoreResult<Page<CredentialRow>> {
        let sql = format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM credentials \
             WHERE created_at > $1 OR (created_at = $1 AND id > $2) \
             ORDER BY created_at, id LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(page.sql_key())
            .bind(&page.id)
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let creds = rows
            .iter()
            .map(credential_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(creds, limit, |c| {
            Cursor::after(c.created_at, &c.id)
        }))
    }

    async fn update_credential(&self, c: &CredentialRow, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE credentials SET name = $1, kind = $2, ciphertext = $3, fields = $4, \
             updated_at = $5 WHERE id = $6",
        )
        .bind(&c.name)
        .bind(&c.kind)
        .bind(&c.ciphertext)
        .bind(fields_json(&c.fields))
        .bind(c.updated_at)
        .bind(&c.id)
        .execute(&mut *tx)
        .await?;
        require_row(done)?;
        let details = json!({ "name": c.name, "type": c.kind });
        audit(
            &mut tx,
            actor,
            "credential.update",
            ("credential", &c.id),
            details,
            c.updated_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_credential(&self, id: &str, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM credentials WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        require_row(done)?;
        audit(
            &mut tx,
            actor,
            "credential.delete",
            ("credential", id),
            json!({}),
            now_ms(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_audit(&self, page: &Cursor, limit: u32) -> StoreResult<Page<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor_id, action, target_type, target_id, details FROM audit_log \
             WHERE at > $1 OR (at = $1 AND id > $2) ORDER BY at, id LIMIT $3",
        )
        .bind(page.sql_key())
        .bind(&page.id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let entries = rows
            .iter()
            .map(audit_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(entries, limit, |e| {
            Cursor::after(e.at, &e.id)
        }))
    }

    async fn upsert_execution(&self, e: &Execution) -> StoreResult<()> {
        // Delete-then-insert in one transaction is the portable upsert (the ON CONFLICT
        // spellings differ in what they may reference across the two backends' versions).
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM executions WHERE id = $1")
            .bind(&e.id)
            .execute(&mut *tx)
            .await?;
        let sql = format!(
            "INSERT INTO executions ({EXECUTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&e.id)
            .bind(&e.workflow_id)
            .bind(e.workflow_version)
            .bind(&e.status)
            .bind(&e.mode)
            .bind(e.started_at)
            .bind(e.finished_at)
            .bind(e.data.as_ref().map(|d| d.to_string()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn execution(&self, id: &str) -> StoreResult<Execution> {
        let sql = format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        execution_row(&row)
    }

    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
        page: &Cursor,
        limit: u32,
    ) -> StoreResult<Page<Execution>> {
        // Lists leave out run data; `GET /executions/{id}` returns it.
        let sql = "SELECT id, workflow_id, workflow_version, status, mode, started_at, \
                   finished_at, NULL AS data FROM executions \
                   WHERE (started_at > $1 OR (started_at = $1 AND id > $2)) \
                     AND ($3 IS NULL OR workflow_id = $3) AND ($4 IS NULL OR status = $4) \
                   ORDER BY started_at, id LIMIT $5";
        let rows = sqlx::query(sql)
            .bind(page.sql_key())
            .bind(&page.id)
            .bind(filter.workflow_id.clone())
            .bind(filter.status.clone())
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let execs = rows
            .iter()
            .map(execution_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(execs, limit, |e| {
            Cursor::after(e.started_at, &e.id)
        }))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
