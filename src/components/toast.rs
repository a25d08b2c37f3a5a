use std::time::Duration;

use leptos::prelude::*;

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    id: u64,
    kind: ToastKind,
    text: String,
}

/// Success and failure notices, announced to screen readers, gone after a few seconds.
#[derive(Clone, Copy)]
pub struct Toasts {
    list: RwSignal<Vec<Toast>>,
    next: RwSignal<u64>,
}

impl Toasts {
    pub fn provide() -> Toasts {
        let t = Toasts {
            list: RwSignal::new(vec![]),
            next: RwSignal::new(0),
        };
        provide_context(t);
        t
    }

    pub fn push(&self, kind: ToastKind, text: impl Into<String>) {
        let id = self.next.get_untracked();
        self.next.set(id + 1);
        self.list.update(|l| {
            l.push(Toast {
                id,
                kind,
                text: text.into(),
            })
        });
        let list = self.list;
        set_timeout(
            move || list.update(|l| l.retain(|t| t.id != id)),
            Duration::from_secs(if kind == ToastKind::Error { 10 } else { 5 }),
        );
    }

    pub fn success(&self, text: impl Into<String>) {
        self.push(ToastKind::Success, text)
    }

    pub fn error(&self, text: impl Into<String>) {
        self.push(ToastKind::Error, text)
    }

    fn dismiss(&self, id: u64) {
        self.list.update(|l| l.retain(|t| t.id != id));
    }
}

pub fn use_toasts() -> Toasts {
    expect_context::<Toasts>()
}

/// Toasts an action's outcome: `ok(value)` on success, the error otherwise (except a field
/// error, which is shown beside its field).
pub fn toast_outcome<T, S>(value: S, ok: impl Fn(&T) -> String + 'static)
where
    T: 'static,
    S: With<Value = Option<Result<T, AppError>>> + 'static,
{
    let toasts = use_toasts();
    Effect::new(move |_| {
        value.with(|v| match v {
            Some(Ok(v)) => toasts.success(ok(v)),
            Some(Err(AppError::Validation { field: Some(_), .. })) | None => {}
            Some(Err(e)) => toasts.error(e.to_string()),
        })
    });
}

#[component]
pub fn ToastRegion() -> impl IntoView {
    let toasts = use_toasts();
    view! {
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || toasts.list.get() key=|t| t.id let:t>
                <div class="toast" class:error=t.kind == ToastKind::Error>
                    <span>{t.text.clone()}</span>
                    <button
                        type="button"
                        class="toast-close"
                        aria-label="Dismiss"
                        on:click=move |_| toasts.dismiss(t.id)
                    >
                        "×"
                    </button>
                </div>
            </For>
        </div>
    }
}
