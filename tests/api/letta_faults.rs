//! The Letta client against the in-process fake (tests/api/common/fake_letta.rs): the happy path of
//! every accessor, and every fault mapped to the right `LettaError`, with bodies never leaking
//! into `Display`, and retries only for GETs whose connection broke.

use crate::common;

use std::time::Duration;

use common::fake_letta::{sse_llm_error, FakeLetta, Fault, SECRET_MARKER};
use futures::StreamExt;
use letta_admin::letta::*;

fn client_for(fake: &FakeLetta, password: Option<&str>, timeout: Duration) -> LettaClient {
    LettaClient::new(
        http_client(),
        Connection {
            base_url: fake.url.clone(),
            password: password.map(Into::into),
            timeout,
        },
    )
}

fn client(fake: &FakeLetta) -> LettaClient {
    client_for(fake, Some(FakeLetta::PASSWORD), Duration::from_secs(5))
}

/// The error's Display must never contain the server's body; the body stays available for logs.
fn assert_no_leak(err: &LettaError) {
    let shown = err.to_string();
    assert!(
        !shown.contains(SECRET_MARKER) && !shown.contains("secret_sql"),
        "Display leaks the body: {shown}"
    );
    let debug_chain = format!("{err:#}");
    assert!(!debug_chain.contains(SECRET_MARKER), "{debug_chain}");
}

fn ident(key: &str) -> IdentityCreate {
    IdentityCreate {
        identifier_key: key.to_owned(),
        name: format!("Name {key}"),
        identity_type: IdentityType::User,
        properties: None,
    }
}

// ---- happy path ------------------------------------------------------------------------------

#[tokio::test]
async fn sends_own_user_agent_and_bearer_password() {
    let fake = FakeLetta::start().await;
    let c = client(&fake);
    assert_eq!(c.health().await.unwrap().version, "0.16.8");
    c.check_auth().await.unwrap();
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        let ua = r.user_agent.as_deref().unwrap_or("");
        assert!(ua.starts_with("letta-admin/"), "{ua}");
        assert!(!ua.contains("letta-client"));
        assert_eq!(r.authorization.as_deref(), Some("Bearer fake-password"));
    }
    assert_eq!(reqs[0].path, "/v1/health/");
    assert_eq!(reqs[1].path, "/v1/identities/count");
}

#[tokio::test]
async fn health_is_open_but_check_auth_is_not() {
    let fake = FakeLetta::start().await;
    let c = client_for(&fake, Some("wrong"), Duration::from_secs(5));
    assert_eq!(c.health().await.unwrap().status, "ok");
    let err = c.check_auth().await.unwrap_err();
    assert!(matches!(err, LettaError::Unauthorized { .. }), "{err:?}");
    let c = client_for(&fake, None, Duration::from_secs(5));
    assert!(matches!(
        c.check_auth().await.unwrap_err(),
        LettaError::Unauthorized { .. }
    ));
    assert_eq!(fake.requests().last().unwrap().authorization, None);
}

#[tokio::test]
async fn identities_crud_upsert_and_links() {
    let fake = FakeLetta::start().await;
    let c = client(&fake);
    let ids = c.identities();

    let (created, how) = ids.upsert_by_key(&ident("alice")).await.unwrap();
    assert_eq!(how, Upserted::Created);
    let mut again = ident("alice");
    again.name = "Alice B".into();
    let (updated, how) = ids.upsert_by_key(&again).await.unwrap();
    assert_eq!(how, Upserted::Updated);
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.name, "Alice B");
    // The raw PUT cannot create.
    assert!(ids
        .upsert_existing(&ident("nobody"))
        .await
        .unwrap_err()
        .is_not_found());
    // Duplicate POST.
    let dup = ids.create(&ident("alice")).await.unwrap_err();
    assert!(dup.is_conflict());
    assert_no_leak(&dup);
    assert!(dup.log_detail().unwrap().contains(SECRET_MARKER));

    let found = ids
        .list(&IdentityFilter {
            identifier_key: Some("alice".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(ids.count().await.unwrap(), 1);

    let prop = |k: &str, v: serde_json::Value| IdentityProperty {
        key: k.into(),
        value: v,
        r#type: IdentityPropertyType::String,
    };
    ids.update(
        &created.id,
        &IdentityUpdate {
            properties: Some(vec![prop("a", "1".into()), prop("b", "2".into())]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let merged = ids
        .update(
            &created.id,
            &IdentityUpdate {
                properties: Some(vec![prop("b", "3".into())]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(merged.properties.len(), 2);
    ids.replace_properties(&created.id, &[prop("z", "9".into())])
        .await
        .unwrap();
    assert_eq!(ids.get(&created.id).await.unwrap().properties.len(), 1);

    let block = c
        .blocks()
        .create(&CreateBlock::new("human", "Alice"))
        .await
        .unwrap();
    c.blocks()
        .attach_identity(&block.id, &created.id)
        .await
        .unwrap();
    assert_eq!(fake.block_identities(&block.id), vec![created.id.clone()]);
    assert_eq!(ids.blocks(&created.id).await.unwrap()[0].id, block.id);
    c.blocks()
        .detach_identity(&block.id, &created.id)
        .await
        .unwrap();
    assert!(ids.blocks(&created.id).await.unwrap().is_empty());

    ids.delete(&created.id).await.unwrap();
    assert!(ids.get(&created.id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn agents_attach_detach_is_visible_at_the_fake() {
    let fake = FakeLetta::start().await;
    let c = client(&fake);
    let agent = c
        .agents()
        .create(&CreateAgentRequest {
            name: Some("a1".into()),
            model: Some("openai-proxy/fake-model".into()),
            tags: vec!["t1".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(agent.model_handle(), Some("openai-proxy/fake-model"));
    let b1 = c
        .blocks()
        .create(&CreateBlock::new("persona", "p1"))
        .await
        .unwrap();
    let b2 = c
        .blocks()
        .create(&CreateBlock::new("persona", "p2"))
        .await
        .unwrap();

    c.agents().attach_block(&agent.id, &b1.id).await.unwrap();
    let after = c.agents().attach_block(&agent.id, &b1.id).await.unwrap(); // repeat: harmless
    assert_eq!(after.blocks.len(), 1);
    assert_eq!(fake.attached_blocks(&agent.id), vec![b1.id.clone()]);
    c.agents().attach_block(&agent.id, &b2.id).await.unwrap();
    c.agents().detach_block(&agent.id, &b1.id).await.unwrap();
    assert_eq!(fake.attached_blocks(&agent.id), vec![b2.id.clone()]);
    let again = c
        .agents()
        .detach_block(&agent.id, &b1.id)
        .await
        .unwrap_err();
    assert!(again.is_not_found(), "{again:?}");
    assert_no_leak(&again);
    let core = c.agents().core_blocks(&agent.id).await.unwrap();
    assert_eq!(core.iter().map(|b| &b.id).collect::<Vec<_>>(), vec![&b2.id]);

    let listed = c
        .agents()
        .list(&AgentFilter {
            tags: vec!["t1".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let q = fake.requests().last().unwrap().query.clone().unwrap();
    assert_eq!(q, "tags=t1");

    let upd = c
        .agents()
        .update(
            &agent.id,
            &UpdateAgent {
                description: Some("d".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(upd.description.as_deref(), Some("d"));
    let ctx = c.agents().context(&agent.id).await.unwrap();
    assert_eq!(ctx.context_window_size_max, 8192);
    c.agents().delete(&agent.id).await.unwrap();
    assert!(fake.agent_ids().is_empty());
}

#[tokio::test]
async fn messages_send_stream_async_cancel() {
    let fake = FakeLetta::start().await;
    let c = client(&fake);
    let agent = c
        .agents()
        .create(&CreateAgentRequest::default())
        .await
        .unwrap();
    let msgs = [MessageCreate::user(
        "hello there",
        Some("identity-x".into()),
    )];

    let resp = c.messages().send(&agent.id, &msgs).await.unwrap();
    assert_eq!(resp.stop_reason.stop_reason, StopReasonType::EndTurn);
    assert!(
        matches!(&resp.messages[0], LettaMessage::AssistantMessage(m) if m.content.text() == "echo: hello there")
    );
    let history = c
        .messages()
        .list(&agent.id, &MessageFilter::default())
        .await
        .unwrap();
    assert!(history.iter().any(|m| matches!(m, LettaMessage::UserMessage(u) if u.sender_id.as_deref() == Some("identity-x"))));
    assert_eq!(fake.history(&agent.id).len(), 2);

    let events: Vec<StreamEvent> = c
        .messages()
        .stream(&agent.id, &msgs)
        .await
        .unwrap()
        .map(|e| e.unwrap())
        .collect()
        .await;
    assert_eq!(events.first(), Some(&StreamEvent::Ping));
    assert_eq!(events.last(), Some(&StreamEvent::Done));
    let chunks: Vec<&TextMessage> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Message(LettaMessage::AssistantMessage(m)) => Some(m),
            _ => None,
        })
        .collect();
    assert!(chunks.len() > 1);
    assert!(chunks.iter().all(|m| m.id == chunks[0].id));
    let text: String = chunks.iter().map(|m| m.content.text()).collect();
    assert_eq!(text, "echo: hello there");
    let body = fake.requests().last().unwrap().body.clone().unwrap();
    assert_eq!(body["stream_tokens"], true);

    let run = c.messages().send_async(&agent.id, &msgs).await.unwrap();
    let run = c.runs().get(&run.id).await.unwrap();
    assert!(run.status.is_terminal());
    let run_msgs = c
        .runs()
        .messages(&run.id, &MessageFilter::default())
        .await
        .unwrap();
    assert_eq!(run_msgs.len(), 2);

    assert_eq!(
        c.messages().cancel(&agent.id).await.unwrap(),
        CancelOutcome::NothingToCancel
    );
}

#[tokio::test]
async fn stream_llm_failure_is_an_event_not_an_error() {
    let fake = FakeLetta::start().await;
    let c = client(&fake);
    let agent = c
        .agents()
        .create(&CreateAgentRequest::default())
        .await
        .unwrap();
    fake.fault("POST", "/v1/agents/*", Fault::Sse(sse_llm_error()));
    let events: Vec<StreamEvent> = c
        .messages()
        .stream(&agent.id, &[MessageCreate::user("x", None)])
        .await
        .unwrap()
        .map(|e| e.unwrap())
        .collect()
        .await;
    assert!(
        matches!(&events[0], StreamEvent::StopReason(s) if s.stop_reason == StopReasonType::LlmApiError)
    );
    assert!(matches!(&events[1], StreamEvent::Error(e) if e.error_type == "llm_error"));
    assert_eq!(events[2], StreamEvent::Done);
}

#[tokio::test]
async fn passages_never_keep_embeddings() {
    let fake = FakeLetta::start().await;
    let c = client(&fake);
    let agent = c
        .agents()
        .create(&CreateAgentRequest::default())
        .await
        .unwrap();
    let created = c
        .passages()
        .create(&agent.id, "the sky is blue", &["color".into()])
        .await
        .unwrap();
    assert_eq!(created.len(), 1);
    let listed = c
        .passages()
        .list(&agent.id, &PassageFilter::default())
        .await
        .unwrap();
    assert_eq!(listed[0].tags, vec!["color".to_owned()]);
    assert!(!serde_json::to_string(&listed)
        .unwrap()
        .contains("embedding"));
    let found = c
        .passages()
        .search(
            &agent.id,
            &ArchivalMemorySearch {
                query: "sky".into(),
                top_k: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found.count, 1);
    c.passages()
        .delete(&agent.id, &created[0].id)
        .await
        .unwrap();
    assert!(c
        .passages()
        .list(&agent.id, &PassageFilter::default())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn models_lists() {
    let fake = FakeLetta::start().await;
    let c = client(&fake);
    assert_eq!(
        c.models().list().await.unwrap()[0].handle.as_deref(),
        Some("openai-proxy/fake-model")
    );
    assert_eq!(
        c.models().embedding().await.unwrap()[0].handle.as_deref(),
        Some("openai/text-embedding-3-small")
    );
}

// ---- faults ----------------------------------------------------------------------------------

#[tokio::test]
async fn each_status_maps_to_its_variant_without_leaking_the_body() {
    let fake = FakeLetta::start().await;
    let c = client(&fake);
    type Check = fn(&LettaError) -> bool;
    let cases: Vec<(Fault, Check)> = vec![
        (Fault::server_error(), |e| {
            matches!(e, LettaError::Server { status: 500, .. })
        }),
        (Fault::status(503, SECRET_MARKER), |e| {
            matches!(e, LettaError::Server { status: 503, .. })
        }),
        (Fault::unauthorized(), |e| {
            matches!(e, LettaError::Unauthorized { .. })
        }),
        (Fault::not_found_sql(), |e| {
            matches!(e, LettaError::NotFound { .. })
        }),
        (Fault::conflict_sql(), |e| {
            matches!(e, LettaError::Conflict { .. })
        }),
        (
            Fault::validation_repr(),
            |e| matches!(e, LettaError::Validation { message, .. } if message == "name: required"),
        ),
        (Fault::status(405, SECRET_MARKER), |e| {
            matches!(e, LettaError::Status { status: 405, .. })
        }),
        (Fault::status(400, SECRET_MARKER), |e| {
            matches!(e, LettaError::Status { status: 400, .. })
        }),
        (Fault::MalformedJson, |e| {
            matches!(e, LettaError::Decode { .. })
        }),
    ];
    for (fault, check) in cases {
        fake.clear_faults();
        fake.fault("*", "/v1/identities/*", fault.clone());
        let err = c.identities().count().await.unwrap_err();
        assert!(check(&err), "{fault:?} -> {err:?}");
        assert_no_leak(&err);
        assert!(
            err.log_detail().unwrap_or("").contains(SECRET_MARKER),
            "{fault:?}: the body must stay available for logs"
        );
        // POSTs map the same way.
        let err = c.identities().create(&ident("k")).await.unwrap_err();
        assert!(check(&err), "POST {fault:?} -> {err:?}");
        assert_no_leak(&err);
    }
}

#[tokio::test]
async fn llm_failure_on_send_is_a_server_error() {
    let fake = FakeLetta::start().await;
    let c = client(&fake);
    let agent = c
        .agents()
        .create(&CreateAgentRequest::default())
        .await
        .unwrap();
    fake.fault(
        "POST",
        &format!("/v1/agents/{}/messages", agent.id),
        Fault::server_error(),
    );
    let err = c
        .messages()
        .send(&agent.id, &[MessageCreate::user("x", None)])
        .await
        .unwrap_err();
    assert!(
        matches!(err, LettaError::Server { status: 500, .. }),
        "{err:?}"
    );
    assert_no_leak(&err);
}

#[tokio::test]
async fn real_validation_from_a_malformed_id() {
    let fake = FakeLetta::start().await;
    let err = client(&fake).agents().get("not-an-id").await.unwrap_err();
    match &err {
        LettaError::Validation { message, .. } => {
            // The field and the kind of problem; none of the server's own words.
            assert_eq!(message, "agent_id: not valid")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn empty_id_is_refused_before_sending() {
    let fake = FakeLetta::start().await;
    let err = client(&fake).agents().get("").await.unwrap_err();
    assert!(matches!(err, LettaError::Validation { .. }), "{err:?}");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn slow_answer_is_a_timeout_and_is_not_retried() {
    let fake = FakeLetta::start().await;
    let c = client_for(&fake, Some(FakeLetta::PASSWORD), Duration::from_millis(200));
    fake.fault(
        "GET",
        "/v1/identities/count",
        Fault::Sleep(Duration::from_secs(2)),
    );
    let started = std::time::Instant::now();
    let err = c.identities().count().await.unwrap_err();
    assert!(matches!(err, LettaError::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(fake.request_count("GET", "/v1/identities/count"), 1);
}

#[tokio::test]
async fn get_is_retried_after_a_connection_reset() {
    let fake = FakeLetta::start().await;
    let c = client(&fake);
    // Reset twice, then answer: the third attempt succeeds.
    fake.fault_times("GET", "/v1/identities/count", Fault::ResetMidBody, 2);
    assert_eq!(c.identities().count().await.unwrap(), 0);
    assert_eq!(fake.request_count("GET", "/v1/identities/count"), 3);

    // Reset every time: 1 try + 2 retries, then a Transport error.
    fake.clear_requests();
    fake.fault("GET", "/v1/identities/count", Fault::ResetMidBody);
    let err = c.identities().count().await.unwrap_err();
    assert!(matches!(err, LettaError::Transport { .. }), "{err:?}");
    assert_no_leak(&err);
    assert_eq!(fake.request_count("GET", "/v1/identities/count"), 3);
}

#[tokio::test]
async fn connection_dropped_before_the_head_get_retried_post_not() {
    let fake = FakeLetta::start().await;
    let c = client(&fake);
    fake.fault_times("GET", "/v1/identities/count", Fault::DropConnection, 1);
    assert_eq!(c.identities().count().await.unwrap(), 0);
    assert_eq!(fake.request_count("GET", "/v1/identities/count"), 2);

    fake.fault_times("POST", "/v1/identities/", Fault::DropConnection, 1);
    let err = c.identities().create(&ident("k")).await.unwrap_err();
    assert!(matches!(err, LettaError::Transport { .. }), "{err:?}");
    assert_eq!(fake.request_count("POST", "/v1/identities/"), 1);
    assert!(fake.identity_ids().is_empty());
}

#[tokio::test]
async fn post_patch_delete_are_never_retried() {
    let fake = FakeLetta::start().await;
    let c = client(&fake);
    fake.fault("*", "/v1/*", Fault::ResetMidBody);

    let err = c.identities().create(&ident("k")).await.unwrap_err();
    assert!(matches!(err, LettaError::Transport { .. }), "{err:?}");
    assert_eq!(fake.request_count("POST", "/v1/identities/"), 1);

    let id = "agent-00000000-0000-4000-8000-000000000000";
    let block = "block-00000000-0000-4000-8000-000000000000";
    assert!(c.agents().attach_block(id, block).await.is_err());
    assert_eq!(fake.request_count("PATCH", "/v1/agents/*"), 1);
    assert!(c.agents().delete(id).await.is_err());
    assert_eq!(fake.request_count("DELETE", "/v1/agents/*"), 1);
    assert!(c
        .messages()
        .send(id, &[MessageCreate::user("x", None)])
        .await
        .is_err());
    assert_eq!(fake.request_count("POST", "/v1/agents/*"), 1);
}

#[tokio::test]
async fn http_error_statuses_are_not_retried() {
    let fake = FakeLetta::start().await;
    let c = client(&fake);
    fake.fault("GET", "/v1/identities/count", Fault::server_error());
    assert!(c.identities().count().await.is_err());
    assert_eq!(fake.request_count("GET", "/v1/identities/count"), 1);
}

#[tokio::test]
async fn connection_refused_is_transport_after_retries() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = LettaClient::new(
        http_client(),
        Connection {
            base_url: format!("http://{addr}/").parse().unwrap(),
            password: None,
            timeout: Duration::from_secs(2),
        },
    );
    let started = std::time::Instant::now();
    let err = c.health().await.unwrap_err();
    assert!(matches!(err, LettaError::Transport { .. }), "{err:?}");
    // Two backoffs (100 + 300 ms) were waited.
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(err.to_string(), "could not reach the Letta server");
}

#[tokio::test]
async fn https_against_a_plain_http_server_is_tls() {
    let fake = FakeLetta::start().await;
    let mut url = fake.url.clone();
    url.set_scheme("https").unwrap();
    let c = LettaClient::new(
        http_client(),
        Connection {
            base_url: url,
            password: None,
            timeout: Duration::from_secs(2),
        },
    );
    let err = c.health().await.unwrap_err();
    assert!(matches!(err, LettaError::Tls { .. }), "{err:?}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let fake = FakeLetta::start().await;
    let c = client(&fake);
    fake.fault("GET", "/v1/identities/count", Fault::status(307, ""));
    let err = c.identities().count().await.unwrap_err();
    assert!(
        matches!(err, LettaError::Status { status: 307, .. }),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn stream_open_errors_and_idle_timeout() {
    let fake = FakeLetta::start().await;
    let c = client_for(&fake, Some(FakeLetta::PASSWORD), Duration::from_millis(300));
    let agent = c
        .agents()
        .create(&CreateAgentRequest::default())
        .await
        .unwrap();
    let path = format!("/v1/agents/{}/messages/stream", agent.id);

    fake.fault_times("POST", &path, Fault::server_error(), 1);
    let err = c
        .messages()
        .stream(&agent.id, &[MessageCreate::user("x", None)])
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, LettaError::Server { status: 500, .. }),
        "{err:?}"
    );
    assert_no_leak(&err);

    fake.fault_times("POST", &path, Fault::Sleep(Duration::from_secs(2)), 1);
    let err = c
        .messages()
        .stream(&agent.id, &[MessageCreate::user("x", None)])
        .await
        .err()
        .unwrap();
    assert!(matches!(err, LettaError::Timeout), "{err:?}");

    fake.fault_times("POST", &path, Fault::ResetMidBody, 1);
    let events: Vec<_> = c
        .messages()
        .stream(&agent.id, &[MessageCreate::user("x", None)])
        .await
        .unwrap()
        .collect()
        .await;
    assert!(
        matches!(events.last(), Some(Err(LettaError::Transport { .. }))),
        "{events:?}"
    );
}

#[tokio::test]
async fn base_url_path_prefix_is_kept() {
    let fake = FakeLetta::start().await;
    for prefix in ["letta", "letta/"] {
        let c = LettaClient::new(
            http_client(),
            Connection {
                base_url: fake.url.join(prefix).unwrap(),
                password: Some(FakeLetta::PASSWORD.into()),
                timeout: Duration::from_secs(5),
            },
        );
        // The fake serves no prefix, so this fails; what matters is the path it received.
        assert!(c.health().await.is_err());
        assert_eq!(fake.requests().last().unwrap().path, "/letta/v1/health/");
    }
}
