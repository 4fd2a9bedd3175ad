//! One storage suite, run against SQLite and against the real PostgreSQL
//! (`LINKFLOW_TEST_DATABASE_URL`; those tests print "skipped" without it).

mod common;

use common::TestDb;
use linkflow_controlplane::storage::*;

fn user(email: &str, role: Role) -> NewUser {
    NewUser {
        id: uuid::Uuid::new_v4().to_string(),
        email: email.into(),
        password_hash: "$argon2id$fake".into(),
        role,
        tier: "authenticated".into(),
        created_at: now_ms(),
    }
}

fn workflow(owner: &str, name: &str, tags: &[&str], now: i64) -> NewWorkflow {
    NewWorkflow {
        id: uuid::Uuid::new_v4().to_string(),
        owner_id: owner.into(),
        name: name.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        body: format!("{{\"name\":\"{name}\",\"nodes\":[]}}"),
        now,
    }
}

async fn owner(s: &SqlStore) -> User {
    s.create_owner(&user("Owner@Example.com", Role::Owner))
        .await
        .unwrap()
}

/// Generates one `#[tokio::test]` per backend for each suite function.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() {
                let db = super::TestDb::sqlite().await;
                super::$name(&db.store).await;
                db.cleanup().await;
            })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() {
                let Some(db) = super::TestDb::postgres().await else { return };
                super::$name(&db.store).await;
                db.cleanup().await;
            })*
        }
    };
}

both_backends!(
    setup_runs_once,
    emails_are_unique_case_insensitively,
    refresh_rotation_and_reuse_revokes_family,
    expired_refresh_is_invalid,
    api_keys_resolve_to_their_user,
    every_save_is_a_new_version,
    list_filters_and_pages_without_gaps,
    bulk_create_is_all_or_nothing,
    delete_removes_versions_and_tags,
    activation_sets_flag_and_is_recorded,
    credentials_round_trip,
    credential_users_are_active_workflows_activated_versions,
    every_change_is_audited,
    executions_filter_and_page,
);

async fn setup_runs_once(s: &SqlStore) {
    let first = owner(s).await;
    assert_eq!(first.email, "owner@example.com");
    let again = s
        .create_owner(&user("other@example.com", Role::Owner))
        .await;
    assert!(matches!(again, Err(StoreError::OwnerExists)));
    // The refused setup wrote nothing.
    assert!(matches!(
        s.user_by_email("other@example.com").await,
        Err(StoreError::NotFound)
    ));
}

async fn emails_are_unique_case_insensitively(s: &SqlStore) {
    let o = owner(s).await;
    let dup = s
        .create_user(
            &user("OWNER@example.com", Role::Member),
            &Actor::user(&o.id),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    assert_eq!(s.user_by_email("OWNER@EXAMPLE.COM").await.unwrap().id, o.id);
}

async fn refresh_rotation_and_reuse_revokes_family(s: &SqlStore) {
    let o = owner(s).await;
    let now = now_ms();
    let t = |hash: &str| NewRefreshToken {
        token_hash: hash.into(),
        family_id: "fam".into(),
        user_id: o.id.clone(),
        expires_at: now + 60_000,
        created_at: now,
    };
    s.insert_refresh(&t("h1")).await.unwrap();
    let rotated = s
        .rotate_refresh("h1", "h2", now, now + 60_000)
        .await
        .unwrap();
    assert_eq!(rotated, RefreshOutcome::Rotated(o.id.clone()));
    // h1 again: reuse; the whole family (h2 included) is revoked.
    assert_eq!(
        s.rotate_refresh("h1", "h3", now, now + 60_000)
            .await
            .unwrap(),
        RefreshOutcome::Reused
    );
    assert_eq!(
        s.rotate_refresh("h2", "h4", now, now + 60_000)
            .await
            .unwrap(),
        RefreshOutcome::Reused
    );
    assert_eq!(
        s.rotate_refresh("nope", "h5", now, now + 60_000)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
}

async fn expired_refresh_is_invalid(s: &SqlStore) {
    let o = owner(s).await;
    let now = now_ms();
    let token = NewRefreshToken {
        token_hash: "old".into(),
        family_id: "f".into(),
        user_id: o.id.clone(),
        expires_at: now - 1,
        created_at: now - 10,
    };
    s.insert_refresh(&token).await.unwrap();
    assert_eq!(
        s.rotate_refresh("old", "new", now, now + 1).await.unwrap(),
        RefreshOutcome::Invalid
    );
    // The refused rotation stored nothing.
    assert_eq!(
        s.rotate_refresh("new", "x", now, now + 1).await.unwrap(),
        RefreshOutcome::Invalid
    );
}

async fn api_keys_resolve_to_their_user(s: &SqlStore) {
    let o = owner(s).await;
    let key = NewApiKey {
        id: "k1".into(),
        user_id: o.id.clone(),
        name: "ci".into(),
        key_hash: "hash".into(),
        prefix: "lfk_abc".into(),
        created_at: now_ms(),
    };
    s.insert_api_key(&key, &Actor::user(&o.id)).await.unwrap();
    let (found, u) = s.api_key_user("hash").await.unwrap();
    assert_eq!((found.id.as_str(), u.id.as_str()), ("k1", o.id.as_str()));
    assert_eq!(s.list_api_keys(&o.id).await.unwrap().len(), 1);
    s.delete_api_key(&o.id, "k1", &Actor::user(&o.id))
        .await
        .unwrap();
    assert!(matches!(
        s.api_key_user("hash").await,
        Err(StoreError::NotFound)
    ));
}

async fn every_save_is_a_new_version(s: &SqlStore) {
    let o = owner(s).await;
    let actor = Actor::user(&o.id);
    let wf = s
        .create_workflow(&workflow(&o.id, "a", &["x"], 1), &actor)
        .await
        .unwrap();
    assert_eq!(wf.version, 1);
    let mut next = workflow(&o.id, "a2", &["y"], 2);
    next.body = "{\"v\":2}".into();
    let updated = s.update_workflow(&wf.id, &next, &actor).await.unwrap();
    assert_eq!((updated.version, updated.name.as_str()), (2, "a2"));
    assert_eq!(updated.tags, vec!["y".to_string()]);
    assert_eq!(
        s.version(&wf.id, 1).await.unwrap().body,
        "{\"name\":\"a\",\"nodes\":[]}"
    );
    assert_eq!(s.workflow(&wf.id).await.unwrap().1.body, "{\"v\":2}");
    let versions = s.list_versions(&wf.id, &Cursor::START, 1).await.unwrap();
    assert_eq!(versions.data[0].version, 1);
    let cursor = Cursor::decode(versions.next_cursor.as_deref().unwrap()).unwrap();
    let rest = s.list_versions(&wf.id, &cursor, 10).await.unwrap();
    assert_eq!(
        rest.data.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![2]
    );
    assert!(matches!(
        s.update_workflow("missing", &next, &actor).await,
        Err(StoreError::NotFound)
    ));
}

async fn list_filters_and_pages_without_gaps(s: &SqlStore) {
    let o = owner(s).await;
    let actor = Actor::user(&o.id);
    // Same timestamp for all: paging must still be exact thanks to the id tiebreak.
    for i in 0..5 {
        let tags: &[&str] = if i % 2 == 0 { &["even"] } else { &["odd"] };
        s.create_workflow(&workflow(&o.id, &format!("Flow_{i}"), tags, 100), &actor)
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor = Cursor::START;
    loop {
        let page = s
            .list_workflows(&WorkflowFilter::default(), &cursor, 2)
            .await
            .unwrap();
        seen.extend(page.data.iter().map(|w| w.name.clone()));
        match page.next_cursor {
            Some(next) => cursor = Cursor::decode(&next).unwrap(),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, vec!["Flow_0", "Flow_1", "Flow_2", "Flow_3", "Flow_4"]);
    let even = WorkflowFilter {
        tag: Some("even".into()),
        ..Default::default()
    };
    assert_eq!(
        s.list_workflows(&even, &Cursor::START, 50)
            .await
            .unwrap()
            .data
            .len(),
        3
    );
    let by_name = WorkflowFilter {
        name: Some("FLOW_3".into()),
        ..Default::default()
    };
    assert_eq!(
        s.list_workflows(&by_name, &Cursor::START, 50)
            .await
            .unwrap()
            .data
            .len(),
        1
    );
    // `_` is literal in the name filter, not a LIKE wildcard.
    let literal = WorkflowFilter {
        name: Some("w_".into()),
        ..Default::default()
    };
    assert_eq!(
        s.list_workflows(&literal, &Cursor::START, 50)
            .await
            .unwrap()
            .data
            .len(),
        5
    );
    let wildcard = WorkflowFilter {
        name: Some("flow%".into()),
        ..Default::default()
    };
    assert_eq!(
        s.list_workflows(&wildcard, &Cursor::START, 50)
            .await
            .unwrap()
            .data
            .len(),
        0
    );
    let active = WorkflowFilter {
        active: Some(true),
        ..Default::default()
    };
    assert!(s
        .list_workflows(&active, &Cursor::START, 50)
        .await
        .unwrap()
        .data
        .is_empty());
}

async fn bulk_create_is_all_or_nothing(s: &SqlStore) {
    let o = owner(s).await;
    let actor = Actor::user(&o.id);
    let a = workflow(&o.id, "a", &[], 1);
    let mut clash = workflow(&o.id, "b", &[], 1);
    clash.id = a.id.clone();
    let result = s.create_workflows(&[a, clash], &actor).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))));
    let all = s
        .list_workflows(&WorkflowFilter::default(), &Cursor::START, 50)
        .await
        .unwrap();
    assert!(all.data.is_empty(), "a failed import left rows behind");
    let ok = s
        .create_workflows(
            &[workflow(&o.id, "c", &[], 1), workflow(&o.id, "d", &[], 1)],
            &actor,
        )
        .await
        .unwrap();
    assert_eq!(ok.len(), 2);
}

async fn delete_removes_versions_and_tags(s: &SqlStore) {
    let o = owner(s).await;
    let actor = Actor::user(&o.id);
    let wf = s
        .create_workflow(&workflow(&o.id, "gone", &["t"], 1), &actor)
        .await
        .unwrap();
    s.delete_workflow(&wf.id, &actor).await.unwrap();
    assert!(matches!(
        s.workflow(&wf.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.version(&wf.id, 1).await,
        Err(StoreError::NotFound)
    ));
    let tagged = WorkflowFilter {
        tag: Some("t".into()),
        ..Default::default()
    };
    assert!(s
        .list_workflows(&tagged, &Cursor::START, 50)
        .await
        .unwrap()
        .data
        .is_empty());
    assert!(matches!(
        s.delete_workflow(&wf.id, &actor).await,
        Err(StoreError::NotFound)
    ));
}

async fn activation_sets_flag_and_is_recorded(s: &SqlStore) {
    let o = owner(s).await;
    let actor = Actor::user(&o.id);
    let wf = s
        .create_workflow(&workflow(&o.id, "act", &[], 1), &actor)
        .await
        .unwrap();
    let act = Activation {
        id: "a1".into(),
        workflow_id: wf.id.clone(),
        version: 1,
        plan_id: "plan".into(),
        status: "activated".into(),
        report: "{}".into(),
        created_at: 5,
    };
    s.record_activation(&act, true, &actor).await.unwrap();
    assert!(s.workflow(&wf.id).await.unwrap().0.active);
    assert_eq!(s.list_activations(&wf.id).await.unwrap(), vec![act.clone()]);
    let mut missing = act;
    missing.workflow_id = "missing".into();
    missing.id = "a2".into();
    assert!(matches!(
        s.record_activation(&missing, true, &actor).await,
        Err(StoreError::NotFound)
    ));
}

async fn credentials_round_trip(s: &SqlStore) {
    let o = owner(s).await;
    let actor = Actor::user(&o.id);
    let mut c = CredentialRow {
        id: "c1".into(),
        owner_id: o.id.clone(),
        name: "api".into(),
        kind: "httpHeaderAuth".into(),
        ciphertext: "sealed".into(),
        fields: vec!["token".into()],
        created_at: 1,
        updated_at: 1,
    };
    s.create_credential(&c, &actor).await.unwrap();
    assert_eq!(s.credential("c1").await.unwrap(), c);
    c.name = "renamed".into();
    c.updated_at = 2;
    s.update_credential(&c, &actor).await.unwrap();
    assert_eq!(
        s.list_credentials(&Cursor::START, 10).await.unwrap().data,
        vec![c]
    );
    s.delete_credential("c1", &actor).await.unwrap();
    assert!(matches!(
        s.credential("c1").await,
        Err(StoreError::NotFound)
    ));
}

/// A workflow body whose one node refers to credential `credential_id`.
fn using(name: &str, credential_id: &str) -> String {
    serde_json::json!({"name": name, "nodes": [{"name": "Call",
        "credentials": {"httpHeaderAuth": {"id": credential_id, "name": "key"}}}]})
    .to_string()
}

async fn activate(s: &SqlStore, wf_id: &str, version: i64, actor: &Actor) {
    let act = Activation {
        id: uuid::Uuid::new_v4().to_string(),
        workflow_id: wf_id.into(),
        version,
        plan_id: "plan".into(),
        status: "activated".into(),
        report: "{}".into(),
        created_at: now_ms(),
    };
    s.record_activation(&act, true, actor).await.unwrap();
}

async fn credential_users_are_active_workflows_activated_versions(s: &SqlStore) {
    use linkflow_controlplane::deploy::credential_users::{active_users, CredentialUser};
    let o = owner(s).await;
    let actor = Actor::user(&o.id);
    let create = |name: &str, body: String| {
        let mut wf = workflow(&o.id, name, &[], 1);
        wf.body = body;
        wf
    };
    // Active, activated version uses c1: a user.
    let active = create("active", using("active", "c1"));
    let active = s.create_workflow(&active, &actor).await.unwrap();
    activate(s, &active.id, 1, &actor).await;
    // Active at version 1 (uses c1), version 2 saved without it: still a user, the data
    // planes run version 1.
    let saved = create("saved", using("saved", "c1"));
    let saved = s.create_workflow(&saved, &actor).await.unwrap();
    activate(s, &saved.id, 1, &actor).await;
    let mut next = create("saved", using("saved", "c2"));
    next.id = saved.id.clone();
    s.update_workflow(&saved.id, &next, &actor).await.unwrap();
    // Active at version 1 without c1, version 2 saved with it: not a user.
    let later = create("later", using("later", "c2"));
    let later = s.create_workflow(&later, &actor).await.unwrap();
    activate(s, &later.id, 1, &actor).await;
    let mut next = create("later", using("later", "c1"));
    next.id = later.id.clone();
    s.update_workflow(&later.id, &next, &actor).await.unwrap();
    // Inactive with c1, and active with another credential: not users.
    let inactive = create("inactive", using("inactive", "c1"));
    s.create_workflow(&inactive, &actor).await.unwrap();
    let other = create("other", using("other", "c2"));
    let other = s.create_workflow(&other, &actor).await.unwrap();
    activate(s, &other.id, 1, &actor).await;

    let mut users = active_users(s, "c1").await.unwrap();
    users.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        users,
        vec![
            CredentialUser {
                id: active.id.clone(),
                name: "active".into(),
                version: 1
            },
            CredentialUser {
                id: saved.id.clone(),
                name: "saved".into(),
                version: 1
            },
        ]
    );
    assert!(active_users(s, "c3").await.unwrap().is_empty());
    // Deactivated, a workflow no longer uses anything.
    let mut off = Activation {
        id: uuid::Uuid::new_v4().to_string(),
        workflow_id: active.id.clone(),
        version: 1,
        plan_id: String::new(),
        status: "deactivated".into(),
        report: "{}".into(),
        created_at: now_ms(),
    };
    s.record_activation(&off, false, &actor).await.unwrap();
    off.id = uuid::Uuid::new_v4().to_string();
    off.workflow_id = saved.id.clone();
    s.record_activation(&off, false, &actor).await.unwrap();
    assert!(active_users(s, "c1").await.unwrap().is_empty());
}

async fn every_change_is_audited(s: &SqlStore) {
    let o = owner(s).await;
    let actor = Actor::user(&o.id);
    let wf = s
        .create_workflow(&workflow(&o.id, "w", &[], 1), &actor)
        .await
        .unwrap();
    s.update_workflow(&wf.id, &workflow(&o.id, "w", &[], 2), &actor)
        .await
        .unwrap();
    s.delete_workflow(&wf.id, &actor).await.unwrap();
    let log = s.list_audit(&Cursor::START, 50).await.unwrap();
    // Entries are ordered by time; these were written with made-up times, so compare sets.
    let mut actions: Vec<&str> = log.data.iter().map(|e| e.action.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        vec![
            "user.setup",
            "workflow.create",
            "workflow.delete",
            "workflow.update"
        ]
    );
    assert!(log
        .data
        .iter()
        .all(|e| e.actor_id.as_deref() == Some(o.id.as_str())));
}

async fn executions_filter_and_page(s: &SqlStore) {
    for (i, status) in ["success", "error", "success"].iter().enumerate() {
        let e = Execution {
            id: format!("e{i}"),
            workflow_id: "wf".into(),
            workflow_version: 1,
            status: (*status).into(),
            mode: "webhook".into(),
            started_at: 10 + i as i64,
            finished_at: Some(20),
            data: Some(serde_json::json!({"i": i})),
        };
        s.upsert_execution(&e).await.unwrap();
    }
    let failed = ExecutionFilter {
        status: Some("error".into()),
        ..Default::default()
    };
    let page = s
        .list_executions(&failed, &Cursor::START, 50)
        .await
        .unwrap();
    assert_eq!(
        page.data.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        vec!["e1"]
    );
    assert_eq!(page.data[0].data, None, "lists leave run data out");
    assert_eq!(
        s.execution("e1").await.unwrap().data,
        Some(serde_json::json!({"i": 1}))
    );
    let mut updated = s.execution("e1").await.unwrap();
    updated.status = "success".into();
    s.upsert_execution(&updated).await.unwrap();
    let all = s
        .list_executions(&ExecutionFilter::default(), &Cursor::START, 2)
        .await
        .unwrap();
    assert_eq!(all.data.len(), 2);
    assert!(all.next_cursor.is_some());
}
