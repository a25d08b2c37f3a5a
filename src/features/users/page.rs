use crate::components::time::Time;
use leptos::{html, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{
    list_users, CreateUser, DeleteUser, ResetUserPassword, SetUserDisabled, SetUserRole,
    UserSummary,
};
use crate::{
    auth::Role,
    components::{
        confirm::ConfirmButton,
        field::{field_error, form_error, Field, FormAlert},
        layout::{use_user, RequireRole},
        pager::{Href, Pager},
        toast::toast_outcome,
    },
};

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Title text="Users"/>
        <RequireRole role=Role::Admin>
            <Users/>
        </RequireRole>
    }
}

/// Every action that changes the list, so the table refetches after any of them.
#[derive(Clone, Copy)]
struct UserActions {
    create: ServerAction<CreateUser>,
    role: ServerAction<SetUserRole>,
    disabled: ServerAction<SetUserDisabled>,
    reset: ServerAction<ResetUserPassword>,
    delete: ServerAction<DeleteUser>,
}

impl UserActions {
    fn version(&self) -> usize {
        self.create.version().get()
            + self.role.version().get()
            + self.disabled.version().get()
            + self.reset.version().get()
            + self.delete.version().get()
    }
}

#[component]
fn Users() -> impl IntoView {
    let actions = UserActions {
        create: ServerAction::new(),
        role: ServerAction::new(),
        disabled: ServerAction::new(),
        reset: ServerAction::new(),
        delete: ServerAction::new(),
    };
    toast_outcome(actions.create.value(), |u| {
        format!("Created {}", u.username)
    });
    toast_outcome(actions.role.value(), |_| "Role changed".into());
    toast_outcome(actions.disabled.value(), |_| "Account updated".into());
    toast_outcome(actions.reset.value(), |_| {
        "Password reset; their sessions have ended".into()
    });
    toast_outcome(actions.delete.value(), |_| "User deleted".into());

    let query = use_query_map();
    let search = move || query.read().get("q").unwrap_or_default();
    let after = move || query.read().get("after").filter(|a| !a.is_empty());
    let page = Resource::new(
        move || (search(), after(), actions.version()),
        |(q, after, _)| list_users(q, after),
    );
    let href = |q: &str, after: Option<&str>| {
        Href::new("/users")
            .param("q", q)
            .opt("after", after)
            .build()
    };

    view! {
        <section class="page">
            <div class="page-head">
                <h1>"Users"</h1>
                <CreateUserForm action=actions.create/>
            </div>
            // A GET form: the search goes into the URL (shareable, survives a reload).
            <form class="toolbar" role="search" method="get" action="/users">
                <label for="user-search">"Search users"</label>
                <input id="user-search" type="search" name="q" value=search placeholder="username"/>
                <button type="submit" class="btn">"Search"</button>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Loading users…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(p) if p.users.is_empty() => view! { <p class="empty">"No users match."</p> }.into_any(),
                        Ok(p) => {
                            let next = p.next_after.clone();
                            let q = search();
                            let first = after().is_some();
                            view! {
                                <div class="table-wrap">
                                    <table>
                                        <thead>
                                            <tr>
                                                <th scope="col">"Username"</th>
                                                <th scope="col">"Role"</th>
                                                <th scope="col">"Status"</th>
                                                <th scope="col">"Created"</th>
                                                <th scope="col">"Actions"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {p.users.into_iter().map(|u| view! { <UserRow user=u actions/> }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                <Pager first=first.then(|| href(&q, None)) older=next.map(|n| href(&q, Some(&n))) older_label="Next page"/>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn CreateUserForm(action: ServerAction<CreateUser>) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    let value = action.value();
    Effect::new(move |_| {
        if let Some(Ok(_)) = value.get() {
            if let Some(d) = dialog.get() {
                d.close();
            }
        }
    });
    view! {
        <button
            type="button"
            class="btn primary"
            on:click=move |_| {
                if let Some(d) = dialog.get() {
                    let _ = d.show_modal();
                }
            }
        >
            "New user"
        </button>
        <dialog node_ref=dialog class="dialog" aria-label="New user">
            <ActionForm action=action>
                <h2>"New user"</h2>
                <Field
                    label="Username"
                    name="username"
                    id="new-user-username"
                    required=true
                    autocomplete="off"
                    error=field_error(value, "username")
                />
                <Field
                    label="Password"
                    name="password"
                    id="new-user-password"
                    kind="password"
                    autocomplete="new-password"
                    required=true
                    hint="At least 10 characters"
                    error=field_error(value, "password")
                />
                <div class="field">
                    <label for="new-user-role">"Role"</label>
                    <select id="new-user-role" name="role">
                        <option value="staff">"Staff: chat; read persons and agents"</option>
                        <option value="operator">"Operator: settings, identities, persons, agents"</option>
                        <option value="admin">"Admin: everything, including users"</option>
                    </select>
                </div>
                <FormAlert message=form_error(value)/>
                <div class="actions">
                    <button
                        type="button"
                        class="btn"
                        on:click=move |_| {
                            if let Some(d) = dialog.get() {
                                d.close();
                            }
                        }
                    >
                        "Cancel"
                    </button>
                    <button type="submit" class="btn primary" disabled=action.pending()>
                        {move || if action.pending().get() { "Creating…" } else { "Create user" }}
                    </button>
                </div>
            </ActionForm>
        </dialog>
    }
}

#[component]
fn UserRow(user: UserSummary, actions: UserActions) -> impl IntoView {
    let me = use_user();
    let is_me = me.id == user.id;
    let id = user.id;
    let name = user.username.clone();
    let reset_dialog = NodeRef::<html::Dialog>::new();
    let reset_value = actions.reset.value();
    Effect::new(move |_| {
        if let Some(Ok(())) = reset_value.get() {
            if let Some(d) = reset_dialog.get() {
                d.close();
            }
        }
    });
    let role_select_id = format!("role-{id}");
    let reset_title = format!("Reset the password of {name}");
    let reset_label = reset_title.clone();
    view! {
        <tr>
            <td>
                {user.username.clone()}
                {is_me.then(|| view! { <span class="badge">"you"</span> })}
            </td>
            <td>
                <label class="visually-hidden" for=role_select_id.clone()>{format!("Role of {name}")}</label>
                <select
                    id=role_select_id
                    disabled=is_me
                    on:change=move |ev| {
                        if let Some(role) = Role::parse(&event_target_value(&ev)) {
                            actions.role.dispatch(SetUserRole { id, role });
                        }
                    }
                >
                    {Role::ALL
                        .into_iter()
                        .map(|r| view! { <option value=r.as_str() selected=r == user.role>{r.label()}</option> })
                        .collect_view()}
                </select>
            </td>
            <td>
                {if user.disabled {
                    view! { <span class="badge warn">"disabled"</span> }.into_any()
                } else {
                    view! { <span class="badge ok">"active"</span> }.into_any()
                }}
            </td>
            <td><Time ms=user.created_at/></td>
            <td>
                <div class="row-actions">
                {if user.disabled {
                    view! {
                        <button
                            type="button"
                            class="btn"
                            on:click=move |_| {
                                actions.disabled.dispatch(SetUserDisabled { id, disabled: false });
                            }
                        >
                            "Enable"
                        </button>
                    }
                        .into_any()
                } else {
                    view! {
                        <ConfirmButton
                            label="Disable"
                            title=format!("Disable {name}?")
                            message=format!("{name} is signed out at once and cannot sign in until enabled again.")
                            confirm_label="Disable"
                            danger=true
                            disabled=is_me
                            on_confirm=Callback::new(move |_| {
                                actions.disabled.dispatch(SetUserDisabled { id, disabled: true });
                            })
                        />
                    }
                        .into_any()
                }}
                <button
                    type="button"
                    class="btn"
                    on:click=move |_| {
                        if let Some(d) = reset_dialog.get() {
                            let _ = d.show_modal();
                        }
                    }
                >
                    "Reset password"
                </button>
                <dialog node_ref=reset_dialog class="dialog" aria-label=reset_label>
                    <ActionForm action=actions.reset>
                        <h2>{reset_title}</h2>
                        <p>"Their current sessions end; tell them the new password."</p>
                        <input type="hidden" name="id" value=id/>
                        <Field
                            label="New password"
                            name="password"
                            id=format!("reset-password-{id}")
                            kind="password"
                            autocomplete="new-password"
                            required=true
                            hint="At least 10 characters"
                            error=field_error(reset_value, "password")
                        />
                        <div class="actions">
                            <button
                                type="button"
                                class="btn"
                                on:click=move |_| {
                                    if let Some(d) = reset_dialog.get() {
                                        d.close();
                                    }
                                }
                            >
                                "Cancel"
                            </button>
                            <button type="submit" class="btn primary">"Reset password"</button>
                        </div>
                    </ActionForm>
                </dialog>
                <ConfirmButton
                    label="Delete"
                    title=format!("Delete {name}?")
                    message=format!("The account {name} is removed for good. Their audit entries stay.")
                    confirm_label="Delete user"
                    danger=true
                    disabled=is_me
                    on_confirm=Callback::new(move |_| {
                        actions.delete.dispatch(DeleteUser { id });
                    })
                />
                </div>
            </td>
        </tr>
    }
}
