//! Form helpers: inline field errors and a form-level alert.

use crate::error::AppError;
use leptos::prelude::*;

/// The error of the last submission of an action, if it failed.
pub fn last_error<I, O>(action: ServerAction<I>) -> Signal<Option<AppError>>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(|r| r.err()))
}

/// A labelled input whose validation message appears right below it.
#[component]
pub fn Field(
    /// The input's `name` (and the server function argument).
    name: &'static str,
    /// The visible label.
    label: &'static str,
    /// `type` attribute.
    #[prop(default = "text")]
    kind: &'static str,
    /// `autocomplete` attribute.
    #[prop(default = "off")]
    autocomplete: &'static str,
    /// Extra help under the field.
    #[prop(optional)]
    hint: Option<&'static str>,
    /// Whether the field must be filled.
    #[prop(default = true)]
    required: bool,
    /// Pre-filled value.
    #[prop(optional, into)]
    value: Option<String>,
    /// The error to show.
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let id = format!("f-{name}");
    let message = move || error.get().and_then(|e| e.for_field(name));
    let err_id = format!("{id}-error");
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                required=required
                value=value
                aria-invalid=move || if message().is_some() { "true" } else { "false" }
                aria-describedby=err_id.clone()
            />
            {hint.map(|h| view! { <p class="hint">{h}</p> })}
            <p class="field-error" id=err_id role="alert">
                {message}
            </p>
        </div>
    }
}

/// A form-level alert for errors that are not about one field.
#[component]
pub fn FormAlert(error: Signal<Option<AppError>>) -> impl IntoView {
    let text = move || {
        error
            .get()
            .filter(|e| !matches!(e, AppError::Invalid { .. }))
            .map(|e| e.to_string())
    };
    view! {
        <div class="alert" role="alert" class:hidden=move || text().is_none()>
            {text}
        </div>
    }
}
