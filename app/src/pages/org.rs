//! `/orgs/:id`: one organization — its domains, members, invitations, client organizations.

use crate::{
    api::{
        domains::list_domains,
        invites::{InviteMember, RevokeInvite},
        orgs::{ChangeRole, CreateClient, RemoveMember, get_org},
    },
    components::{
        domain::StateBadge,
        form::{Field, FormAlert, last_error},
        format_time,
    },
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Redirect};
use moat_domain::{Action, Role, views::OrgDetail};

/// The organization page.
#[component]
pub fn OrgPage() -> impl IntoView {
    let org = super::org_id_param();
    let invite = ServerAction::<InviteMember>::new();
    let revoke = ServerAction::<RevokeInvite>::new();
    let client = ServerAction::<CreateClient>::new();
    let change = ServerAction::<ChangeRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let detail = Resource::new(
        move || {
            (
                org.get(),
                invite.version().get(),
                revoke.version().get(),
                client.version().get(),
                change.version().get(),
                remove.version().get(),
            )
        },
        |(id, ..)| get_org(id),
    );
    let actions = OrgActions {
        invite,
        revoke,
        client,
        change,
        remove,
    };

    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(AppError::Unauthorized { .. }) => {
                        let next = format!("/login?next=/orgs/{}", org.get_untracked());
                        view! { <Redirect path=next /> }.into_any()
                    }
                    Err(AppError::NotFound) => view! { <crate::pages::not_found::NotFound /> }.into_any(),
                    Err(e) => view! { <p class="alert">{e.to_string()}</p> }.into_any(),
                    Ok(d) => view! { <OrgView detail=d actions /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[derive(Clone, Copy)]
struct OrgActions {
    invite: ServerAction<InviteMember>,
    revoke: ServerAction<RevokeInvite>,
    client: ServerAction<CreateClient>,
    change: ServerAction<ChangeRole>,
    remove: ServerAction<RemoveMember>,
}

#[component]
fn OrgView(detail: OrgDetail, actions: OrgActions) -> impl IntoView {
    let org = detail.org.clone();
    let id = org.id.0;
    let role = org.role;
    let title = org.name.clone();
    view! {
        <Title text=title />
        <div class="page-head">
            <div>
                <p class="crumbs">
                    <A href="/orgs">"Organizations"</A>
                    {org.parent.clone().map(|p| {
                        // Members of a client see who manages it; only the MSP's members can open it.
                        if org.via_msp {
                            view! { " / " <a href=format!("/orgs/{}", p.id)>{p.name}</a> }.into_any()
                        } else {
                            view! { " / managed by " {p.name} }.into_any()
                        }
                    })}
                </p>
                <h1>
                    {org.name.clone()}
                    {org.is_msp.then(|| view! { <span class="badge accent">"MSP"</span> })}
                </h1>
                <p class="muted">
                    "Your role: " <strong>{role.as_str()}</strong>
                    {org.via_msp.then_some(" (through your MSP)")}
                </p>
            </div>
            {role.can(Action::ReadAudit).then(|| view! {
                <A href=format!("/orgs/{id}/audit") attr:class="button secondary">"Audit log"</A>
            })}
        </div>

        {view! { <DomainsSummary org=id can_manage=role.can(Action::ManageDomains) /> }.into_any()}

        {org.is_msp.then(|| view! { <Clients detail=detail.clone() action=actions.client /> }.into_any())}

        {view! { <Members detail=detail.clone() actions /> }.into_any()}
        {role.can(Action::InviteMembers).then(|| view! { <Invites detail=detail.clone() actions /> }.into_any())}
        {view! { <crate::components::notifications::Notifications org=id /> }.into_any()}
    }
}

/// The organization's domains at a glance, with the way to the domains page.
#[component]
fn DomainsSummary(org: i64, can_manage: bool) -> impl IntoView {
    let list = Resource::new(move || org, list_domains);
    view! {
        <section class="card" id="org-domains">
            <div class="card-head">
                <h2>"Domains"</h2>
                <span>
                    <A href=format!("/orgs/{org}/overview") attr:class="button small" attr:id="org-overview">"Overview"</A>
                    " "
                    <A href=format!("/orgs/{org}/reports") attr:class="button small secondary">"TLS reports"</A>
                    " "
                    <A href=format!("/orgs/{org}/domains") attr:class="button small secondary">
                        {if can_manage { "Manage domains" } else { "View domains" }}
                    </A>
                </span>
            </div>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <p class="alert">{e.to_string()}</p> }.into_any(),
                        Ok(page) if page.domains.is_empty() => view! {
                            <div class="empty">
                                <p><strong>"No domains yet."</strong></p>
                                <p class="muted">"Add a domain and publish three CNAME records: Moat hosts its MTA-STS policy and receives its TLS reports."</p>
                            </div>
                        }.into_any(),
                        Ok(page) => view! {
                            <ul class="org-list">
                                {page.domains.into_iter().map(|d| view! {
                                    <li>
                                        <a class="org-link" href=format!("/orgs/{org}/domains/{}", d.name)>
                                            <span class="org-name">{d.display_name.clone()}</span>
                                            <StateBadge state=d.state />
                                            {d.policy.as_ref().map(|p| view! { <span class="badge">{p.mode.as_str()}</span> })}
                                        </a>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Clients(detail: OrgDetail, action: ServerAction<CreateClient>) -> impl IntoView {
    let error = last_error(action);
    let can_manage = detail.org.role.can(Action::ManageClients);
    let id = detail.org.id.0;
    view! {
        <section class="card" id="clients">
            <h2>"Client organizations"</h2>
            {if detail.clients.is_empty() {
                view! { <p class="muted">"No clients yet. Each client organization has its own domains and members; you and your colleagues reach all of them from here."</p> }.into_any()
            } else {
                view! {
                    <ul class="org-list">
                        {detail.clients.iter().map(|c| view! {
                            <li><a class="org-link" href=format!("/orgs/{}", c.id)><span class="org-name">{c.name.clone()}</span></a></li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {can_manage.then(|| view! {
                <ActionForm action attr:class="inline-form" attr:novalidate=true>
                    <input type="hidden" name="org" value=id />
                    <Field name="name" label="New client organization" error />
                    <button type="submit" disabled=move || action.pending().get()>"Add client"</button>
                </ActionForm>
                <FormAlert error />
            })}
        </section>
    }
}

#[component]
fn Members(detail: OrgDetail, actions: OrgActions) -> impl IntoView {
    let id = detail.org.id.0;
    let manage = detail.org.role.can(Action::ManageMembers);
    let change_error = last_error(actions.change);
    let remove_error = last_error(actions.remove);
    let via_msp_note = detail.org.parent.clone().map(|p| {
        view! { <p class="muted">"Members of " {p.name} " also manage this organization."</p> }
    });
    view! {
        <section class="card" id="members">
            <h2>"Members"</h2>
            {via_msp_note}
            <div class="table-wrap">
                <table class="table">
                    <thead><tr><th>"E-mail"</th><th>"Role"</th><th class="col-since">"Since"</th>{manage.then(|| view! { <th><span class="sr-only">"Actions"</span></th> })}</tr></thead>
                    <tbody>
                        {detail.members.into_iter().map(|m| {
                            let uid = m.user_id.0;
                            view! {
                                <tr>
                                    <td>{m.email.clone()}</td>
                                    <td>
                                        {if manage {
                                            view! {
                                                <ActionForm action=actions.change attr:class="row-form">
                                                    <input type="hidden" name="org" value=id />
                                                    <input type="hidden" name="user" value=uid />
                                                    <label class="sr-only" for=format!("role-{uid}")>"Role of " {m.email.clone()}</label>
                                                    <select name="role" id=format!("role-{uid}")>
                                                        {Role::ALL.iter().rev().map(|r| view! { <option value=r.as_str() selected=*r == m.role>{r.as_str()}</option> }).collect_view()}
                                                    </select>
                                                    <button type="submit" class="small secondary">"Save"</button>
                                                </ActionForm>
                                            }.into_any()
                                        } else {
                                            view! { <span class="badge role">{m.role.as_str()}</span> }.into_any()
                                        }}
                                    </td>
                                    <td class="nowrap col-since">{format_time(m.since)}</td>
                                    {manage.then(|| view! {
                                        <td>
                                            <ActionForm action=actions.remove attr:class="row-form">
                                                <input type="hidden" name="org" value=id />
                                                <input type="hidden" name="user" value=uid />
                                                <button type="submit" class="small danger">"Remove"</button>
                                            </ActionForm>
                                        </td>
                                    })}
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <FormAlert error=change_error />
            <FormAlert error=remove_error />
        </section>
    }
}

#[component]
fn Invites(detail: OrgDetail, actions: OrgActions) -> impl IntoView {
    let id = detail.org.id.0;
    let my_role = detail.org.role;
    let action = actions.invite;
    let error = last_error(action);
    let sent = move || match action.value().get() {
        Some(Ok(())) => Some("Invitation sent. The link works once, for 7 days."),
        _ => None,
    };
    view! {
        <section class="card" id="invites">
            <h2>"Invite a colleague"</h2>
            <ActionForm action attr:class="stack" attr:novalidate=true>
                <input type="hidden" name="org" value=id />
                <Field name="email" label="E-mail" kind="email" autocomplete="off" error />
                <div class="field">
                    <label for="f-role">"Role"</label>
                    <select name="role" id="f-role">
                        {Role::ALL.iter().filter(|r| my_role.may_grant(**r)).map(|r| view! {
                            <option value=r.as_str() selected=*r == Role::Viewer>{role_label(*r)}</option>
                        }).collect_view()}
                    </select>
                    <p class="field-error" role="alert">{move || error.get().and_then(|e| e.for_field("role"))}</p>
                </div>
                <FormAlert error />
                <p class="notice" role="status" class:hidden=move || sent().is_none()>{sent}</p>
                <button type="submit" disabled=move || action.pending().get()>"Send invitation"</button>
            </ActionForm>
            {(!detail.invites.is_empty()).then(|| view! {
                <h3>"Pending invitations"</h3>
                <ul class="invite-list">
                    {detail.invites.into_iter().map(|i| view! {
                        <li>
                            <span>{i.email} " · " {i.role.as_str()}</span>
                            <span class="muted small">"expires " {format_time(i.expires_at)}</span>
                            <ActionForm action=actions.revoke attr:class="row-form">
                                <input type="hidden" name="org" value=id />
                                <input type="hidden" name="invite" value=i.id.0 />
                                <button type="submit" class="small secondary">"Revoke"</button>
                            </ActionForm>
                        </li>
                    }).collect_view()}
                </ul>
            })}
        </section>
    }
}

fn role_label(r: Role) -> &'static str {
    match r {
        Role::Viewer => "Viewer — sees everything, changes nothing",
        Role::Admin => "Admin — manages domains and invites",
        Role::Owner => "Owner — everything, including members and clients",
    }
}
