//! Workflows, versions, tags and activations in SQL.

use async_trait::async_trait;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use super::sql::{audit, col, conflict, require_row, SqlStore};
use super::sql_auth::now_ms;
use super::{
    Activation, Actor, Cursor, NewWorkflow, Page, StoreError, StoreResult, Workflow,
    WorkflowFilter, WorkflowStore, WorkflowVersion,
};

const WORKFLOW_COLUMNS: &str =
    "id, owner_id, name, active, current_version, created_at, updated_at";

fn workflow_row(row: &AnyRow) -> StoreResult<Workflow> {
    Ok(Workflow {
        id: col(row, "id")?,
        owner_id: col(row, "owner_id")?,
        name: col(row, "name")?,
        active: col::<i64>(row, "active")? != 0,
        version: col(row, "current_version")?,
        tags: Vec::new(),
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

fn version_row(row: &AnyRow) -> StoreResult<WorkflowVersion> {
    Ok(WorkflowVersion {
        workflow_id: col(row, "workflow_id")?,
        version: col(row, "version")?,
        body: col(row, "body")?,
        created_by: col(row, "created_by")?,
        created_at: col(row, "created_at")?,
    })
}

async fn tags_of(conn: &mut AnyConnection, id: &str) -> StoreResult<Vec<String>> {
    let rows = sqlx::query("SELECT tag FROM workflow_tags WHERE workflow_id = $1 ORDER BY tag")
        .bind(id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| col(r, "tag")).collect()
}

async fn replace_tags(conn: &mut AnyConnection, id: &str, tags: &[String]) -> StoreResult<()> {
    sqlx::query("DELETE FROM workflow_tags WHERE workflow_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let mut unique: Vec<&String> = tags.iter().collect();
    unique.sort();
    unique.dedup();
    for tag in unique {
        sqlx::query("INSERT INTO workflow_tags (workflow_id, tag) VALUES ($1, $2)")
            .bind(id)
            .bind(tag)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn insert_version(
    conn: &mut AnyConnection,
    id: &str,
    version: i64,
    wf: &NewWorkflow,
    author: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO workflow_versions (workflow_id, version, body, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(version)
    .bind(&wf.body)
    .bind(author)
    .bind(wf.now)
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_workflow(
    conn: &mut AnyConnection,
    wf: &NewWorkflow,
    actor: &Actor,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO workflows (id, owner_id, name, active, current_version, created_at, updated_at) \
         VALUES ($1, $2, $3, 0, 1, $4, $4)",
    )
    .bind(&wf.id)
    .bind(&wf.owner_id)
    .bind(&wf.name)
    .bind(wf.now)
    .execute(&mut *conn)
    .await
    .map_err(conflict("workflow id already exists"))?;
    insert_version(conn, &wf.id, 1, wf, &wf.owner_id).await?;
    replace_tags(conn, &wf.id, &wf.tags).await?;
    let details = json!({ "name": wf.name, "version": 1 });
    audit(
        conn,
        actor,
        "workflow.create",
        ("workflow", &wf.id),
        details,
        wf.now,
    )
    .await
}

async fn load_workflow(conn: &mut AnyConnection, id: &str) -> StoreResult<Workflow> {
    let sql = format!("SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let mut wf = workflow_row(&row)?;
    wf.tags = tags_of(conn, id).await?;
    Ok(wf)
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_contains(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[async_trait]
impl WorkflowStore for SqlStore {
    async fn create_workflow(&self, wf: &NewWorkflow, actor: &Actor) -> StoreResult<Workflow> {
        let mut tx = self.pool.begin().await?;
        insert_workflow(&mut tx, wf, actor).await?;
        let created = load_workflow(&mut tx, &wf.id).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn create_workflows(
        &self,
        wfs: &[NewWorkflow],
        actor: &Actor,
    ) -> StoreResult<Vec<Workflow>> {
        let mut tx = self.pool.begin().await?;
        let mut created = Vec::with_capacity(wfs.len());
        for wf in wfs {
            insert_workflow(&mut tx, wf, actor).await?;
            created.push(load_workflow(&mut tx, &wf.id).await?);
        }
        tx.commit().await?;
        Ok(created)
    }

    async fn workflow(&self, id: &str) -> StoreResult<(Workflow, WorkflowVersion)> {
        let mut conn = self.pool.acquire().await?;
        let wf = load_workflow(&mut conn, id).await?;
        let row = sqlx::query(
            "SELECT workflow_id, version, body, created_by, created_at FROM workflow_versions \
             WHERE workflow_id = $1 AND version = $2",
        )
        .bind(id)
        .bind(wf.version)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("workflow {id} lacks its current version")))?;
        Ok((wf, version_row(&row)?))
    }

    async fn list_workflows(
        &self,
        filter: &WorkflowFilter,
        page: &Cursor,
        limit: u32,
    ) -> StoreResult<Page<Workflow>> {
        // Optional filters are bound as typed NULLs ("$n IS NULL OR ..."), which keeps the
        // statement text fixed for both backends and free of string-built SQL.
        let sql = format!(
            "SELECT {WORKFLOW_COLUMNS} FROM workflows w \
             WHERE (w.created_at > $1 OR (w.created_at = $1 AND w.id > $2)) \
               AND ($3 IS NULL OR LOWER(w.name) LIKE $3 ESCAPE '\\') \
               AND ($4 IS NULL OR w.active = $4) \
               AND ($5 IS NULL OR EXISTS (SELECT 1 FROM workflow_tags t \
                                          WHERE t.workflow_id = w.id AND t.tag = $5)) \
             ORDER BY w.created_at, w.id LIMIT $6"
        );
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(page.sql_key())
            .bind(&page.id)
            .bind(filter.name.as_deref().map(like_contains))
            .bind(filter.active.map(i64::from))
            .bind(filter.tag.clone())
            .bind(i64::from(limit) + 1)
            .fetch_all(&mut *conn)
            .await?;
        let mut wfs = rows
            .iter()
            .map(workflow_row)
            .collect::<StoreResult<Vec<_>>>()?;
        for wf in &mut wfs {
            wf.tags = tags_of(&mut conn, &wf.id).await?;
        }
        Ok(Page::from_rows(wfs, limit, |w| {
            Cursor::after(w.created_at, &w.id)
        }))
    }

    async fn update_workflow(
        &self,
        id: &str,
        wf: &NewWorkflow,
        actor: &Actor,
    ) -> StoreResult<Workflow> {
        let mut tx = self.pool.begin().await?;
        let current = load_workflow(&mut tx, id).await?;
        let next = current.version + 1;
        // The version check in WHERE makes a concurrent save lose cleanly instead of
        // silently overwriting: exactly one writer moves current_version from N to N+1.
        let done = sqlx::query(
            "UPDATE workflows SET name = $1, current_version = $2, updated_at = $3 \
             WHERE id = $4 AND current_version = $5",
        )
        .bind(&wf.name)
        .bind(next)
        .bind(wf.now)
        .bind(id)
        .bind(current.version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("workflow changed concurrently".into()));
        }
        let author = actor.user_id.clone().unwrap_or_default();
        insert_version(&mut tx, id, next, wf, &author).await?;
        replace_tags(&mut tx, id, &wf.tags).await?;
        let details = json!({ "name": wf.name, "version": next });
        audit(
            &mut tx,
            actor,
            "workflow.update",
            ("workflow", id),
            details,
            wf.now,
        )
        .await?;
        let updated = load_workflow(&mut tx, id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn delete_workflow(&self, id: &str, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // Children first: PostgreSQL and SQLite both cascade, but explicit deletes keep
        // the result independent of the connection's foreign-key setting.
        for table in ["workflow_tags", "workflow_versions", "activations"] {
            let sql = format!("DELETE FROM {table} WHERE workflow_id = $1");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("DELETE FROM workflows WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        require_row(done)?;
        audit(
            &mut tx,
            actor,
            "workflow.delete",
            ("workflow", id),
            json!({}),
            now_ms(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_versions(
        &self,
        id: &str,
        page: &Cursor,
        limit: u32,
    ) -> StoreResult<Page<WorkflowVersion>> {
        let mut conn = self.pool.acquire().await?;
        load_workflow(&mut conn, id).await?;
        let rows = sqlx::query(
            "SELECT workflow_id, version, body, created_by, created_at FROM workflow_versions \
             WHERE workflow_id = $1 AND version > $2 ORDER BY version LIMIT $3",
        )
        .bind(id)
        .bind(page.sql_key())
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *conn)
        .await?;
        let versions = rows
            .iter()
            .map(version_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(versions, limit, |v| {
            Cursor::after(v.version, "")
        }))
    }

    async fn version(&self, id: &str, version: i64) -> StoreResult<WorkflowVersion> {
        let row = sqlx::query(
            "SELECT workflow_id, version, body, created_by, created_at FROM workflow_versions \
             WHERE workflow_id = $1 AND version = $2",
        )
        .bind(id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        version_row(&row)
    }

    async fn record_activation(
        &self,
        act: &Activation,
        active: bool,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE workflows SET active = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(active))
            .bind(act.created_at)
            .bind(&act.workflow_id)
            .execute(&mut *tx)
            .await?;
        require_row(done)?;
        sqlx::query(
            "INSERT INTO activations (id, workflow_id, version, plan_id, status, report, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&act.id)
        .bind(&act.workflow_id)
        .bind(act.version)
        .bind(&act.plan_id)
        .bind(&act.status)
        .bind(&act.report)
        .bind(act.created_at)
        .execute(&mut *tx)
        .await?;
        let action = if active {
            "workflow.activate"
        } else {
            "workflow.deactivate"
        };
        let details =
            json!({ "version": act.version, "planId": act.plan_id, "status": act.status });
        audit(
            &mut tx,
            actor,
            action,
            ("workflow", &act.workflow_id),
            details,
            act.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_activations(&self, workflow_id: &str) -> StoreResult<Vec<Activation>> {
        let rows = sqlx::query(
            "SELECT id, workflow_id, version, plan_id, status, report, created_at \
             FROM activations WHERE workflow_id = $1 ORDER BY created_at, id",
        )
        .bind(workflow_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Activation {
                    id: col(r, "id")?,
                    workflow_id: col(r, "workflow_id")?,
                    version: col(r, "version")?,
                    plan_id: col(r, "plan_id")?,
                    status: col(r, "status")?,
                    report: col(r, "report")?,
                    created_at: col(r, "created_at")?,
                })
            })
            .collect()
    }
}
