//! Sign-up, sign-in, forgotten and reset passwords.

use crate::{
    api::session::{RequestPasswordReset, ResetPassword, SignIn, SignUp},
    components::form::{Field, FormAlert, last_error},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

fn query(name: &'static str) -> Memo<Option<String>> {
    let q = use_query_map();
    Memo::new(move |_| q.read().get(name))
}

/// `/signup`
#[component]
pub fn SignUp() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = last_error(action);
    let next = query("next");
    view! {
        <Title text="Create account" />
        <section class="card narrow">
            <h1>"Create your Moat account"</h1>
            <p class="muted">"You can create or join organizations right after."</p>
            <ActionForm action attr:class="stack" attr:novalidate=true>
                <input type="hidden" name="next" value=move || next.get() />
                <Field name="email" label="Work e-mail" kind="email" autocomplete="email" error />
                <Field
                    name="password"
                    label="Password"
                    kind="password"
                    autocomplete="new-password"
                    hint="At least 10 characters. A passphrase is easiest to remember."
                    error
                />
                <FormAlert error />
                <button type="submit" disabled=move || action.pending().get()>"Create account"</button>
            </ActionForm>
            <p class="muted">"Already have an account? " <A href="/login">"Sign in"</A></p>
        </section>
    }
}

/// `/login`
#[component]
pub fn SignIn() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let error = last_error(action);
    let next = query("next");
    view! {
        <Title text="Sign in" />
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <ActionForm action attr:class="stack" attr:novalidate=true>
                <input type="hidden" name="next" value=move || next.get() />
                <Field name="email" label="E-mail" kind="email" autocomplete="username" error />
                <Field name="password" label="Password" kind="password" autocomplete="current-password" error />
                <FormAlert error />
                <button type="submit" disabled=move || action.pending().get()>"Sign in"</button>
            </ActionForm>
            <p class="muted">
                <A href="/forgot">"Forgot your password?"</A>
                " · "
                <A href="/signup">"Create an account"</A>
            </p>
        </section>
    }
}

/// `/forgot`
#[component]
pub fn Forgot() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let error = last_error(action);
    let sent = move || matches!(action.value().get(), Some(Ok(())));
    view! {
        <Title text="Reset password" />
        <section class="card narrow">
            <h1>"Reset your password"</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <p class="muted">"Enter your address; if it has an account, we send a link to choose a new password."</p>
                    <ActionForm action attr:class="stack" attr:novalidate=true>
                        <Field name="email" label="E-mail" kind="email" autocomplete="email" error />
                        <FormAlert error />
                        <button type="submit" disabled=move || action.pending().get()>"Send reset link"</button>
                    </ActionForm>
                }
            >
                <p class="notice" role="status">"If this address has an account, a reset link is on its way. It works for one hour."</p>
            </Show>
        </section>
    }
}

/// `/reset?token=…`
#[component]
pub fn Reset() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let error = last_error(action);
    let token = query("token");
    view! {
        <Title text="Choose a new password" />
        <section class="card narrow">
            <h1>"Choose a new password"</h1>
            <ActionForm action attr:class="stack" attr:novalidate=true>
                <input type="hidden" name="token" value=move || token.get() />
                <Field name="password" label="New password" kind="password" autocomplete="new-password" error />
                <p class="field-error" role="alert">{move || error.get().and_then(|e| e.for_field("token"))}</p>
                <FormAlert error />
                <button type="submit" disabled=move || action.pending().get()>"Save password"</button>
            </ActionForm>
        </section>
    }
}
