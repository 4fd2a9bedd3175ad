//! `linkflow import WF.json [--activate]`: a thin REST client of a running control plane.

use std::path::PathBuf;

use anyhow::{bail, Context};
use serde_json::Value;

/// Flags of `linkflow import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// n8n workflow export (JSON file).
    pub workflow: PathBuf,
    /// Activate the workflow after import (compile and deploy to the data planes).
    #[arg(long)]
    pub activate: bool,
    /// Base URL of the control plane API.
    #[arg(
        long,
        env = "LINKFLOW_API_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub api: String,
    /// API key (create one with `POST /api/v1/api-keys`).
    #[arg(long, env = "LINKFLOW_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

/// Runs the command; prints the workflow id (and the activation report).
pub fn run(args: &ImportArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(import(args))
}

async fn call(
    client: &reqwest::Client,
    args: &ImportArgs,
    path: &str,
    body: Vec<u8>,
) -> anyhow::Result<Value> {
    let url = format!("{}{path}", args.api.trim_end_matches('/'));
    let mut req = client
        .post(&url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(key) = &args.api_key {
        req = req.header("X-API-Key", key);
    }
    let res = req
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = res.status();
    let json: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let err = &json["error"];
        bail!(
            "{} {}: {} {}",
            status.as_u16(),
            err["code"].as_str().unwrap_or("ERROR"),
            err["message"].as_str().unwrap_or(""),
            if err["details"].is_null() {
                String::new()
            } else {
                err["details"].to_string()
            }
        );
    }
    Ok(json)
}

async fn import(args: &ImportArgs) -> anyhow::Result<()> {
    let body = std::fs::read(&args.workflow)
        .with_context(|| format!("cannot read {}", args.workflow.display()))?;
    let client = reqwest::Client::new();
    let created = call(&client, args, "/api/v1/workflows", body).await?;
    let id = created["id"]
        .as_str()
        .context("the API answered without a workflow id")?;
    println!(
        "imported {} as {id} (version {})",
        created["name"], created["version"]
    );
    if args.activate {
        let report = call(
            &client,
            args,
            &format!("/api/v1/workflows/{id}/activate"),
            b"{}".to_vec(),
        )
        .await?;
        for target in report["targets"].as_array().into_iter().flatten() {
            println!(
                "activated on {}: version {} ({} nodes, plan {})",
                target["target"].as_str().unwrap_or("?"),
                target["version"],
                target["nodes"].as_array().map_or(0, Vec::len),
                target["planId"].as_str().unwrap_or("?"),
            );
        }
    }
    Ok(())
}
