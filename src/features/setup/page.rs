use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    auth::api::{get_setup_status, Setup},
    components::field::{field_error, form_error, Field, FormAlert},
};

#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let setup = ServerAction::<Setup>::new();
    let status = Resource::new(move || setup.version().get(), |_| get_setup_status());
    let value = setup.value();
    let pending = setup.pending();
    let done = move || matches!(value.get(), Some(Ok(())));
    view! {
        <Title text="First-run setup"/>
        <main class="auth-page">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let needed = status.await.map(|s| s.needed).unwrap_or(false);
                    if done() {
                        view! {
                            <section class="card auth-card">
                                <h1>"Admin created"</h1>
                                <p>"The setup page is now closed. Sign in with your new account."</p>
                                <a class="btn primary" href="/login">"Sign in"</a>
                            </section>
                        }
                            .into_any()
                    } else if !needed {
                        view! {
                            <section class="card auth-card">
                                <h1>"Setup is complete"</h1>
                                <p>
                                    "An admin account exists. Ask an admin for an account, or reset a password with "
                                    <code>"letta-admin reset-password <name>"</code> "."
                                </p>
                                <a class="btn primary" href="/login">"Sign in"</a>
                            </section>
                        }
                            .into_any()
                    } else {
                        view! {
                            <ActionForm action=setup attr:class="card auth-card" attr:aria-label="Create the first admin">
                                <h1>"Create the first admin"</h1>
                                <p class="muted">
                                    "This page works once, with the setup token printed in the server log."
                                </p>
                                <Field
                                    label="Setup token"
                                    name="token"
                                    value=token()
                                    required=true
                                    autocomplete="off"
                                />
                                <Field
                                    label="Username"
                                    name="username"
                                    autocomplete="username"
                                    required=true
                                    hint="2–32 characters: a–z, 0–9, '.', '_' or '-'"
                                    error=field_error(value, "username")
                                />
                                <Field
                                    label="Password"
                                    name="password"
                                    kind="password"
                                    autocomplete="new-password"
                                    required=true
                                    hint="At least 10 characters"
                                    error=field_error(value, "password")
                                />
                                <Field
                                    label="Repeat the password"
                                    name="confirm"
                                    kind="password"
                                    autocomplete="new-password"
                                    required=true
                                    error=field_error(value, "confirm")
                                />
                                <FormAlert message=form_error(value)/>
                                <button type="submit" class="btn primary wide" disabled=pending>
                                    {move || if pending.get() { "Creating…" } else { "Create admin" }}
                                </button>
                            </ActionForm>
                        }
                            .into_any()
                    }
                })}
            </Suspense>
        </main>
    }
}
