//! Pieces of the domain pages: the state badge, copy buttons, durations.

use leptos::prelude::*;
use moat_domain::hosting::DomainState;

/// A coloured badge for pending / active / degraded.
#[component]
pub fn StateBadge(state: DomainState) -> impl IntoView {
    view! { <span class=format!("badge state-{}", state.as_str())>{state.as_str()}</span> }
}

/// `86400` → "1 day", `604800` → "1 week", `3600` → "1 hour"; otherwise the largest whole unit,
/// or seconds.
pub fn human_duration(seconds: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (604_800, "week"),
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
    ];
    for (size, unit) in UNITS {
        if seconds >= size && seconds.is_multiple_of(size) {
            let n = seconds / size;
            return format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
        }
    }
    format!("{seconds} seconds")
}

#[cfg(feature = "hydrate")]
mod clipboard {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// A JS promise (only `then` is needed).
        pub type Promise;

        #[wasm_bindgen(method)]
        fn then(this: &Promise, ok: &JsValue, err: &JsValue) -> Promise;

        /// `navigator.clipboard.writeText`; throws where there is no Clipboard API (plain
        /// http on a non-local address).
        #[wasm_bindgen(catch, js_namespace = ["navigator", "clipboard"], js_name = writeText)]
        fn write_text(text: &str) -> Result<Promise, JsValue>;
    }

    /// Writes `text` to the clipboard; `done(true)` on success, `done(false)` otherwise.
    pub fn copy(text: &str, done: impl Fn(bool) + Clone + 'static) {
        match write_text(text) {
            Ok(p) => {
                let (ok, err) = (done.clone(), done);
                let ok = Closure::once_into_js(move |_: JsValue| ok(true));
                let err = Closure::once_into_js(move |_: JsValue| err(false));
                p.then(&ok, &err);
            }
            Err(_) => done(false),
        }
    }
}

/// A "Copy" button for `text` (Clipboard API; shown once the page is hydrated). The text it
/// copies is also on the page, selectable.
#[component]
pub fn CopyButton(
    /// What to copy.
    #[prop(into)]
    text: String,
    /// What is copied, for screen readers ("Copy name").
    #[prop(into)]
    label: String,
) -> impl IntoView {
    let state = RwSignal::new(None::<bool>);
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        clipboard::copy(&text, move |ok| state.set(Some(ok)));
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
    };
    view! {
        <button type="button" class="small secondary copy" aria-label=label on:click=on_click>
            {move || match state.get() {
                None => "Copy",
                Some(true) => "Copied",
                Some(false) => "Select and copy",
            }}
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(86_400), "1 day");
        assert_eq!(human_duration(604_800), "1 week");
        assert_eq!(human_duration(1_209_600), "2 weeks");
        assert_eq!(human_duration(7_200), "2 hours");
        assert_eq!(human_duration(90), "90 seconds");
        assert_eq!(human_duration(0), "0 seconds");
    }
}
