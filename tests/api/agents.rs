//! Agents, core memory and archival memory over HTTP, against the in-process fake Letta:
//! who may do what, validation, every write audited, block saves with the persona editor's
//! rules, persona blocks flagged and detachable, passage pages, and no embedding ever in an
//! answer to the browser.
use crate::common;

use common::{fake_letta::FakeLetta, spawn_app, Answer, TestApp};
use letta_admin::{
    auth::Role,
    features::agents::api::{
        AgentDetail, AgentPage, AgentSaved, BlockSaveOutcome, ContextView, PassagePage, PassageRow,
        SearchHit, Version,
    },
    features::persons::api::CreateOutcome,
    letta::BlockUpdate,
};

struct Env {
    app: TestApp,
    fake: FakeLetta,
    op: reqwest::Client,
    staff: reqwest::Client,
}

async fn setup() -> Env {
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    let staff = app.signed_in("sam", Role::Staff).await;
    app.connect_to_fake(&op, &fake, "5").await;
    Env {
        app,
        fake,
        op,
        staff,
    }
}

impl Env {
    async fn op(&self, endpoint: &str, form: &[(&str, &str)]) -> Answer {
        self.app.call(&self.op, endpoint, form).await
    }

    async fn create(&self, name: &str, extra: &[(&str, &str)]) -> AgentSaved {
        let mut form = vec![
            ("input[name]", name),
            ("input[model]", "openai-proxy/fake-model"),
            ("input[embedding]", "openai/text-embedding-3-small"),
        ];
        form.extend_from_slice(extra);
        let a = self.op("operator/agents/create", &form).await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.json()
    }

    async fn detail(&self, id: &str) -> AgentDetail {
        let a = self
            .app
            .call(&self.staff, "staff/agents/get", &[("id", id)])
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.json()
    }

    async fn add_passage(&self, id: &str, text: &str, tags: &str) -> Vec<PassageRow> {
        let a = self
            .op(
                "operator/agents/passage_add",
                &[("id", id), ("input[text]", text), ("input[tags]", tags)],
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.json()
    }
}

/// An answer for the browser must not carry an embedding vector (the fake sends 4096 × 0.25).
fn assert_no_embedding(a: &Answer) {
    assert!(
        !a.body.contains("embedding\":["),
        "{}",
        &a.body[..a.body.len().min(300)]
    );
    assert!(
        !a.body.contains("0.25,0.25"),
        "{}",
        &a.body[..a.body.len().min(300)]
    );
}

#[tokio::test]
async fn operators_create_rename_and_delete_staff_only_look_and_all_is_audited() {
    let env = setup().await;
    let created = env
        .create(
            "Help desk",
            &[
                ("input[description]", "first line"),
                ("input[tags]", "support, beta, support"),
                ("input[blocks][0][label]", "human"),
                ("input[blocks][0][value]", "The user is an admin."),
                ("input[blocks][0][limit]", "300"),
            ],
        )
        .await;
    assert!(env.fake.agent_ids().contains(&created.id));

    // Staff can read, not write.
    let d = env.detail(&created.id).await;
    assert_eq!(d.name, "Help desk");
    assert_eq!(d.tags, vec!["support", "beta"]);
    assert_eq!(d.model.as_deref(), Some("openai-proxy/fake-model"));
    assert_eq!(d.blocks.len(), 1);
    assert_eq!(
        (d.blocks[0].label.as_str(), d.blocks[0].limit),
        ("human", 300)
    );
    let denied = env
        .app
        .call(
            &env.staff,
            "operator/agents/update",
            &[("id", &created.id), ("input[name]", "x")],
        )
        .await;
    assert_eq!(denied.status, 403);

    let list: AgentPage = env
        .app
        .call(&env.staff, "staff/agents/list", &[("query[tag]", "beta")])
        .await
        .json();
    assert_eq!(list.matching, 1);
    assert_eq!(list.rows[0].name, "Help desk");
    let none: AgentPage = env
        .app
        .call(&env.staff, "staff/agents/list", &[("query[tag]", "nope")])
        .await
        .json();
    assert_eq!((none.matching, none.rows.len()), (0, 0));

    let a = env
        .op(
            "operator/agents/update",
            &[
                ("id", &created.id),
                ("input[name]", "Help desk 2"),
                ("input[description]", ""),
                ("input[tags]", "support"),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let d = env.detail(&created.id).await;
    assert_eq!((d.name.as_str(), d.tags.len()), ("Help desk 2", 1));

    let a = env
        .op("operator/agents/delete", &[("id", &created.id)])
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(!env.fake.agent_ids().contains(&created.id));
    let gone = env
        .app
        .call(&env.staff, "staff/agents/get", &[("id", &created.id)])
        .await;
    assert_eq!(gone.status, 404);

    let actions: Vec<String> = env
        .app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(_, a, _)| a.starts_with("agent."))
        .map(|(actor, a, o)| format!("{} {a} {o}", actor.unwrap_or_default()))
        .collect();
    assert_eq!(
        actions,
        vec![
            "olga agent.create ok",
            "olga agent.update ok",
            "olga agent.delete ok"
        ]
    );
}

#[tokio::test]
async fn bad_input_is_refused_beside_its_field_before_letta_is_asked() {
    let env = setup().await;
    let before = env.fake.agent_ids().len();
    for (form, field) in [
        (vec![("input[name]", "a/b"), ("input[model]", "openai-proxy/fake-model"), ("input[embedding]", "openai/text-embedding-3-small")], "name"),
        (vec![("input[name]", "ok"), ("input[model]", "nope/none"), ("input[embedding]", "openai/text-embedding-3-small")], "model"),
        (vec![("input[name]", "ok"), ("input[model]", "openai-proxy/fake-model"), ("input[embedding]", "")], "embedding"),
        (vec![("input[name]", "ok"), ("input[model]", "openai-proxy/fake-model"), ("input[embedding]", "openai/text-embedding-3-small"),
              ("input[blocks][0][label]", "human"), ("input[blocks][0][value]", "too long for 100 characters ................................................................................"), ("input[blocks][0][limit]", "100")], "blocks.0.value"),
    ] {
        let a = env.op("operator/agents/create", &form).await;
        assert_eq!(a.status, 422, "{field}: {}", a.body);
        assert!(a.error().for_field(field).is_some(), "{field}: {}", a.body);
    }
    assert_eq!(env.fake.agent_ids().len(), before);
    let agent = env.create("Searcher", &[]).await;
    let a = env
        .app
        .call(
            &env.staff,
            "staff/agents/passages_search",
            &[
                ("id", &agent.id),
                ("search[query]", "x"),
                ("search[from]", "2026-02-30"),
            ],
        )
        .await;
    assert_eq!(a.status, 422);
    assert!(a.error().for_field("from").is_some());
    let a = env
        .op(
            "operator/agents/passage_add",
            &[("id", &agent.id), ("input[text]", "  ")],
        )
        .await;
    assert!(a.error().for_field("text").is_some(), "{}", a.body);
    // An id that cannot be an agent's never reaches a Letta path.
    let a = env
        .app
        .call(
            &env.staff,
            "staff/agents/get",
            &[("id", "agent-../../v1/blocks")],
        )
        .await;
    assert_eq!(a.status, 404);
}

#[tokio::test]
async fn passages_newest_first_in_pages_searchable_replaceable_and_never_with_embeddings() {
    let env = setup().await;
    let agent = env.create("Archivist", &[]).await;
    let mut ids = vec![];
    for n in 0..12 {
        let tags = if n % 2 == 0 { "even" } else { "odd, x" };
        let rows = env
            .add_passage(&agent.id, &format!("Fact number {n} about tea"), tags)
            .await;
        ids.push(rows[0].id.clone());
    }
    let page = |extra: Vec<(&'static str, String)>| {
        let env = &env;
        let id = agent.id.clone();
        async move {
            let mut form: Vec<(&str, String)> = vec![("id", id), ("query[size]", "10".into())];
            form.extend(extra);
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let a = env
                .app
                .call(&env.staff, "staff/agents/passages", &form)
                .await;
            assert_eq!(a.status, 200, "{}", a.body);
            assert_no_embedding(&a);
            a.json::<PassagePage>()
        }
    };
    let first = page(vec![]).await;
    assert_eq!(first.rows.len(), 10);
    assert_eq!(
        first.rows[0].text, "Fact number 11 about tea",
        "newest first"
    );
    assert!(first.newer.is_none());
    let older = page(vec![("query[older_than]", first.older.clone().unwrap())]).await;
    assert_eq!(
        older
            .rows
            .iter()
            .map(|r| r.text.as_str())
            .collect::<Vec<_>>(),
        vec!["Fact number 1 about tea", "Fact number 0 about tea"]
    );
    assert!(older.older.is_none());
    let back = page(vec![("query[newer_than]", older.newer.clone().unwrap())]).await;
    assert_eq!(
        back.rows, first.rows,
        "newer page of the second is the first"
    );
    let filtered = page(vec![("query[search]", "NUMBER 7".into())]).await;
    assert_eq!(filtered.rows.len(), 1);

    let a = env
        .app
        .call(
            &env.staff,
            "staff/agents/passages_search",
            &[
                ("id", &agent.id),
                ("search[query]", "tea"),
                ("search[top_k]", "5"),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_no_embedding(&a);
    let hits: Vec<SearchHit> = a.json();
    assert!(!hits.is_empty());

    // Every other answer that touches passages or the agent.
    let added = env
        .op(
            "operator/agents/passage_add",
            &[
                ("id", &agent.id),
                ("input[text]", "Fresh fact"),
                ("input[tags]", "new"),
            ],
        )
        .await;
    assert_no_embedding(&added);
    let new_id = added.json::<Vec<PassageRow>>()[0].id.clone();
    let replaced = env
        .op(
            "operator/agents/passage_replace",
            &[
                ("id", &agent.id),
                ("passage_id", &new_id),
                ("input[text]", "Fresher fact"),
                ("input[tags]", "new"),
            ],
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_no_embedding(&replaced);
    let first = page(vec![]).await;
    assert_eq!(first.rows[0].text, "Fresher fact");
    assert!(
        !first.rows.iter().any(|r| r.id == new_id),
        "the old one is gone"
    );
    for (ep, form) in [
        ("staff/agents/get", vec![("id", agent.id.as_str())]),
        ("staff/agents/context", vec![("id", agent.id.as_str())]),
        ("staff/agents/list", vec![("query[size]", "25")]),
    ] {
        let a = env.app.call(&env.staff, ep, &form).await;
        assert_eq!(a.status, 200, "{ep}: {}", a.body);
        assert_no_embedding(&a);
    }
    let a = env
        .op(
            "operator/agents/passage_delete",
            &[("id", &agent.id), ("passage_id", &ids[0])],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let again = env
        .op(
            "operator/agents/passage_delete",
            &[("id", &agent.id), ("passage_id", &ids[0])],
        )
        .await;
    assert_eq!(again.status, 404);
    let actions: Vec<String> = env
        .app
        .audit_actions()
        .await
        .into_iter()
        .map(|(_, a, o)| format!("{a} {o}"))
        .filter(|a| a.starts_with("agent.passage"))
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "agent.passage_add ok")
            .count(),
        13
    );
    assert!(actions.contains(&"agent.passage_replace ok".to_string()));
    assert!(actions.contains(&"agent.passage_delete failed".to_string()));
}

#[tokio::test]
async fn context_window_parts_add_up() {
    let env = setup().await;
    let agent = env.create("Measured", &[]).await;
    let c: ContextView = env
        .app
        .call(&env.staff, "staff/agents/context", &[("id", &agent.id)])
        .await
        .json();
    assert_eq!(c.max, 8192);
    assert_eq!(c.parts.iter().map(|p| p.tokens).sum::<u64>(), 950);
    assert_eq!(
        c.parts.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(),
        vec!["system", "core", "summary", "messages", "tools"]
    );
}

#[tokio::test]
async fn core_blocks_keep_the_limit_refuse_silent_overwrites_and_keep_history() {
    let env = setup().await;
    let agent = env
        .create(
            "Memory",
            &[
                ("input[blocks][0][label]", "human"),
                ("input[blocks][0][value]", "v1"),
                ("input[blocks][0][limit]", "100"),
            ],
        )
        .await;
    let block = env.detail(&agent.id).await.blocks[0].clone();
    let save = |base: &str, value: &str| {
        let (aid, bid) = (agent.id.clone(), block.id.clone());
        let (base, value) = (base.to_string(), value.to_string());
        let env = &env;
        async move {
            env.op(
                "operator/agents/save_block",
                &[
                    ("save[agent_id]", aid.as_str()),
                    ("save[block_id]", bid.as_str()),
                    ("save[base]", base.as_str()),
                    ("save[value]", value.as_str()),
                ],
            )
            .await
        }
    };
    let a = save("v1", "v2").await;
    assert!(
        matches!(a.json(), BlockSaveOutcome::Saved(b) if b.value == "v2"),
        "{}",
        a.body
    );
    // Over the limit: refused, Letta untouched.
    let a = save("v2", &"x".repeat(101)).await;
    assert_eq!(a.status, 422);
    assert!(a.error().for_field("value").is_some());
    // The agent rewrites the block behind the editor's back: a save from the old base conflicts.
    let letta = env.app.state.letta.client().unwrap();
    letta
        .blocks()
        .update(
            &block.id,
            &BlockUpdate {
                value: Some("agent wrote".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let a = save("v2", "mine").await;
    match a.json() {
        BlockSaveOutcome::Conflict { server } => assert_eq!(server.value, "agent wrote"),
        other => panic!("{other:?}"),
    }
    assert_eq!(env.fake.block(&block.id).unwrap()["value"], "agent wrote");
    let history: Vec<Version> = env
        .app
        .call(
            &env.staff,
            "staff/agents/block_history",
            &[("agent_id", &agent.id), ("block_id", &block.id)],
        )
        .await
        .json();
    let sources: Vec<&str> = history.iter().map(|v| v.source.as_str()).collect();
    assert_eq!(sources, vec!["observed", "editor", "create"]);
    let v1 = history.last().unwrap().id.to_string();
    let a = env
        .op(
            "operator/agents/restore_block",
            &[
                ("agent_id", &agent.id),
                ("block_id", &block.id),
                ("version_id", &v1),
                ("base", "agent wrote"),
            ],
        )
        .await;
    assert!(
        matches!(a.json(), BlockSaveOutcome::Saved(b) if b.value == "v1"),
        "{}",
        a.body
    );
    assert_eq!(env.fake.block(&block.id).unwrap()["value"], "v1");
    let audit: Vec<String> = env
        .app
        .audit_actions()
        .await
        .into_iter()
        .map(|(_, a, o)| format!("{a} {o}"))
        .filter(|a| a.starts_with("agent.block"))
        .collect();
    assert_eq!(
        audit,
        vec![
            "agent.block_editor ok",
            "agent.block_save denied",
            "agent.block_restore ok"
        ]
    );
}

#[tokio::test]
async fn persona_blocks_are_flagged_edited_as_personas_and_detachable() {
    let env = setup().await;
    let agent = env.create("Chatty", &[]).await;
    let created = env
        .op(
            "operator/persons/create",
            &[("form[username]", "ada"), ("form[display_name]", "Ada")],
        )
        .await;
    let CreateOutcome::Created(person) = created.json() else {
        panic!("{}", created.body)
    };
    let letta = env.app.state.letta.client().unwrap();
    let block_id = letta_admin::db::persons::by_id(&env.app.state.db, person.id)
        .await
        .unwrap()
        .unwrap()
        .block_id
        .unwrap();
    // A chat turn that died before its detach left it attached.
    letta
        .agents()
        .attach_block(&agent.id, &block_id)
        .await
        .unwrap();
    let d = env.detail(&agent.id).await;
    let b = d.blocks.iter().find(|b| b.id == block_id).unwrap();
    assert_eq!(
        b.persona_of.as_ref().map(|p| p.username.as_str()),
        Some("ada")
    );

    // Saved through the persona editor: its history and audit.
    let a = env
        .op(
            "operator/agents/save_block",
            &[
                ("save[agent_id]", &agent.id),
                ("save[block_id]", &block_id),
                ("save[base]", &b.value),
                (
                    "save[value]",
                    "{\"name\":\"Ada\",\"preferences\":{},\"conversation_history\":[]}",
                ),
            ],
        )
        .await;
    assert!(matches!(a.json(), BlockSaveOutcome::Saved(_)), "{}", a.body);
    let staff_detach = env
        .app
        .call(
            &env.staff,
            "operator/agents/detach_block",
            &[("agent_id", &agent.id), ("block_id", &block_id)],
        )
        .await;
    assert_eq!(staff_detach.status, 403);
    let a = env
        .op(
            "operator/agents/detach_block",
            &[("agent_id", &agent.id), ("block_id", &block_id)],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(!env.fake.attached_blocks(&agent.id).contains(&block_id));
    assert!(
        env.fake.block(&block_id).is_some(),
        "the block itself stays"
    );
    let actions: Vec<String> = env
        .app
        .audit_actions()
        .await
        .into_iter()
        .map(|(_, a, o)| format!("{a} {o}"))
        .collect();
    assert!(
        actions.contains(&"persona.editor ok".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"agent.detach_block ok".to_string()),
        "{actions:?}"
    );

    // The agent's own blocks are not detached from here.
    let own = env
        .create(
            "Own",
            &[
                ("input[blocks][0][label]", "human"),
                ("input[blocks][0][value]", "x"),
            ],
        )
        .await;
    let own_block = env.detail(&own.id).await.blocks[0].id.clone();
    let a = env
        .op(
            "operator/agents/detach_block",
            &[("agent_id", &own.id), ("block_id", &own_block)],
        )
        .await;
    assert_eq!(a.status, 409, "{}", a.body);
}

#[tokio::test]
async fn identities_link_unlink_and_filter_the_list() {
    let env = setup().await;
    let agent = env.create("Linked", &[]).await;
    let _other = env.create("Unlinked", &[]).await;
    let created = env
        .op(
            "operator/persons/create",
            &[("form[username]", "bob"), ("form[display_name]", "Bob")],
        )
        .await;
    let CreateOutcome::Created(person) = created.json() else {
        panic!("{}", created.body)
    };
    let identity_id = letta_admin::db::persons::by_id(&env.app.state.db, person.id)
        .await
        .unwrap()
        .unwrap()
        .identity_id
        .unwrap();
    let a = env
        .op(
            "operator/agents/link_identity",
            &[("id", &agent.id), ("identity_id", &identity_id)],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let d = env.detail(&agent.id).await;
    assert_eq!(d.identities.len(), 1);
    assert_eq!(
        d.identities[0].person.as_ref().map(|p| p.username.as_str()),
        Some("bob")
    );
    let list: AgentPage = env
        .app
        .call(
            &env.staff,
            "staff/agents/list",
            &[("query[identity]", "bob")],
        )
        .await
        .json();
    assert_eq!(
        list.rows
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Linked"]
    );
    assert_eq!(list.matching, 1);
    let a = env
        .op(
            "operator/agents/unlink_identity",
            &[("id", &agent.id), ("identity_id", &identity_id)],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(env.detail(&agent.id).await.identities.is_empty());
}

#[tokio::test]
async fn the_list_pages_newest_first_both_ways() {
    let env = setup().await;
    for n in 0..12 {
        env.create(&format!("Agent {n:02}"), &[]).await;
    }
    let get = |form: Vec<(&'static str, String)>| {
        let env = &env;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let a = env.app.call(&env.staff, "staff/agents/list", &form).await;
            assert_eq!(a.status, 200, "{}", a.body);
            a.json::<AgentPage>()
        }
    };
    let first = get(vec![("query[size]", "10".into())]).await;
    assert_eq!(first.matching, 12);
    assert_eq!(first.rows[0].name, "Agent 11");
    let second = get(vec![
        ("query[size]", "10".into()),
        ("query[after]", first.older.clone().unwrap()),
    ])
    .await;
    assert_eq!(
        second
            .rows
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Agent 01", "Agent 00"]
    );
    let back = get(vec![
        ("query[size]", "10".into()),
        ("query[before]", second.newer.clone().unwrap()),
    ])
    .await;
    assert_eq!(back.rows, first.rows);
    let searched = get(vec![("query[search]", "agent 0".into())]).await;
    assert_eq!(searched.matching, 10);
}
