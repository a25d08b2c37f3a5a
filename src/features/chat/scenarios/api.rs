//! The scenarios' server functions: guard, call the service. Staff and up; who may change or
//! stop what is the service's rule (owners and operators).

use leptos::prelude::*;

use super::model::*;
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "staff/chat/scenarios/list")]
pub async fn list_scenarios(
    #[server(default)] query: String,
) -> Result<Vec<ScenarioSummary>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::list(&ctx, &query).await
}

#[server(prefix = "/api", endpoint = "staff/chat/scenarios/get")]
pub async fn get_scenario(id: i64) -> Result<ScenarioDetail, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::get(&ctx, id).await
}

#[server(prefix = "/api", endpoint = "staff/chat/scenarios/create")]
pub async fn create_scenario(scenario: ScenarioInput) -> Result<ScenarioDetail, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::create(&ctx, scenario).await
}

#[server(prefix = "/api", endpoint = "staff/chat/scenarios/update")]
pub async fn update_scenario(id: i64, scenario: ScenarioInput) -> Result<ScenarioDetail, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::update(&ctx, id, scenario).await
}

#[server(prefix = "/api", endpoint = "staff/chat/scenarios/delete")]
pub async fn delete_scenario(id: i64) -> Result<(), AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::delete(&ctx, id).await
}

/// One scenario (`id`) or all of them as a JSON export file.
#[server(prefix = "/api", endpoint = "staff/chat/scenarios/export")]
pub async fn export_scenarios(#[server(default)] id: Option<i64>) -> Result<String, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::export(&ctx, id).await
}

#[server(prefix = "/api", endpoint = "staff/chat/scenarios/import")]
pub async fn import_scenarios(json: String) -> Result<ImportReport, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::import(&ctx, &json).await
}

/// Starts a run in the background; `agent_id` only for a scenario without an agent of its own.
#[server(prefix = "/api", endpoint = "staff/chat/scenarios/run")]
pub async fn run_scenario(
    id: i64,
    #[server(default)] agent_id: String,
) -> Result<RunSummary, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::start_run(&ctx, id, &agent_id).await
}

#[server(prefix = "/api", endpoint = "staff/chat/scenarios/stop")]
pub async fn stop_scenario_run(run_id: i64) -> Result<bool, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::stop_run(&ctx, run_id).await
}

#[server(prefix = "/api", endpoint = "staff/chat/scenarios/runs")]
pub async fn scenario_runs(scenario_id: i64) -> Result<Vec<RunSummary>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::runs(&ctx, scenario_id).await
}

#[server(prefix = "/api", endpoint = "staff/chat/scenarios/run-detail")]
pub async fn scenario_run(run_id: i64) -> Result<RunDetail, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::run_detail(&ctx, run_id).await
}

#[server(prefix = "/api", endpoint = "staff/chat/scenarios/compare")]
pub async fn compare_runs(left: i64, right: i64) -> Result<Comparison, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::compare(&ctx, left, right).await
}
