//! The agents feature against the REAL Letta 0.16.8: every server function the pages use, and
//! no answer to the browser carrying an embedding (the real server sends 4096 numbers per
//! passage). Needs LETTA_BASE_URL / LETTA_SERVER_PASSWORD; skipped loudly without them unless
//! LETTA_CONTRACT_REQUIRED=1.
use crate::common;

use common::{spawn_app_with, Answer};
use letta_admin::{
    auth::Role,
    features::agents::api::{
        AgentDetail, AgentPage, AgentSaved, BlockSaveOutcome, ContextView, ModelChoices,
        PassagePage, PassageRow, SearchHit, Version,
    },
};

/// No vector in the body: a run of floats, or the field itself.
fn assert_no_embedding(what: &str, a: &Answer) {
    assert_eq!(a.status, 200, "{what}: {}", a.body);
    assert!(
        !a.body.contains("\"embedding\":["),
        "{what} carries an embedding"
    );
    let floats = a
        .body
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == ','))
        .map(|run| run.split(',').filter(|x| x.contains('.')).count())
        .max()
        .unwrap_or(0);
    assert!(
        floats < 50,
        "{what}: a run of {floats} numbers, an embedding?"
    );
}

#[tokio::test]
async fn the_agent_pages_work_against_the_real_server_and_never_pass_on_embeddings() {
    let Some((url, password)) = common::letta_peer() else {
        return;
    };
    let app = spawn_app_with(|c| {
        c.letta_base_url = Some(url.clone());
        c.letta_password = Some(password.clone().into());
    })
    .await;
    let op = app.signed_in("olga", Role::Operator).await;
    let staff = app.signed_in("sam", Role::Staff).await;

    let models = app.call(&op, "operator/agents/models", &[]).await;
    let models: ModelChoices = models.json();
    assert!(models
        .llm
        .iter()
        .any(|m| m.handle == "openai-proxy/fake-model"));
    assert!(models
        .embedding
        .iter()
        .any(|m| m.handle == "openai/text-embedding-3-small"));

    let name = format!("ct agents {}", std::process::id());
    let tag = format!("ct{}", std::process::id());
    let a = app
        .call(
            &op,
            "operator/agents/create",
            &[
                ("input[name]", &name),
                ("input[model]", "openai-proxy/fake-model"),
                ("input[embedding]", "openai/text-embedding-3-small"),
                ("input[tags]", &tag),
                ("input[blocks][0][label]", "human"),
                ("input[blocks][0][value]", "The human likes contract tests."),
                ("input[blocks][0][limit]", "500"),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let agent: AgentSaved = a.json();
    let id = agent.id.as_str();

    let result = async {
        let list = app
            .call(&staff, "staff/agents/list", &[("query[tag]", &tag)])
            .await;
        assert_no_embedding("list", &list);
        let page: AgentPage = list.json();
        assert_eq!(page.matching, 1);
        assert_eq!(
            page.rows[0].model.as_deref(),
            Some("openai-proxy/fake-model")
        );

        let d = app.call(&staff, "staff/agents/get", &[("id", id)]).await;
        assert_no_embedding("get", &d);
        let d: AgentDetail = d.json();
        assert_eq!(d.blocks.len(), 1);
        assert_eq!(d.blocks[0].limit, 500);
        let block = d.blocks[0].clone();

        let c = app
            .call(&staff, "staff/agents/context", &[("id", id)])
            .await;
        assert_no_embedding("context", &c);
        let c: ContextView = c.json();
        assert!(c.max > 0 && c.current > 0);
        assert_eq!(c.parts.iter().map(|p| p.tokens).sum::<u64>(), c.current);
        assert!(c.core_memory.contains("likes contract tests"));

        let s = app
            .call(
                &op,
                "operator/agents/save_block",
                &[
                    ("save[agent_id]", id),
                    ("save[block_id]", &block.id),
                    ("save[base]", &block.value),
                    ("save[value]", "The human likes green tea."),
                ],
            )
            .await;
        assert!(matches!(s.json(), BlockSaveOutcome::Saved(_)), "{}", s.body);
        let h: Vec<Version> = app
            .call(
                &staff,
                "staff/agents/block_history",
                &[("agent_id", id), ("block_id", &block.id)],
            )
            .await
            .json();
        assert_eq!(h[0].value, "The human likes green tea.");

        let fact = format!("The customer's favourite colour is teal {tag}");
        let added = app
            .call(
                &op,
                "operator/agents/passage_add",
                &[("id", id), ("input[text]", &fact), ("input[tags]", &tag)],
            )
            .await;
        assert_no_embedding("add", &added);
        let added: Vec<PassageRow> = added.json();
        let passages = app
            .call(
                &staff,
                "staff/agents/passages",
                &[("id", id), ("query[size]", "10")],
            )
            .await;
        assert_no_embedding("passages", &passages);
        let passages: PassagePage = passages.json();
        assert_eq!(passages.rows[0].id, added[0].id);

        let found = app
            .call(
                &staff,
                "staff/agents/passages_search",
                &[
                    ("id", id),
                    ("search[query]", "which colour does the customer like"),
                    ("search[tags]", &tag),
                    ("search[top_k]", "3"),
                ],
            )
            .await;
        assert_no_embedding("search", &found);
        let hits: Vec<SearchHit> = found.json();
        assert_eq!(
            hits.first().map(|h| h.id.as_str()),
            Some(added[0].id.as_str())
        );

        let replaced = app
            .call(
                &op,
                "operator/agents/passage_replace",
                &[
                    ("id", id),
                    ("passage_id", &added[0].id),
                    ("input[text]", "The favourite colour is now red"),
                    ("input[tags]", &tag),
                ],
            )
            .await;
        assert_no_embedding("replace", &replaced);
        let replaced: Vec<PassageRow> = replaced.json();
        let page: PassagePage = app
            .call(
                &staff,
                "staff/agents/passages",
                &[("id", id), ("query[size]", "10")],
            )
            .await
            .json();
        assert_eq!(
            page.rows.iter().map(|r| &r.id).collect::<Vec<_>>(),
            vec![&replaced[0].id]
        );
        let del = app
            .call(
                &op,
                "operator/agents/passage_delete",
                &[("id", id), ("passage_id", &replaced[0].id)],
            )
            .await;
        assert_eq!(del.status, 200, "{}", del.body);
    }
    .await;

    let del = app.call(&op, "operator/agents/delete", &[("id", id)]).await;
    assert_eq!(del.status, 200, "{}", del.body);
    let gone = app.call(&staff, "staff/agents/get", &[("id", id)]).await;
    assert_eq!(gone.status, 404);
    result
}
