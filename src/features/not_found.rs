use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <main class="auth-page">
            <section class="card auth-card">
                <h1>"Page not found"</h1>
                <p>"There is no page at this address."</p>
                <a class="btn primary" href="/">"Go to the overview"</a>
            </section>
        </main>
    }
}
