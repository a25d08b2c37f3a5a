//! The identity screens' own form pieces: the type choice and the properties editor (rows of
//! key, type, value; add and remove). The general ones are in `components::field`.

use leptos::prelude::*;

use super::model::{prop_field, PropKind, PropertyInput};
use crate::{
    components::field::{error_of, focus},
    error::AppError,
};

#[component]
pub fn KindField(
    id: String,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    use super::model::IdentityKind;
    let err_id = format!("{id}-err");
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>"Type"</label>
            <select
                id=id
                on:change=move |ev| value.set(event_target_value(&ev))
                aria-describedby=err_id.clone()
            >
                {IdentityKind::ALL
                    .into_iter()
                    .map(|k| {
                        view! {
                            <option value=k.as_str() selected=move || value.get() == k.as_str()>
                                {k.label()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <p class="field-error" id=err_id>{move || error.get()}</p>
        </div>
    }
}

/// One row of the editor. Signals, so typing in one row does not redraw the others.
#[derive(Clone, Copy)]
pub struct PropRow {
    pub uid: u64,
    pub key: RwSignal<String>,
    pub kind: RwSignal<PropKind>,
    pub value: RwSignal<String>,
}

/// The editor's state: its rows and a per-editor row counter (deterministic, so the element ids
/// rendered on the server are the ones the browser computes when it hydrates).
#[derive(Clone, Copy)]
pub struct PropRows {
    pub rows: RwSignal<Vec<PropRow>>,
    next: StoredValue<u64>,
}

impl PropRows {
    pub fn new(initial: &[PropertyInput]) -> Self {
        let this = PropRows {
            rows: RwSignal::new(vec![]),
            next: StoredValue::new(0),
        };
        this.reset(initial);
        this
    }

    fn make(&self, p: &PropertyInput) -> PropRow {
        let uid = self.next.get_value();
        self.next.set_value(uid + 1);
        PropRow {
            uid,
            key: RwSignal::new(p.key.clone()),
            kind: RwSignal::new(p.kind),
            value: RwSignal::new(p.value.clone()),
        }
    }

    pub fn reset(&self, props: &[PropertyInput]) {
        let rows: Vec<PropRow> = props.iter().map(|p| self.make(p)).collect();
        self.rows.set(rows);
    }

    /// Adds an empty text row; returns its uid.
    pub fn add(&self) -> u64 {
        let row = self.make(&PropertyInput::default());
        self.rows.update(|r| r.push(row));
        row.uid
    }

    /// The rows as the server wants them (tracked: use inside reactive closures).
    pub fn inputs(&self) -> Vec<PropertyInput> {
        self.rows.with(|rows| {
            rows.iter()
                .map(|r| PropertyInput {
                    key: r.key.get(),
                    kind: r.kind.get(),
                    value: r.value.get(),
                })
                .collect()
        })
    }

    /// The element id of the control for a field name like `properties.1.value`.
    pub fn element_id(&self, prefix: &str, field: &str) -> Option<String> {
        let mut parts = field.split('.');
        if parts.next() != Some("properties") {
            return None;
        }
        let index: usize = parts.next()?.parse().ok()?;
        let part = parts.next()?;
        let uid = self.rows.with_untracked(|r| r.get(index).map(|r| r.uid))?;
        Some(format!("{prefix}-{uid}-{part}"))
    }
}

#[component]
pub fn PropertiesEditor(
    /// Element id prefix, unique on the page.
    prefix: &'static str,
    state: PropRows,
    #[prop(into)] errors: Signal<Vec<(String, String)>>,
    /// Cleared when a row goes (its index-based server error would point at the wrong row).
    server_error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let rows = state.rows;
    let add = move |_| {
        let uid = state.add();
        focus(format!("{prefix}-{uid}-key"));
    };
    let list_err = move || errors.with(|e| error_of(e, "properties"));
    view! {
        <fieldset class="props">
            <legend>"Properties"</legend>
            {move || {
                rows.with(Vec::is_empty)
                    .then(|| view! { <p class="muted props-empty">"No properties."</p> })
            }}
            <For each=move || rows.get() key=|r| r.uid let:row>
                <PropRowView prefix row rows errors server_error/>
            </For>
            <p class="field-error" role="alert">{list_err}</p>
            <button type="button" class="btn" on:click=add>"Add property"</button>
        </fieldset>
    }
}

#[component]
fn PropRowView(
    prefix: &'static str,
    row: PropRow,
    rows: RwSignal<Vec<PropRow>>,
    errors: Signal<Vec<(String, String)>>,
    server_error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let uid = row.uid;
    let index = move || rows.with(|v| v.iter().position(|r| r.uid == uid).unwrap_or(0));
    let key_err = move || errors.with(|e| error_of(e, &prop_field(index(), "key")));
    let value_err = move || errors.with(|e| error_of(e, &prop_field(index(), "value")));
    let key_id = format!("{prefix}-{uid}-key");
    let kind_id = format!("{prefix}-{uid}-kind");
    let value_id = format!("{prefix}-{uid}-value");
    let key_err_id = format!("{key_id}-err");
    let value_err_id = format!("{value_id}-err");
    let remove = move |_| {
        rows.update(|v| v.retain(|r| r.uid != uid));
        server_error.set(None);
    };
    let remove_label = move || {
        let k = row.key.get();
        if k.trim().is_empty() {
            format!("Remove property {}", index() + 1)
        } else {
            format!("Remove property {}", k.trim())
        }
    };
    let set_kind = move |ev| {
        let Some(kind) = PropKind::parse(&event_target_value(&ev)) else {
            return;
        };
        row.kind.set(kind);
        // A yes/no value is picked from a list: start it at a valid choice.
        if kind == PropKind::Boolean
            && !matches!(row.value.get_untracked().trim(), "true" | "false")
        {
            row.value.set("true".into());
        }
    };
    let value_input = {
        let (value_id, value_err_id) = (value_id.clone(), value_err_id.clone());
        move || {
            let (id, err_id) = (value_id.clone(), value_err_id.clone());
            let invalid = move || value_err().map(|_| "true");
            let on_input = move |ev| row.value.set(event_target_value(&ev));
            match row.kind.get() {
                PropKind::Boolean => view! {
                    <select id=id aria-describedby=err_id on:change=on_input>
                        {["true", "false"]
                            .into_iter()
                            .map(|b| view! { <option value=b selected=move || row.value.get().trim() == b>{b}</option> })
                            .collect_view()}
                    </select>
                }
                .into_any(),
                PropKind::Json => view! {
                    <textarea
                        id=id
                        rows="2"
                        spellcheck="false"
                        placeholder="{\"lang\": \"fr\"}"
                        prop:value=row.value
                        on:input=on_input
                        aria-invalid=invalid
                        aria-describedby=err_id
                    ></textarea>
                }
                .into_any(),
                PropKind::Number => view! {
                    <input
                        id=id
                        type="text"
                        inputmode="decimal"
                        autocomplete="off"
                        placeholder="42"
                        prop:value=row.value
                        on:input=on_input
                        aria-invalid=invalid
                        aria-describedby=err_id
                    />
                }
                .into_any(),
                PropKind::String => view! {
                    <input
                        id=id
                        type="text"
                        autocomplete="off"
                        prop:value=row.value
                        on:input=on_input
                        aria-invalid=invalid
                        aria-describedby=err_id
                    />
                }
                .into_any(),
            }
        }
    };
    view! {
        <div class="prop-row" role="group" aria-label=move || format!("Property {}", index() + 1)>
            <div class="field" class:invalid=move || key_err().is_some()>
                <label for=key_id.clone()>"Key"</label>
                <input
                    id=key_id
                    type="text"
                    autocomplete="off"
                    prop:value=row.key
                    on:input=move |ev| row.key.set(event_target_value(&ev))
                    aria-invalid=move || key_err().map(|_| "true")
                    aria-describedby=key_err_id.clone()
                />
                <p class="field-error" id=key_err_id>{key_err}</p>
            </div>
            <div class="field">
                <label for=kind_id.clone()>"Type"</label>
                <select id=kind_id on:change=set_kind>
                    {PropKind::ALL
                        .into_iter()
                        .map(|k| view! { <option value=k.as_str() selected=move || row.kind.get() == k>{k.label()}</option> })
                        .collect_view()}
                </select>
            </div>
            <div class="field prop-value" class:invalid=move || value_err().is_some()>
                <label for=value_id>"Value"</label>
                {value_input}
                <p class="field-error" id=value_err_id>{value_err}</p>
            </div>
            <button type="button" class="btn ghost prop-remove" on:click=remove aria-label=remove_label>
                "Remove"
            </button>
        </div>
    }
}
