//! A two-step chat scenario against the REAL Letta 0.16.8: two persons, one agent, each step
//! an ordinary turn (attach, send as the person, detach), the expectations checked against
//! the real replies and the real persona blocks. Needs LETTA_BASE_URL / LETTA_SERVER_PASSWORD;
//! skipped loudly without them unless LETTA_CONTRACT_REQUIRED=1.
use crate::common;
use crate::common::person;
use crate::scenarios::{finished, start_run, step};

use common::spawn_app_with;
use letta_admin::{
    auth::Role,
    features::chat::scenarios::model::{ExpectKind, RunSummary, ScenarioInput},
    letta::types::CreateAgentRequest,
};

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

#[tokio::test]
async fn a_two_step_scenario_runs_against_the_real_server() {
    let Some((url, password)) = common::letta_peer() else {
        return;
    };
    let app = spawn_app_with(|c| {
        c.letta_base_url = Some(url.clone());
        c.letta_password = Some(password.clone().into());
    })
    .await;
    let op = app.signed_in("olga", Role::Operator).await;
    let sam = app.signed_in("sam", Role::Staff).await;
    let (ada_name, bob_name) = (unique("scn_ada"), unique("scn_bob"));
    let ada = person(&app, &op, &ada_name).await;
    let bob = person(&app, &op, &bob_name).await;
    let client = app.state.letta.client().unwrap();
    let agent = client
        .agents()
        .create(&CreateAgentRequest {
            name: Some(unique("scenario-contract")),
            model: Some("openai-proxy/fake-model".into()),
            embedding: Some("openai/text-embedding-3-small".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .id;
    let input = ScenarioInput {
        name: "Contract".into(),
        agent_id: String::new(),
        steps: vec![
            step(
                ada.id,
                "hello from the first person",
                &[
                    (ExpectKind::ReplyContains, "first person"),
                    (ExpectKind::PersonaContains, &format!("{ada_name} display")),
                ],
            ),
            step(
                bob.id,
                "and now the second",
                &[
                    (ExpectKind::ReplyContains, "the second"),
                    (ExpectKind::ReplyLacks, "first person"),
                    (ExpectKind::PersonaContains, &format!("{bob_name} display")),
                ],
            ),
        ],
    };
    let s = crate::scenarios::created(&app, &sam, &input).await;
    let a = start_run(&app, &sam, s.id, &agent).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let run: RunSummary = a.json();
    let d = finished(&app, &sam, run.id).await;
    assert_eq!(d.run.status, "passed", "{d:#?}");
    assert_eq!(d.steps.len(), 2);
    for s in &d.steps {
        assert_eq!(s.status, "passed", "{s:#?}");
        assert!(
            s.usage.as_ref().is_some_and(|u| u.total_tokens > 0),
            "{s:?}"
        );
        assert_eq!(s.detached, Some(true));
        assert!(s.checks.iter().all(|c| c.passed));
    }
    assert!(
        d.steps[0].reply.contains("hello from the first person"),
        "{:?}",
        d.steps[0].reply
    );

    // Each message recorded its sender, and nothing is left on the agent.
    let blocks = client.agents().core_blocks(&agent).await.unwrap();
    let personas: Vec<_> = blocks
        .iter()
        .filter_map(|b| b.label.clone())
        .filter(|l| l.starts_with("Persona_"))
        .collect();
    assert!(personas.is_empty(), "{personas:?}");
    let history = client
        .messages()
        .list(&agent, &Default::default())
        .await
        .unwrap();
    let senders: Vec<Option<String>> = history
        .iter()
        .filter_map(|m| match m {
            letta_admin::letta::types::LettaMessage::UserMessage(u) => Some(u.sender_id.clone()),
            _ => None,
        })
        .collect();
    assert!(
        senders.contains(&Some(ada.identity_id.clone())),
        "{senders:?}"
    );
    assert!(
        senders.contains(&Some(bob.identity_id.clone())),
        "{senders:?}"
    );
    let _ = client.agents().delete(&agent).await;
}
