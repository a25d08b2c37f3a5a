use leptos::{html, prelude::*};

/// A button that asks before it acts: a native modal `<dialog>` (focus kept inside, Escape
/// cancels, Cancel has the initial focus so Enter does not destroy anything by accident).
#[component]
pub fn ConfirmButton(
    #[prop(into)] label: String,
    #[prop(into)] title: String,
    #[prop(into)] message: Signal<String>,
    #[prop(into)] confirm_label: String,
    #[prop(optional)] danger: bool,
    #[prop(optional, into)] disabled: Signal<bool>,
    #[prop(optional, into)] aria_label: Option<String>,
    on_confirm: Callback<()>,
) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    let dialog_label = title.clone();
    let open = move |_| {
        if let Some(d) = dialog.get() {
            let _ = d.show_modal();
        }
    };
    let confirm = move |_| {
        if let Some(d) = dialog.get() {
            d.close();
        }
        on_confirm.run(());
    };
    view! {
        <button
            type="button"
            class=if danger { "btn danger" } else { "btn" }
            on:click=open
            disabled=disabled
            aria-label=aria_label
        >
            {label}
        </button>
        <dialog node_ref=dialog class="dialog" aria-label=dialog_label>
            <form method="dialog">
                <h2>{title}</h2>
                <p>{message}</p>
                <div class="actions">
                    <button class="btn" value="cancel" autofocus>"Cancel"</button>
                    <button
                        type="button"
                        class=if danger { "btn danger" } else { "btn primary" }
                        on:click=confirm
                    >
                        {confirm_label}
                    </button>
                </div>
            </form>
        </dialog>
    }
}
