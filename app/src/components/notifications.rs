//! The organization's notification settings: each member's own e-mail choice, and (for
//! admins and owners) the signed webhook, the repeat interval and the minimum severity.

use crate::{
    api::problems::{SaveNotifications, SetMyNotifications, get_notifications},
    components::{
        domain::CopyButton,
        form::{Field, FormAlert, last_error},
    },
};
use leptos::prelude::*;
use moat_domain::views::NotificationSettings;

/// The card.
#[component]
pub fn Notifications(org: i64) -> impl IntoView {
    let save = ServerAction::<SaveNotifications>::new();
    let mine = ServerAction::<SetMyNotifications>::new();
    let data = Resource::new(
        move || (org, save.version().get(), mine.version().get()),
        |(org, ..)| get_notifications(org),
    );
    view! {
        <section class="card" id="notifications">
            <h2>"Alerts"</h2>
            <p class="muted small">"Moat watches every domain's TLS reports, records and certificates and tells you when something needs attention, with the evidence and the fix."</p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <p class="alert">{e.to_string()}</p> }.into_any(),
                        Ok(s) => view! { <Forms org s save mine /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Forms(
    org: i64,
    s: NotificationSettings,
    save: ServerAction<SaveNotifications>,
    mine: ServerAction<SetMyNotifications>,
) -> impl IntoView {
    let save_error = last_error(save);
    let mine_error = last_error(mine);
    let choice = |v: &'static str, label: &'static str, current: &str| {
        let selected = current == v;
        view! { <option value=v selected=selected>{label}</option> }
    };
    let severity = |v: &'static str, label: &'static str, current: &str| {
        let selected = current == v;
        view! { <option value=v selected=selected>{label}</option> }
    };
    view! {
        <ActionForm action=mine attr:class="stack" attr:id="my-alerts">
            <input type="hidden" name="org" value=org />
            <label for="my-email">"E-mail me"</label>
            <select id="my-email" name="email">
                {choice("immediate", "at once, for each problem", &s.my_email)}
                {choice("digest", "once a day, a digest of open problems", &s.my_email)}
                {choice("off", "never", &s.my_email)}
            </select>
            <FormAlert error=mine_error />
            <div><button type="submit" class="small secondary">"Save my choice"</button></div>
        </ActionForm>
        {s.can_manage.then(|| view! {
            <h3>"For the whole organization"</h3>
            <ActionForm action=save attr:class="stack" attr:id="org-alerts">
                <input type="hidden" name="org" value=org />
                <Field name="webhook_url" label="Webhook URL" kind="url" required=false value=s.webhook_url.clone().unwrap_or_default()
                    hint="Moat POSTs each new, repeated and resolved problem as JSON, signed with the secret below: header X-Moat-Signature is sha256= HMAC-SHA256 of X-Moat-Timestamp, a dot, and the body." error=save_error />
                {s.webhook_secret.clone().map(|secret| view! {
                    <p class="small">"Signing secret: " <code id="webhook-secret">{secret.clone()}</code> " " <CopyButton text=secret label="Copy the signing secret" /></p>
                    <label class="check"><input type="checkbox" name="rotate" value="on" /><span>"Issue a new secret"</span></label>
                })}
                <Field name="repeat_hours" label="Repeat an open problem every (hours)" kind="number" value=s.repeat_hours.to_string() error=save_error />
                <label for="min-severity">"Alert from severity"</label>
                <select id="min-severity" name="min_severity">
                    {severity("info", "info (everything)", &s.min_severity)}
                    {severity("warning", "warning", &s.min_severity)}
                    {severity("critical", "critical only", &s.min_severity)}
                </select>
                <FormAlert error=save_error />
                <div><button type="submit" class="small">"Save alert settings"</button></div>
            </ActionForm>
        })}
    }
}
