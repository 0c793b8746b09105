//! `/invite?token=…`: accept an invitation, with a new account or as the signed-in user.

use crate::{
    api::{
        invites::{AcceptInvite, preview_invite},
        session::current_user,
    },
    components::form::{Field, FormAlert, last_error},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

/// The invitation page.
#[component]
pub fn AcceptInvite() -> impl IntoView {
    let q = use_query_map();
    let token = Memo::new(move |_| q.read().get("token").unwrap_or_default());
    let preview = Resource::new(move || token.get(), preview_invite);
    let user = Resource::new(|| (), |_| current_user());
    let action = ServerAction::<AcceptInvite>::new();
    let error = last_error(action);

    view! {
        <Title text="Invitation" />
        <section class="card narrow">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let user = user.await.ok().flatten();
                    match preview.await {
                        Err(e) => view! {
                            <h1>"This invitation cannot be used"</h1>
                            <p class="alert">{e.for_field("token").unwrap_or_else(|| e.to_string())}</p>
                            <p class="muted">"Ask the person who invited you to send a new one."</p>
                        }.into_any(),
                        Ok(p) => {
                            let signed_in_as_other = user.as_ref().is_some_and(|u| u.email != p.email);
                            let needs_password = user.is_none() && !p.account_exists;
                            let needs_sign_in = user.is_none() && p.account_exists;
                            let next = format!("/invite?token={}", token.get_untracked());
                            view! {
                                <h1>"Join " {p.org_name.clone()}</h1>
                                <p>
                                    "You are invited as " <strong>{p.role.as_str()}</strong>
                                    " with the address " <strong>{p.email.clone()}</strong> "."
                                </p>
                                {if signed_in_as_other {
                                    view! { <p class="alert">"You are signed in with another address. Sign out, then open this link again."</p> }.into_any()
                                } else if needs_sign_in {
                                    view! {
                                        <p>"This address already has a Moat account."</p>
                                        <a class="button" href=format!("/login?next={}", urlencode(&next))>"Sign in to accept"</a>
                                    }.into_any()
                                } else {
                                    view! {
                                        <ActionForm action attr:class="stack" attr:novalidate=true>
                                            <input type="hidden" name="token" value=token.get_untracked() />
                                            {needs_password.then(|| view! {
                                                <Field name="password" label="Choose a password" kind="password" autocomplete="new-password" hint="At least 10 characters." error />
                                            })}
                                            <p class="field-error" role="alert">{move || error.get().and_then(|e| e.for_field("token"))}</p>
                                            <FormAlert error />
                                            <button type="submit" disabled=move || action.pending().get()>"Accept invitation"</button>
                                        </ActionForm>
                                    }.into_any()
                                }}
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
            <p class="muted"><A href="/">"What is Moat?"</A></p>
        </section>
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
