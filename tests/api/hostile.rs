//! Stored (and reflected) HTML injection: markup, script end tags, event handlers and
//! `javascript:` URLs in every value the dashboard shows, through its own forms where they
//! accept them and straight into the fake Letta where only another client could store them
//! (agent names, block labels, tags, messages of every type, unknown senders and message types).
//! Each page that shows them is fetched as the role that reads it, parsed with a real HTML5
//! parser (scraper / html5ever), and must stay inert: no event-handler attribute, no element or
//! attribute the same page does not have with harmless values of the same shape, no script
//! URL, every script ours and none broken out of. So that this cannot pass on a page that
//! shows nothing, each value must be on its page: as text (or an attribute value), or, where
//! the browser sets it as a property, in the data the page carries for it.
use crate::common;

use std::collections::BTreeMap;

use common::{fake_letta::FakeLetta, spawn_app, TestApp};
use letta_admin::{
    auth::Role,
    features::{
        agents::api::AgentSaved,
        chat::model::BackgroundRun,
        identities::api::IdentitySaved,
        persons::api::{CreateOutcome, PersonDetail},
    },
};
use scraper::{ElementRef, Html, Node};
use serde_json::json;

/// Every way out of a text, RCDATA, raw-text or attribute context at once, and a script URL at
/// the start (for anything that might become an href). `&lt;b&gt;` must stay those characters.
const LONG: &str = "javascript:alert(1)</textarea></script></title></style></noscript><img src=x \
                    onerror=alert(1)>\"'><svg onload=alert(1)><iframe src=javascript:alert(1)>&lt;b&gt;&amp;";
/// For fields of at most 100 characters (display names).
const MEDIUM: &str =
    "javascript:alert(1)</textarea></script><img src=x onerror=alert(1)>\"'><svg onload=alert(1)>";
/// For fields of at most 50 characters without spaces or commas (tags, labels, usernames).
const SHORT: &str = "\"'></textarea></script><svg/onload=alert(1)>";

/// The values of one world: hostile, or harmless ones of exactly the same shape (every markup
/// character replaced by a letter or bracket), so both render the same elements.
#[derive(Clone, Copy)]
struct Values {
    hostile: bool,
}

impl Values {
    fn make(&self, base: &str, field: &str) -> String {
        let v = format!("{base}#{field}");
        if self.hostile {
            v
        } else {
            defang(&v)
        }
    }
    fn long(&self, field: &str) -> String {
        self.make(LONG, field)
    }
    fn medium(&self, field: &str) -> String {
        self.make(MEDIUM, field)
    }
    fn short(&self, field: &str) -> String {
        self.make(SHORT, field)
    }
}

fn defang(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => '[',
            '>' => ']',
            '"' => 'q',
            '\'' => 'a',
            '&' => '+',
            ':' => '_',
            c => c,
        })
        .collect()
}

/// A page to fetch, and the values it must carry: shown as text (or an attribute value), or
/// only sent as data for the browser to put into a property.
struct Page<'w> {
    path: String,
    client: &'w reqwest::Client,
    shown: Vec<String>,
    data: Vec<String>,
}

/// The app, its fake Letta, the three roles, and everything seeded.
struct World {
    app: TestApp,
    _fake: FakeLetta,
    admin: reqwest::Client,
    op: reqwest::Client,
    staff: reqwest::Client,
    /// Not signed in.
    anonymous: reqwest::Client,
    person: i64,
    identity: String,
    /// Made through the dashboard (its name must be plain; the rest is hostile).
    agent: String,
    /// Made in Letta by another client: a hostile name, tags and block label too.
    raw_agent: String,
}

fn ok(a: common::Answer, what: &str) -> common::Answer {
    assert_eq!(a.status, 200, "{what}: {}", a.body);
    a
}

impl World {
    async fn build(v: Values) -> World {
        let fake = FakeLetta::start().await;
        let app = spawn_app().await;
        let admin = app.signed_in("root", Role::Admin).await;
        let op = app.signed_in("olga", Role::Operator).await;
        let staff = app.signed_in("sam", Role::Staff).await;
        app.connect_to_fake(&op, &fake, "5").await;

        // A person: display name and notes (the username is restricted to a-z, 0-9, _ and -).
        let created = ok(
            app.call(
                &op,
                "operator/persons/create",
                &[
                    ("form[username]", "ada"),
                    ("form[display_name]", &v.medium("display")),
                    ("form[notes]", &v.long("notes")),
                ],
            )
            .await,
            "person",
        );
        let CreateOutcome::Created(person) = created.json() else {
            panic!("{}", created.body)
        };
        // The agent rewrote the persona block as prose.
        let detail: PersonDetail = ok(
            app.call(&op, "staff/persons/get", &[("id", &person.id.to_string())])
                .await,
            "person detail",
        )
        .json();
        fake.set_block_field(
            detail.block_id.as_deref().expect("persona block"),
            "value",
            json!(v.long("persona")),
        );

        // An identity: name, key and a property of each type (hostile keys; the string and json
        // values too).
        let json_value = json!({ "note": v.long("prop-json") }).to_string();
        let mut form = vec![
            ("input[identifier_key]".to_string(), v.long("key")),
            ("input[name]".to_string(), v.long("identity")),
            ("input[identity_type]".to_string(), "other".to_string()),
        ];
        for (i, (key, kind, value)) in [
            (v.short("k-str"), "string", v.long("prop-str")),
            (v.short("k-num"), "number", "42".to_string()),
            (v.short("k-bool"), "boolean", "true".to_string()),
            (v.short("k-json"), "json", json_value),
        ]
        .into_iter()
        .enumerate()
        {
            form.push((format!("input[properties][{i}][key]"), key));
            form.push((format!("input[properties][{i}][kind]"), kind.to_string()));
            form.push((format!("input[properties][{i}][value]"), value));
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let identity: IdentitySaved = ok(
            app.call(&op, "operator/identities/create", &form).await,
            "identity",
        )
        .json();

        // An agent made through the dashboard: description, tags, system prompt, a block.
        let tags = format!("{}, {}", v.short("tag1"), v.short("tag2"));
        let agent: AgentSaved = ok(
            app.call(
                &op,
                "operator/agents/create",
                &[
                    ("input[name]", "Help desk"),
                    ("input[model]", "openai-proxy/fake-model"),
                    ("input[embedding]", "openai/text-embedding-3-small"),
                    ("input[description]", &v.long("description")),
                    ("input[tags]", &tags),
                    ("input[system]", &v.long("system")),
                    ("input[blocks][0][label]", &v.short("label")),
                    ("input[blocks][0][value]", &v.long("block-value")),
                    ("input[blocks][0][limit]", "5000"),
                ],
            )
            .await,
            "agent",
        )
        .json();
        ok(
            app.call(
                &op,
                "operator/agents/link_identity",
                &[("id", &agent.id), ("identity_id", &identity.id)],
            )
            .await,
            "link",
        );
        ok(
            app.call(
                &op,
                "operator/agents/passage_add",
                &[
                    ("id", &agent.id),
                    ("input[text]", &v.long("passage")),
                    ("input[tags]", &v.short("ptag")),
                ],
            )
            .await,
            "passage",
        );
        fake.add_passage(&agent.id, &v.long("raw-passage"), &[&v.long("raw-ptag")]);
        fake.set_context_texts(&agent.id, &v.long("core-memory"), &v.long("summary"));

        // An agent another client made, with what the dashboard would refuse.
        let raw_agent = fake.add_agent_with(json!({
            "name": v.medium("agent-name"),
            "description": v.long("raw-description"),
            "tags": [v.long("raw-tag")],
            "system": v.long("raw-system"),
            "model": "openai-proxy/fake-model",
            "memory_blocks": [{"label": v.medium("raw-label"), "value": v.long("raw-block-value"),
                               "description": v.long("raw-block-description"), "limit": 5000}],
        }));

        // The identity is linked to that agent and its block too.
        ok(
            app.call(
                &op,
                "operator/agents/link_identity",
                &[("id", &raw_agent), ("identity_id", &identity.id)],
            )
            .await,
            "link",
        );
        for block in fake.attached_blocks(&raw_agent) {
            fake.link_block_identity(&block, &identity.id);
        }

        // A chat turn as the person (stored by Letta with the person's identity as sender),
        // one in the background, and what an agent's turn can also hold.
        for (text, background) in [(v.long("chat"), false), (v.long("background"), true)] {
            let mut form = vec![
                ("send[agent_id]", agent.id.clone()),
                ("send[person_id]", person.id.to_string()),
                ("send[text]", text),
            ];
            if background {
                form.push(("background", "true".into()));
            }
            let res = staff
                .post(app.url("/api/staff/chat/send"))
                .form(&form)
                .send()
                .await
                .expect("send");
            assert_eq!(res.status(), 200);
            res.text().await.expect("turn");
        }
        // Both turns over and the persona block detached again, so the pages do not depend on
        // when they are fetched.
        let persona_block = detail.block_id.clone().expect("persona block");
        let settled = || async {
            let runs: Vec<BackgroundRun> = ok(
                app.call(&staff, "staff/chat/runs", &[("agent_id", &agent.id)])
                    .await,
                "runs",
            )
            .json();
            runs.iter().all(|r| r.finished)
                && !fake.attached_blocks(&agent.id).contains(&persona_block)
        };
        let mut waited = 0;
        while !settled().await {
            assert!(waited < 200, "the chat turns did not end");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            waited += 1;
        }
        for m in [
            json!({"message_type": "reasoning_message", "reasoning": v.long("reasoning")}),
            json!({"message_type": "tool_call_message",
                   "tool_call": {"name": v.medium("tool-name"), "arguments": v.long("tool-args"), "tool_call_id": "c1"}}),
            json!({"message_type": "tool_return_message", "tool_return": v.long("tool-return"), "status": "success"}),
            json!({"message_type": "user_message", "content": v.long("stranger"), "sender_id": v.medium("sender")}),
            json!({"message_type": "assistant_message", "content": v.long("assistant")}),
            json!({"message_type": v.short("type"), "content": v.long("unknown-type")}),
        ] {
            fake.push_message(&agent.id, m);
        }

        // Audited: a failed sign-in with a hostile username (sign-in lowercases it).
        let stranger = common::client();
        let failed = app
            .call(
                &stranger,
                "public/login",
                &[
                    ("username", &v.short("login")),
                    ("password", "wrong password"),
                ],
            )
            .await;
        assert_eq!(failed.status, 422, "{}", failed.body);

        World {
            app,
            _fake: fake,
            admin,
            op,
            staff,
            anonymous: stranger,
            person: person.id,
            identity: identity.id,
            agent: agent.id,
            raw_agent,
        }
    }

    /// Every page that shows the values, as the role that reads it, with what it must show.
    fn pages(&self, v: Values) -> Vec<Page<'_>> {
        let q = |s: String| letta_admin::components::format::urlencode(&s);
        let page = |path: String, client, shown: &[String], data: &[String]| Page {
            path,
            client,
            shown: shown.to_vec(),
            data: data.to_vec(),
        };
        let (staff, op, admin, anonymous) = (&self.staff, &self.op, &self.admin, &self.anonymous);
        let person = format!("/persons/{}", self.person);
        let (agent, raw_agent) = (
            format!("/agents/{}", self.agent),
            format!("/agents/{}", self.raw_agent),
        );
        // What the agent page shows of the agent made through the dashboard (and its chat).
        let agent_shows = [
            v.long("description"),
            v.short("tag1"),
            v.short("tag2"),
            v.short("label"),
            v.long("passage"),
            v.short("ptag"),
            v.long("raw-passage"),
            v.long("raw-ptag"),
            v.long("core-memory"),
            v.long("summary"),
            v.long("system"),
            v.long("identity"),
            v.long("key"),
            v.medium("sender"),
        ];
        vec![
            page("/persons".into(), staff, &[v.medium("display")], &[]),
            page(
                format!("/persons?q={}", q(v.short("search"))),
                staff,
                &[v.short("search")],
                &[],
            ),
            page(
                person.clone(),
                op,
                &[v.medium("display"), v.long("notes")],
                &[],
            ),
            page(
                person.clone(),
                staff,
                &[v.medium("display")],
                &[v.long("notes")],
            ),
            // The editor's fields are properties set in the browser: the server sends the
            // block's value (prose the agent wrote) and its history (the document the dashboard
            // wrote, with the display name) as data only.
            page(
                format!("{person}/persona"),
                op,
                &[],
                &[v.long("persona"), v.medium("display")],
            ),
            page(
                "/identities".into(),
                op,
                &[v.long("identity"), v.long("key"), v.medium("display")],
                &[],
            ),
            page(
                format!(
                    "/identities?name={}&key={}",
                    q(v.long("qname")),
                    q(v.long("qkey"))
                ),
                op,
                &[v.long("qname"), v.long("qkey")],
                &[],
            ),
            // Property values are inputs' properties (data); their keys are shown.
            page(
                format!("/identities/{}", self.identity),
                op,
                &[
                    v.long("identity"),
                    v.long("key"),
                    v.short("k-str"),
                    v.short("k-num"),
                    v.short("k-bool"),
                    v.short("k-json"),
                    v.medium("agent-name"),
                    v.medium("raw-label"),
                ],
                &[v.long("prop-str"), v.long("prop-json")],
            ),
            page(
                "/agents".into(),
                staff,
                &[
                    v.medium("agent-name"),
                    v.long("raw-tag"),
                    v.short("tag1"),
                    v.short("tag2"),
                ],
                &[],
            ),
            page(
                format!(
                    "/agents?search={}&tag={}",
                    q(v.long("qsearch")),
                    q(v.long("qtag"))
                ),
                staff,
                &[v.long("qsearch"), v.long("qtag")],
                &[],
            ),
            // A block's value is its editor's property (data); the rest is shown.
            page(agent.clone(), staff, &agent_shows, &[v.long("block-value")]),
            page(agent, op, &agent_shows, &[v.long("block-value")]),
            page(
                raw_agent,
                op,
                &[
                    v.medium("agent-name"),
                    v.long("raw-description"),
                    v.long("raw-tag"),
                    v.medium("raw-label"),
                    v.long("raw-block-description"),
                    v.long("raw-system"),
                ],
                &[v.long("raw-block-value")],
            ),
            page(
                format!("/chat?agent={}&person={}", self.agent, self.person),
                staff,
                &[
                    v.medium("agent-name"),
                    v.medium("display"),
                    v.long("chat"),
                    v.long("background"),
                    v.long("assistant"),
                    v.long("reasoning"),
                    v.medium("tool-name"),
                    v.long("tool-args"),
                    v.long("tool-return"),
                    v.long("stranger"),
                    v.short("type"),
                ],
                &[],
            ),
            page(
                format!("/chat?agent={}&person={}", self.raw_agent, self.person),
                staff,
                &[v.medium("agent-name"), v.medium("display")],
                &[],
            ),
            // Reflected: an agent id no agent has (the page refuses it), a sign-in target.
            page(
                format!("/chat?agent={}", q(v.long("qagent"))),
                staff,
                &[],
                &[],
            ),
            page(
                format!("/login?next={}", q(v.long("qnext"))),
                anonymous,
                &[],
                &[],
            ),
            // The turn ledger names persons and users (restricted characters) and gives reasons
            // in the dashboard's own words; the filter is reflected from the URL.
            page("/activity".into(), op, &[], &[]),
            // The Overview: the audit card (hostile usernames from failed sign-ins), the chat
            // card (the ledger), the persons card.
            page("/".into(), admin, &[], &[]),
            page("/".into(), staff, &[], &[]),
            page(
                format!(
                    "/activity?user={}&agent={}&outcome={}",
                    q(v.short("quser")),
                    q(v.short("qagent2")),
                    q(v.short("qoutcome"))
                ),
                op,
                &[],
                &[],
            ),
            // Usernames are a-z, 0-9, _ and - only: nothing hostile can be shown here.
            page("/users".into(), admin, &[], &[]),
            page(
                "/audit".into(),
                admin,
                &[v.short("login"), v.long("key")],
                &[],
            ),
            page(
                format!(
                    "/audit?actor={}&action={}",
                    q(v.short("qactor")),
                    q(v.short("qaction"))
                ),
                admin,
                &[v.short("qactor"), v.short("qaction")],
                &[],
            ),
        ]
    }

    async fn get(&self, path: &str, c: &reqwest::Client) -> (String, String) {
        let res = c.get(self.app.url(path)).send().await.expect("page");
        assert_eq!(res.status(), 200, "{path}");
        let csp = res
            .headers()
            .get("content-security-policy")
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let nonce = csp
            .split(['\'', ' ', ';'])
            .find_map(|t| t.strip_prefix("nonce-"))
            .unwrap_or_else(|| panic!("{path}: no nonce in the CSP {csp:?}"))
            .to_string();
        (res.text().await.expect("body"), nonce)
    }
}

// ---- what an inert page is ------------------------------------------------------------------

/// Elements none of our pages has: one in a page is markup that came from a value.
const NEVER: [&str; 10] = [
    "img", "iframe", "object", "embed", "base", "frame", "frameset", "applet", "math", "portal",
];
/// Attributes a browser loads or runs as a URL.
const URL_ATTRS: [&str; 8] = [
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "poster",
    "xlink:href",
    "srcset",
];

/// How each inline script Leptos writes begins: the hydration bootstrap, the out-of-order
/// streaming swap, and the serialised resources.
const LEPTOS_SCRIPTS: [&str; 6] = [
    "(function (root, pkg_path,",
    "(function() { let id = ",
    "__RESOLVED_RESOURCES",
    "__SERIALIZED_ERRORS",
    "__PENDING_RESOURCES",
    "__INCOMPLETE_CHUNKS",
];

fn nodes(doc: &Html) -> impl Iterator<Item = ElementRef<'_>> {
    doc.tree.nodes().filter_map(ElementRef::wrap)
}

/// A URL a browser would not run: relative, or http(s). (Browsers drop ASCII whitespace and
/// control characters inside a scheme, so they are dropped here too.)
fn safe_url(url: &str) -> bool {
    let squeezed: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
        .collect::<String>()
        .to_ascii_lowercase();
    match squeezed.find([':', '/', '?', '#']) {
        Some(i) if squeezed.as_bytes()[i] == b':' => {
            matches!(&squeezed[..i], "http" | "https")
        }
        _ => true,
    }
}

/// The elements of a page as `name[attr,attr,…]`, counted: what a harmless render of the same
/// data must match exactly. Left out is what depends on when each resource resolved, not on
/// the values: scripts (how many carry the resources; each is checked on its own), and a
/// streamed Suspense's fallback (`.loading`) and `<template>` (its content is counted).
fn shape(doc: &Html) -> BTreeMap<String, usize> {
    let timing = |e: &ElementRef| {
        let e = e.value();
        matches!(e.name(), "script" | "template") || e.attr("class") == Some("loading")
    };
    let mut out = BTreeMap::new();
    for el in nodes(doc).filter(|e| !timing(e)) {
        let mut attrs: Vec<&str> = el.value().attrs().map(|(k, _)| k).collect();
        attrs.sort_unstable();
        *out.entry(format!("{}[{}]", el.value().name(), attrs.join(",")))
            .or_default() += 1;
    }
    out
}

/// Fails unless the page is inert: no event handler, no element we never render, no script URL,
/// no class made from a value, no script that is not ours, none broken out of.
fn assert_inert(path: &str, html: &str, nonce: &str) -> Html {
    let doc = Html::parse_document(html);
    let mut scripts = 0;
    for el in nodes(&doc) {
        let e = el.value();
        let name = e.name();
        for (attr, value) in e.attrs() {
            assert!(
                !attr.to_ascii_lowercase().starts_with("on"),
                "{path}: an event handler: <{name} {attr}={value:?}>"
            );
            if URL_ATTRS.contains(&attr) {
                assert!(safe_url(value), "{path}: <{name} {attr}={value:?}>");
            }
        }
        // Our class names are plain words: one with markup in it was made from a value, and
        // could pick up (or shed) any style.
        for class in e.classes() {
            assert!(
                class
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{path}: a class from a value: <{name} class={:?}>",
                e.attr("class").unwrap_or_default()
            );
        }
        assert!(
            !NEVER.contains(&name),
            "{path}: an <{name}> element: {}",
            el.html()
        );
        assert!(
            !(name == "meta" && e.attr("http-equiv").is_some()),
            "{path}: {}",
            el.html()
        );
        if name == "script" {
            scripts += 1;
            let text = el.text().collect::<String>();
            let ours = if e.attr("src").is_some() {
                e.attr("src").is_some_and(|s| s.starts_with("/pkg/")) && text.is_empty()
            } else {
                e.attr("nonce") == Some(nonce) && LEPTOS_SCRIPTS.iter().any(|p| text.starts_with(p))
            };
            assert!(ours, "{path}: a script that is not ours: {}", el.html());
            let text = text.to_ascii_lowercase();
            for bad in [
                "</script",
                "<img",
                "<svg",
                "<iframe",
                "</textarea",
                "</title",
            ] {
                assert!(!text.contains(bad), "{path}: {bad} inside a script: {text}");
            }
        }
    }
    // A script end tag inside a value would have closed a script early: the raw page would
    // then hold more `<script` than the parser found elements (or markup the checks above saw).
    assert_eq!(
        html.to_ascii_lowercase().matches("<script").count(),
        scripts,
        "{path}: script tags in the text"
    );
    doc
}

/// Everything the page shows as text (text nodes outside scripts, textarea contents included)
/// and every attribute value.
fn shown(doc: &Html) -> Vec<String> {
    let mut out = vec![];
    for node in doc.tree.nodes() {
        match node.value() {
            Node::Text(t) => {
                let in_script = node
                    .ancestors()
                    .any(|a| a.value().as_element().is_some_and(|e| e.name() == "script"));
                if !in_script {
                    out.push(t.to_string());
                }
            }
            Node::Element(e) if e.name() != "script" => {
                out.extend(e.attrs().map(|(_, v)| v.to_string()));
            }
            _ => {}
        }
    }
    out
}

/// The page shows each of `values` whole, as text or in an attribute.
fn assert_shown(path: &str, doc: &Html, values: &[String]) {
    let shown = shown(doc);
    for v in values {
        assert!(
            shown.iter().any(|s| s.contains(v.as_str())),
            "{path}: {v:?} is not shown as text"
        );
    }
}

/// The page's data for the browser (the resources Leptos serialises into its scripts) carries
/// each of `values`: JSON in a JS string literal, `<` as `\u003c`, at one or two levels of
/// JSON (a value inside a block's JSON document).
fn assert_in_data(path: &str, doc: &Html, values: &[String]) {
    let scripts: String = nodes(doc)
        .filter(|e| e.value().name() == "script")
        .flat_map(|e| e.text())
        .collect();
    let json_inner = |s: &str| {
        let j = serde_json::to_string(s).expect("json");
        j[1..j.len() - 1].to_string()
    };
    for v in values {
        let found = [json_inner(v), json_inner(&json_inner(v))]
            .iter()
            .any(|json| {
                let js = format!("{:?}", json.replace('<', "\\u003c"));
                scripts.contains(&js[1..js.len() - 1])
            });
        assert!(found, "{path}: {v:?} is not in the page's data");
    }
}

// ---- the tests ---------------------------------------------------------------------------------

/// The finding: notes `</textarea><img src=x onerror=alert(1)>` came back as live markup on the
/// person page, because tachys writes a textarea's children unescaped. They must stay the
/// textarea's text, and a plain form post (before hydration) must carry them back unchanged.
#[tokio::test]
async fn person_notes_stay_the_text_of_their_textarea() {
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    app.connect_to_fake(&op, &fake, "5").await;
    let notes = format!("first line\n{LONG}\n&amp; last");
    let created = ok(
        app.call(
            &op,
            "operator/persons/create",
            &[
                ("form[username]", "ada"),
                ("form[display_name]", "Ada"),
                ("form[notes]", &notes),
            ],
        )
        .await,
        "person",
    );
    let CreateOutcome::Created(person) = created.json() else {
        panic!("{}", created.body)
    };
    let path = format!("/persons/{}", person.id);
    let page = |c: reqwest::Client| {
        let url = app.url(&path);
        async move {
            let res = c.get(url).send().await.expect("page");
            assert_eq!(res.status(), 200);
            res.text().await.expect("body")
        }
    };
    let html = page(op.clone()).await;
    let doc = Html::parse_document(&html);
    let textarea = nodes(&doc)
        .find(|e| e.value().name() == "textarea" && e.value().attr("name") == Some("notes"))
        .expect("the notes textarea");
    assert_eq!(textarea.text().collect::<String>(), notes);
    for never in ["img", "svg", "iframe"] {
        assert!(
            nodes(&doc).all(|e| e.value().name() != never),
            "an <{never}> on the page"
        );
    }

    // The edit form as a browser without the wasm posts it.
    let form = nodes(&doc)
        .find(|e| e.value().name() == "form" && e.value().attr("aria-label") == Some("Edit person"))
        .expect("the edit form");
    let action = form.value().attr("action").expect("action").to_string();
    let mut fields: Vec<(String, String)> = vec![];
    for el in form.descendants().filter_map(ElementRef::wrap) {
        let e = el.value();
        let Some(name) = e.attr("name") else { continue };
        match e.name() {
            "input" => fields.push((name.into(), e.attr("value").unwrap_or_default().into())),
            "textarea" => fields.push((name.into(), el.text().collect())),
            _ => {}
        }
    }
    assert!(fields.iter().any(|(k, _)| k == "notes"), "{fields:?}");
    // Only the display name is changed: the save must go through and keep the notes.
    for (k, v) in fields.iter_mut() {
        if k == "display_name" {
            *v = "Ada L".into();
        }
    }
    let res = op
        .post(app.url(&action))
        .header("referer", app.url(&path))
        .form(&fields)
        .send()
        .await
        .expect("post");
    assert!(
        res.status().is_redirection() || res.status().is_success(),
        "{}",
        res.status()
    );
    let html = page(op.clone()).await;
    let doc = Html::parse_document(&html);
    let display = nodes(&doc)
        .find(|e| e.value().name() == "input" && e.value().attr("name") == Some("display_name"))
        .expect("the display name");
    assert_eq!(
        display.value().attr("value"),
        Some("Ada L"),
        "the form was not saved"
    );
    let textarea = nodes(&doc)
        .find(|e| e.value().name() == "textarea" && e.value().attr("name") == Some("notes"))
        .expect("the notes textarea");
    assert_eq!(
        textarea.text().collect::<String>(),
        notes,
        "the notes changed"
    );
}

/// Every page, with hostile values and with harmless ones of the same shape.
#[tokio::test]
async fn every_page_keeps_hostile_values_inert_and_shows_them_as_text() {
    let (hostile, harmless) = (Values { hostile: true }, Values { hostile: false });
    let (bad, good) = tokio::join!(World::build(hostile), World::build(harmless));
    for (page, good_page) in bad.pages(hostile).into_iter().zip(good.pages(harmless)) {
        let path = &page.path;
        let (html, nonce) = bad.get(path, page.client).await;
        let doc = assert_inert(path, &html, &nonce);
        assert_shown(path, &doc, &page.shown);
        assert_in_data(path, &doc, &page.data);

        let (good_html, _) = good.get(&good_page.path, good_page.client).await;
        let (s, g) = (shape(&doc), shape(&Html::parse_document(&good_html)));
        let diff: Vec<String> = s
            .keys()
            .chain(g.keys())
            .filter(|k| s.get(*k) != g.get(*k))
            .map(|k| {
                format!(
                    "{k}: {:?} with hostile values, {:?} with harmless ones",
                    s.get(k),
                    g.get(k)
                )
            })
            .collect();
        assert!(
            diff.is_empty(),
            "{path}: not the page's own markup: {diff:#?}"
        );
    }
}
