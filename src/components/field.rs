//! The one form kit every screen uses. Two kinds of input share the markup, the labels and
//! the messages beside them (`aria-invalid`, `aria-describedby`):
//!
//! - [`Field`]: a plain input of a form the browser may post itself (sign-in, setup, users,
//!   persons), its message from the action's last result ([`field_error`], [`form_error`]);
//! - [`TextField`], [`AreaField`]: inputs bound to signals, for forms checked in the browser
//!   before they are sent. [`FormCtl`] is such a form's state: the browser's problems once
//!   the user has tried to submit, else the server's; the focus on the first invalid field;
//!   the message that belongs to no field.
//!
//! Errors come as (field, message) pairs with the server's names (`identifier_key`,
//! `properties.2.value`, ...), so a message from either side lands beside its field.

use leptos::prelude::*;

use crate::error::AppError;

/// A labelled input whose server-side validation message appears beside it.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] required: bool,
    #[prop(optional, into)] value: MaybeProp<String>,
    #[prop(optional, into)] placeholder: MaybeProp<String>,
    #[prop(optional, into)] hint: MaybeProp<String>,
    #[prop(into, optional)] error: Signal<Option<String>>,
    /// The element id, when one page has several forms with the same field name.
    #[prop(optional, into)]
    id: Option<String>,
) -> impl IntoView {
    let id = id.unwrap_or_else(|| format!("f-{name}"));
    let err_id = format!("{id}-err");
    let hint_id = format!("{id}-hint");
    let described = {
        let (err_id, hint_id) = (err_id.clone(), hint_id.clone());
        move || {
            described_by(
                &hint_id,
                hint.get().is_some(),
                &err_id,
                error.get().is_some(),
            )
        }
    };
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=(!autocomplete.is_empty()).then_some(autocomplete)
                required=required
                value=move || value.get()
                placeholder=move || placeholder.get()
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=described
            />
            {move || hint.get().map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            {move || error.get().map(|e| view! { <p class="field-error" id=err_id.clone()>{e}</p> })}
        </div>
    }
}

/// The message for `field` from an action's last result, if it failed on that field.
pub fn field_error<T, S>(value: S, field: &'static str) -> Signal<Option<String>>
where
    T: 'static,
    S: With<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || {
        value.with(|v| {
            v.as_ref()
                .and_then(|r| r.as_ref().err())
                .and_then(|e| e.for_field(field))
        })
    })
}

/// The form-level message: an error that does not belong beside a particular field.
pub fn form_error<T, S>(value: S) -> Signal<Option<String>>
where
    T: 'static,
    S: With<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || {
        value.with(|v| match v {
            Some(Err(e @ AppError::Validation { field: Some(_), .. }))
                if e.for_field("").is_none() =>
            {
                None
            }
            Some(Err(e)) => Some(e.to_string()),
            _ => None,
        })
    })
}

/// A form-level alert region (announced to screen readers when it changes).
#[component]
pub fn FormAlert(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <p class="form-error" role="alert" aria-live="assertive">
            {move || message.get()}
        </p>
    }
}

/// The `aria-describedby` of a field: its hint and its message, when it has them.
fn described_by(hint_id: &str, hint: bool, err_id: &str, error: bool) -> Option<String> {
    match (hint, error) {
        (true, true) => Some(format!("{hint_id} {err_id}")),
        (true, false) => Some(hint_id.to_string()),
        (false, true) => Some(err_id.to_string()),
        (false, false) => None,
    }
}

/// The message for `field`, if any.
pub fn error_of(errors: &[(String, String)], field: &str) -> Option<String> {
    errors
        .iter()
        .find(|(f, _)| f == field)
        .map(|(_, m)| m.clone())
}

/// Client-side problems once the user has tried to submit, else the server's field error.
pub fn merged_errors(
    attempted: RwSignal<bool>,
    problems: impl Fn() -> Vec<(String, String)> + Send + Sync + 'static,
    server: RwSignal<Option<AppError>>,
) -> Signal<Vec<(String, String)>> {
    Signal::derive(move || {
        if attempted.get() {
            let p = problems();
            if !p.is_empty() {
                return p;
            }
        }
        match server.get() {
            Some(AppError::Validation {
                field: Some(f),
                message,
            }) => vec![(f, message)],
            _ => vec![],
        }
    })
}

/// The form-level message: a server error that belongs to no field.
pub fn general_error(server: RwSignal<Option<AppError>>) -> Signal<Option<String>> {
    Signal::derive(move || match server.get() {
        Some(AppError::Validation { field: Some(_), .. }) | None => None,
        Some(e) => Some(e.to_string()),
    })
}

/// Moves the keyboard focus to an element (the first invalid field after a refused submit).
pub fn focus(id: String) {
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        use wasm_bindgen::JsCast;
        if let Some(el) = document()
            .get_element_by_id(&id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// A labelled text input bound to a signal, its message beside it.
#[component]
pub fn TextField(
    label: &'static str,
    id: String,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] required: bool,
    #[prop(optional)] kind: Option<&'static str>,
) -> impl IntoView {
    let err_id = format!("{id}-err");
    let hint_id = format!("{id}-hint");
    let described = {
        let (err_id, hint_id) = (err_id.clone(), hint_id.clone());
        move || described_by(&hint_id, hint.is_some(), &err_id, error.get().is_some())
    };
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                type=kind.unwrap_or("text")
                autocomplete="off"
                required=required
                prop:value=value
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || error.get().map(|_| "true")
                aria-describedby=described
            />
            {hint.map(|h| view! { <p class="hint" id=hint_id>{h}</p> })}
            <p class="field-error" id=err_id>{move || error.get()}</p>
        </div>
    }
}

/// A labelled select of identity types bound to a signal (holding the type's text).
/// A labelled textarea bound to a signal, its message beside it.
#[component]
pub fn AreaField(
    label: &'static str,
    id: String,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(default = 3)] rows: u32,
) -> impl IntoView {
    let err_id = format!("{id}-err");
    let hint_id = format!("{id}-hint");
    let described = {
        let (err_id, hint_id) = (err_id.clone(), hint_id.clone());
        move || described_by(&hint_id, hint.is_some(), &err_id, error.get().is_some())
    };
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <textarea
                id=id
                rows=rows
                prop:value=value
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || error.get().map(|_| "true")
                aria-describedby=described
            ></textarea>
            {hint.map(|h| view! { <p class="hint" id=hint_id>{h}</p> })}
            <p class="field-error" id=err_id>{move || error.get()}</p>
        </div>
    }
}

/// A form checked in the browser before it is sent, and answered by the server.
#[derive(Clone, Copy)]
pub struct FormCtl {
    attempted: RwSignal<bool>,
    server: RwSignal<Option<AppError>>,
    problems: Signal<Vec<(String, String)>>,
    errors: Signal<Vec<(String, String)>>,
    id_of: Callback<String, String>,
}

impl FormCtl {
    /// `problems`: what the browser finds wrong with the input now; `id_of`: a field's
    /// element id from its name (where the focus goes).
    pub fn new(
        problems: impl Fn() -> Vec<(String, String)> + Send + Sync + 'static,
        id_of: impl Fn(String) -> String + Send + Sync + 'static,
    ) -> FormCtl {
        let attempted = RwSignal::new(false);
        let server = RwSignal::new(None::<AppError>);
        let problems = Signal::derive(problems);
        FormCtl {
            attempted,
            server,
            problems,
            errors: merged_errors(attempted, move || problems.get(), server),
            id_of: Callback::new(id_of),
        }
    }

    /// Every message beside a field: (field, message).
    pub fn errors(&self) -> Signal<Vec<(String, String)>> {
        self.errors
    }

    /// The message beside `field`.
    pub fn error(&self, field: impl Into<String>) -> Signal<Option<String>> {
        let (errors, field) = (self.errors, field.into());
        Signal::derive(move || errors.with(|e| error_of(e, &field)))
    }

    /// The message above the form: the server's, when it belongs to no field.
    pub fn general(&self) -> Signal<Option<String>> {
        general_error(self.server)
    }

    /// The server's last refusal (`None` after a success or a new submit).
    pub fn server(&self) -> RwSignal<Option<AppError>> {
        self.server
    }

    /// A submit: the form counts as tried and the server's last answer is cleared. `false`
    /// while the browser finds a problem: nothing may be sent, the focus is on its field.
    pub fn submit(&self) -> bool {
        self.attempted.set(true);
        self.server.set(None);
        match self.problems.get_untracked().into_iter().next() {
            Some((field, _)) => {
                focus(self.id_of.run(field));
                false
            }
            None => true,
        }
    }

    /// The server refused: its message beside its field (and the focus there) or above the form.
    pub fn refused(&self, e: AppError) {
        if let AppError::Validation { field: Some(f), .. } = &e {
            focus(self.id_of.run(f.clone()));
        }
        self.server.set(Some(e));
    }

    /// Saved: back to untouched (no message until the next submit).
    pub fn saved(&self) {
        self.attempted.set(false);
        self.server.set(None);
    }
}
