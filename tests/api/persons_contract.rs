//! Persons against the REAL Letta 0.16.8 (the judge of what the client does). Needs
//! LETTA_BASE_URL / LETTA_SERVER_PASSWORD; skipped loudly without them unless
//! LETTA_CONTRACT_REQUIRED=1, which scripts/test.sh sets.
use crate::common;

use common::spawn_app_with;
use letta_admin::{
    auth::Role,
    features::persons::api::{CreateOutcome, PersonDetail},
    letta::{http_client, Connection, LettaClient},
};

#[tokio::test]
async fn a_person_is_an_identity_and_a_linked_persona_block_on_the_real_server() {
    let Some((url, password)) = common::letta_peer() else {
        return;
    };
    let app = spawn_app_with(|c| {
        c.letta_base_url = Some(url.clone());
        c.letta_password = Some(password.clone().into());
    })
    .await;
    let op = app.signed_in("olga", Role::Operator).await;
    let username = format!("ct_{}", std::process::id());
    let a = app
        .call(
            &op,
            "operator/persons/create",
            &[
                ("form[username]", &username),
                ("form[display_name]", "Contract Person"),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let CreateOutcome::Created(s) = a.json() else {
        panic!("{}", a.body)
    };
    let p: PersonDetail = app
        .call(&op, "staff/persons/get", &[("id", &s.id.to_string())])
        .await
        .json();
    let (block_id, identity_id) = (p.block_id.clone().unwrap(), p.identity_id.clone().unwrap());

    let letta = LettaClient::new(
        http_client(),
        Connection::parse(
            &url,
            Some(password.into()),
            std::time::Duration::from_secs(30),
        )
        .unwrap(),
    );
    let block = letta.blocks().get(&block_id).await.unwrap();
    assert_eq!(
        block.label.as_deref(),
        Some(format!("Persona_{username}").as_str())
    );
    let doc: serde_json::Value = serde_json::from_str(&block.value).unwrap();
    assert_eq!(doc["name"], "Contract Person");
    assert_eq!(block.limit, Some(5000));
    let linked = letta.identities().blocks(&identity_id).await.unwrap();
    assert!(
        linked.iter().any(|b| b.id == block_id),
        "the identity lists its persona block"
    );
    let identity = letta.identities().get(&identity_id).await.unwrap();
    assert_eq!(identity.identifier_key, username);
    assert!(
        identity.block_ids.is_empty(),
        "Letta quirk: block_ids on the identity stays empty"
    );

    let v: PersonDetail = app
        .call(&op, "operator/persons/verify", &[("id", &s.id.to_string())])
        .await
        .json();
    assert_eq!(v.health, "ok");

    // Creating it again offers adoption of the existing identity instead of a duplicate.
    app.call(
        &op,
        "operator/persons/delete",
        &[("id", &s.id.to_string()), ("keep_in_letta", "true")],
    )
    .await;
    let again = app
        .call(
            &op,
            "operator/persons/create",
            &[
                ("form[username]", &username),
                ("form[display_name]", "Contract Person"),
            ],
        )
        .await;
    assert!(
        matches!(again.json(), CreateOutcome::Adoptable { .. }),
        "{}",
        again.body
    );
    let adopted = app
        .call(
            &op,
            "operator/persons/adopt",
            &[("username", &username), ("notes", "")],
        )
        .await;
    assert_eq!(adopted.status, 200, "{}", adopted.body);
    let p2 = letta_admin::db::persons::by_username(&app.state.db, &username)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        p2.block_id.as_deref(),
        Some(block_id.as_str()),
        "adoption found the existing Persona_ block"
    );

    let del = app
        .call(
            &op,
            "operator/persons/delete",
            &[("id", &p2.id.to_string()), ("keep_in_letta", "false")],
        )
        .await;
    assert_eq!(del.status, 200);
    assert!(letta
        .blocks()
        .get(&block_id)
        .await
        .unwrap_err()
        .is_not_found());
    assert!(letta
        .identities()
        .get(&identity_id)
        .await
        .unwrap_err()
        .is_not_found());
}
