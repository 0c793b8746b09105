//! The browser entry point: hydrate the server-rendered page.

/// Called by the generated loader once the WASM module is fetched.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Actions that change who is signed in redirect; a full page load makes every part of the
    // page (the header included) render for the new session.
    let _ = leptos::server_fn::redirect::set_redirect_hook(|loc: &str| {
        let _ = leptos::prelude::window().location().set_href(loc);
    });
    leptos::mount::hydrate_body(app::App);
    // A marker for tests and for CSS: the page is interactive now.
    if let Some(root) = leptos::prelude::document().document_element() {
        let _ = root.set_attribute("data-hydrated", "");
    }
}
