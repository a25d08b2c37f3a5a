use leptos::prelude::*;
use leptos_meta::Title;

use super::api::{
    get_settings, Provenance, SaveSettings, SettingsForm, SettingsView, TestConnection,
};
use crate::{
    auth::Role,
    components::{format::datetime_utc, layout::RequireRole, toast::toast_outcome},
    error::AppError,
};

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <Title text="Settings"/>
        <RequireRole role=Role::Operator>
            <Settings/>
        </RequireRole>
    }
}

fn provenance_text(p: &Provenance) -> String {
    match p.source.as_str() {
        "default" => "Not set yet.".into(),
        "environment" => format!(
            "From the environment on first start, {}.",
            p.updated_at.map(datetime_utc).unwrap_or_default()
        ),
        _ => format!(
            "Changed by {} on {}.",
            p.updated_by.clone().unwrap_or_else(|| "someone".into()),
            p.updated_at.map(datetime_utc).unwrap_or_default()
        ),
    }
}

#[component]
fn Settings() -> impl IntoView {
    let settings = Resource::new(|| (), |_| get_settings());
    view! {
        <section class="page narrow">
            <h1>"Letta server"</h1>
            <p class="muted">
                "The dashboard talks to one Letta server. Changes apply to every request at once."
            </p>
            <Suspense fallback=|| view! { <p class="loading">"Loading settings…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(s) => view! { <SettingsEditor initial=s/> }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn SettingsEditor(initial: SettingsView) -> impl IntoView {
    let current = RwSignal::new(initial.clone());
    let base_url = RwSignal::new(initial.base_url.clone());
    let password = RwSignal::new(String::new());
    let clear = RwSignal::new(false);
    let timeout = RwSignal::new(initial.timeout_secs.to_string());
    let save = ServerAction::<SaveSettings>::new();
    let test = ServerAction::<TestConnection>::new();
    let refresh =
        use_context::<crate::components::connection_badge::BadgeState>().map(|b| b.refresh);
    toast_outcome(save.value(), |_| "Settings saved".into());

    let form = move || SettingsForm {
        base_url: base_url.get_untracked(),
        password: password.get_untracked(),
        clear_password: clear.get_untracked().then(|| "on".to_string()),
        timeout_secs: timeout.get_untracked(),
    };
    Effect::new(move |_| {
        if let Some(Ok(view)) = save.value().get() {
            current.set(view);
            password.set(String::new());
            clear.set(false);
            if let Some(r) = refresh {
                r.update(|n| *n += 1);
            }
        }
    });
    // The latest outcome of either action decides which field errors show.
    let last_error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| {
        if let Some(r) = save.value().get() {
            last_error.set(r.err());
        }
    });
    Effect::new(move |_| {
        if let Some(r) = test.value().get() {
            last_error.set(r.err());
        }
    });
    let field_err = move |f: &'static str| move || last_error.get().and_then(|e| e.for_field(f));
    let form_err = move || {
        last_error
            .get()
            .filter(|e| e.for_field("base_url").is_none() && e.for_field("timeout_secs").is_none())
            .map(|e| e.to_string())
    };
    let busy = move || save.pending().get() || test.pending().get();

    view! {
        <form
            class="card settings"
            aria-label="Letta server settings"
            on:submit=move |ev| {
                ev.prevent_default();
                save.dispatch(SaveSettings { form: form() });
            }
        >
            <div class="field" class:invalid=move || field_err("base_url")().is_some()>
                <label for="letta-url">"Server URL"</label>
                <input
                    id="letta-url"
                    name="base_url"
                    type="url"
                    required
                    placeholder="https://letta.example.com:8283"
                    prop:value=base_url
                    on:input=move |ev| base_url.set(event_target_value(&ev))
                    aria-describedby="letta-url-from letta-url-err"
                    aria-invalid=move || field_err("base_url")().map(|_| "true")
                />
                <p class="hint" id="letta-url-from">{move || provenance_text(&current.get().base_url_from)}</p>
                <p class="field-error" id="letta-url-err">{field_err("base_url")}</p>
            </div>
            <div class="field">
                <label for="letta-password">"Password"</label>
                <input
                    id="letta-password"
                    name="password"
                    type="password"
                    autocomplete="new-password"
                    placeholder=move || if current.get().password_set { "Leave empty to keep the saved password" } else { "The server's password" }
                    prop:value=password
                    on:input=move |ev| password.set(event_target_value(&ev))
                    disabled=clear
                    aria-describedby="letta-password-state"
                />
                <p class="hint" id="letta-password-state">
                    <span class="badge" class:ok=move || current.get().password_set data-testid="password-state">
                        {move || if current.get().password_set { "set" } else { "not set" }}
                    </span>
                    " "
                    {move || provenance_text(&current.get().password_from)}
                    " The password is write-only: it is stored encrypted and never shown."
                </p>
                <label class="check">
                    <input type="checkbox" prop:checked=clear on:change=move |ev| clear.set(event_target_checked(&ev))/>
                    "Clear the saved password"
                </label>
            </div>
            <div class="field" class:invalid=move || field_err("timeout_secs")().is_some()>
                <label for="letta-timeout">"Request timeout (seconds)"</label>
                <input
                    id="letta-timeout"
                    name="timeout_secs"
                    type="number"
                    min="1"
                    max="600"
                    required
                    prop:value=timeout
                    on:input=move |ev| timeout.set(event_target_value(&ev))
                    aria-describedby="letta-timeout-from letta-timeout-err"
                />
                <p class="hint" id="letta-timeout-from">{move || provenance_text(&current.get().timeout_from)}</p>
                <p class="field-error" id="letta-timeout-err">{field_err("timeout_secs")}</p>
            </div>
            <p class="form-error" role="alert">{form_err}</p>
            <div class="connection-result" role="status" aria-live="polite" data-testid="connection-result">
                {move || {
                    if test.pending().get() {
                        return view! { <p class="muted">"Testing the connection…"</p> }.into_any();
                    }
                    match test.value().get() {
                        Some(Ok(r)) => view! {
                            <p class=if r.ok { "result ok" } else { "result bad" }>{r.message}</p>
                        }
                            .into_any(),
                        _ => ().into_any(),
                    }
                }}
            </div>
            <div class="actions">
                <button
                    type="button"
                    class="btn"
                    disabled=busy
                    on:click=move |_| {
                        test.dispatch(TestConnection { form: form() });
                    }
                >
                    "Test connection"
                </button>
                <button type="submit" class="btn primary" disabled=busy>
                    {move || if save.pending().get() { "Saving…" } else { "Save" }}
                </button>
            </div>
        </form>
    }
}
