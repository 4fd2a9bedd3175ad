//! Users, refresh tokens and API keys in SQL.

use async_trait::async_trait;
use serde_json::json;
use sqlx::any::AnyRow;

use super::sql::{audit, col, conflict, require_row, SqlStore};
use super::{
    Actor, ApiKey, AuthStore, Cursor, NewApiKey, NewRefreshToken, NewUser, Page, RefreshOutcome,
    Role, StoreError, StoreResult, User,
};

const USER_COLUMNS: &str = "id, email, password_hash, role, tier, created_at";

fn user_row(row: &AnyRow) -> StoreResult<User> {
    let role: String = col(row, "role")?;
    Ok(User {
        id: col(row, "id")?,
        email: col(row, "email")?,
        password_hash: col(row, "password_hash")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        tier: col(row, "tier")?,
        created_at: col(row, "created_at")?,
    })
}

fn api_key_row(row: &AnyRow) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: col(row, "id")?,
        user_id: col(row, "user_id")?,
        name: col(row, "name")?,
        prefix: col(row, "prefix")?,
        created_at: col(row, "created_at")?,
    })
}

async fn insert_user(conn: &mut sqlx::AnyConnection, user: &NewUser) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, tier, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&user.id)
    .bind(user.email.to_lowercase())
    .bind(&user.password_hash)
    .bind(user.role.as_str())
    .bind(&user.tier)
    .bind(user.created_at)
    .execute(conn)
    .await
    .map_err(conflict("email already registered"))?;
    Ok(())
}

#[async_trait]
impl AuthStore for SqlStore {
    async fn create_owner(&self, user: &NewUser) -> StoreResult<User> {
        debug_assert_eq!(user.role, Role::Owner);
        let mut tx = self.pool.begin().await?;
        let existing = sqlx::query("SELECT id FROM users WHERE role = 'owner'")
            .fetch_optional(&mut *tx)
            .await?;
        if existing.is_some() {
            return Err(StoreError::OwnerExists);
        }
        insert_user(&mut tx, user).await?;
        let actor = Actor::user(&user.id);
        audit(
            &mut tx,
            &actor,
            "user.setup",
            ("user", &user.id),
            json!({}),
            user.created_at,
        )
        .await?;
        tx.commit().await?;
        self.user_by_id(&user.id).await
    }

    async fn create_user(&self, user: &NewUser, actor: &Actor) -> StoreResult<User> {
        let mut tx = self.pool.begin().await?;
        insert_user(&mut tx, user).await?;
        let details = json!({ "email": user.email.to_lowercase(), "role": user.role.as_str() });
        audit(
            &mut tx,
            actor,
            "user.create",
            ("user", &user.id),
            details,
            user.created_at,
        )
        .await?;
        tx.commit().await?;
        self.user_by_id(&user.id).await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email.to_lowercase())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        user_row(&row)
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        user_row(&row)
    }

    async fn list_users(&self, page: &Cursor, limit: u32) -> StoreResult<Page<User>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users \
             WHERE created_at > $1 OR (created_at = $1 AND id > $2) \
             ORDER BY created_at, id LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(page.sql_key())
            .bind(&page.id)
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let users = rows.iter().map(user_row).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(users, limit, |u| {
            Cursor::after(u.created_at, &u.id)
        }))
    }

    async fn insert_refresh(&self, t: &NewRefreshToken) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&t.token_hash)
        .bind(&t.family_id)
        .bind(&t.user_id)
        .bind(t.expires_at)
        .bind(t.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn rotate_refresh(
        &self,
        token_hash: &str,
        next_hash: &str,
        now_ms: i64,
        next_expires_ms: i64,
    ) -> StoreResult<RefreshOutcome> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT family_id, user_id, expires_at, used, revoked FROM refresh_tokens \
             WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(RefreshOutcome::Invalid);
        };
        let family: String = col(&row, "family_id")?;
        let user_id: String = col(&row, "user_id")?;
        let expires_at: i64 = col(&row, "expires_at")?;
        // Claim the token with a conditional update, so two concurrent uses of one token
        // cannot both succeed: the loser sees zero rows and is treated as a reuse.
        let claimed = sqlx::query(
            "UPDATE refresh_tokens SET used = 1 \
             WHERE token_hash = $1 AND used = 0 AND revoked = 0",
        )
        .bind(token_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE family_id = $1")
                .bind(&family)
                .execute(&mut *tx)
                .await?;
            let actor = Actor::user(&user_id);
            let details = json!({ "familyId": family });
            audit(
                &mut tx,
                &actor,
                "auth.refresh_reuse",
                ("user", &user_id),
                details,
                now_ms,
            )
            .await?;
            tx.commit().await?;
            return Ok(RefreshOutcome::Reused);
        }
        if expires_at <= now_ms {
            // Expired: the claim above is rolled back with the transaction; nothing changes.
            return Ok(RefreshOutcome::Invalid);
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(next_hash)
        .bind(&family)
        .bind(&user_id)
        .bind(next_expires_ms)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RefreshOutcome::Rotated(user_id))
    }

    async fn insert_api_key(&self, key: &NewApiKey, actor: &Actor) -> StoreResult<ApiKey> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, key_hash, prefix, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.id)
        .bind(&key.user_id)
        .bind(&key.name)
        .bind(&key.key_hash)
        .bind(&key.prefix)
        .bind(key.created_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict("api key collision"))?;
        let details = json!({ "name": key.name, "prefix": key.prefix });
        audit(
            &mut tx,
            actor,
            "apikey.create",
            ("api_key", &key.id),
            details,
            key.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(ApiKey {
            id: key.id.clone(),
            user_id: key.user_id.clone(),
            name: key.name.clone(),
            prefix: key.prefix.clone(),
            created_at: key.created_at,
        })
    }

    async fn api_key_user(&self, key_hash: &str) -> StoreResult<(ApiKey, User)> {
        let row = sqlx::query(
            "SELECT id, user_id, name, prefix, created_at FROM api_keys WHERE key_hash = $1",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        let key = api_key_row(&row)?;
        let user = self.user_by_id(&key.user_id).await?;
        Ok((key, user))
    }

    async fn list_api_keys(&self, user_id: &str) -> StoreResult<Vec<ApiKey>> {
        let rows = sqlx::query(
            "SELECT id, user_id, name, prefix, created_at FROM api_keys \
             WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(api_key_row).collect()
    }

    async fn delete_api_key(&self, user_id: &str, key_id: &str, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM api_keys WHERE id = $1 AND user_id = $2")
            .bind(key_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        require_row(done)?;
        audit(
            &mut tx,
            actor,
            "apikey.delete",
            ("api_key", key_id),
            json!({}),
            now_ms(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Current wall-clock time in Unix ms.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map(|d| d.as_millis() as i64).unwrap_or(0)
}
