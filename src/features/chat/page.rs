use leptos::prelude::*;

#[component]
pub fn ChatPage() -> impl IntoView {
    view! { <h1>"Chat"</h1> }
}
