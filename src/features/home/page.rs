use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::layout::{nav_for, use_user};

#[component]
pub fn HomePage() -> impl IntoView {
    let user = use_user();
    let places = nav_for(user.role)
        .into_iter()
        .filter(|(p, _)| *p != "/")
        .collect::<Vec<_>>();
    view! {
        <Title text="Overview"/>
        <section class="page">
            <h1>"Overview"</h1>
            <p>
                "Signed in as " <strong>{user.username.clone()}</strong> " (" {user.role.label()} ")."
            </p>
            <ul class="tiles">
                {places
                    .into_iter()
                    .map(|(href, label)| view! { <li><A href=href>{label}</A></li> })
                    .collect_view()}
            </ul>
        </section>
    }
}
