//! A chart: an ECharts option built on the server (with `charming`) and drawn in the
//! browser by the ECharts script Moat serves from `/pkg/echarts.min.js` — loaded on the
//! first page that shows a chart, never from a CDN.

use leptos::{html::Div, prelude::*};

/// Where Moat serves ECharts (copied from the npm package by `scripts/build-site.sh`).
#[cfg(feature = "hydrate")]
pub const ECHARTS_URL: &str = "/pkg/echarts.min.js";

/// A chart of `height` pixels drawing `option` (ECharts option JSON). `label` describes it
/// for screen readers; the numbers are also on the page as tables.
#[component]
pub fn EChart(option: String, label: String, height: u32, #[prop(into)] id: String) -> impl IntoView {
    let node = NodeRef::<Div>::new();
    #[cfg(feature = "hydrate")]
    {
        let option = option.clone();
        Effect::new(move |_| {
            if let Some(el) = node.get() {
                client::draw(el.into(), option.clone());
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = &option;
    view! {
        <div class="chart" id=id node_ref=node role="img" aria-label=label style=format!("height:{height}px")></div>
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use js_sys::{Function, JSON, Reflect};
    use wasm_bindgen::{JsCast, JsValue, closure::Closure};

    fn echarts() -> Option<JsValue> {
        let v = Reflect::get(&js_sys::global(), &"echarts".into()).ok()?;
        (!v.is_undefined() && !v.is_null()).then_some(v)
    }

    fn call(target: &JsValue, method: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
        let f: Function = Reflect::get(target, &method.into())?.dyn_into()?;
        match args {
            [] => f.call0(target),
            [a] => f.call1(target, a),
            [a, b] => f.call2(target, a, b),
            _ => Err("too many arguments".into()),
        }
    }

    /// Draws `option` into `el`, loading ECharts first when the page has not yet.
    pub fn draw(el: web_sys::HtmlElement, option: String) {
        match echarts() {
            Some(e) => {
                if let Err(err) = render(&e, &el, &option) {
                    web_sys_log(&err);
                }
            }
            None => load_then(move || {
                if let Some(e) = echarts()
                    && let Err(err) = render(&e, &el, &option)
                {
                    web_sys_log(&err);
                }
            }),
        }
    }

    fn render(echarts: &JsValue, el: &web_sys::HtmlElement, option: &str) -> Result<(), JsValue> {
        // A chart element re-rendered in place keeps its instance: replace it.
        let old = call(echarts, "getInstanceByDom", &[el])?;
        if !old.is_undefined() && !old.is_null() {
            call(&old, "dispose", &[])?;
        }
        let chart = call(echarts, "init", &[el])?;
        let option = JSON::parse(option)?;
        call(&chart, "setOption", &[&option])?;
        let on_resize = Closure::<dyn FnMut()>::new(move || {
            let _ = call(&chart, "resize", &[]);
        });
        if let Some(w) = web_sys::window() {
            w.add_event_listener_with_callback("resize", on_resize.as_ref().unchecked_ref())?;
        }
        on_resize.forget();
        Ok(())
    }

    /// Adds the ECharts script once; runs `then` when it has loaded.
    fn load_then(then: impl FnOnce() + 'static) {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let script = match doc.query_selector("script[data-echarts]") {
            Ok(Some(s)) => s,
            _ => {
                let Ok(s) = doc.create_element("script") else {
                    return;
                };
                let _ = s.set_attribute("src", super::ECHARTS_URL);
                let _ = s.set_attribute("data-echarts", "");
                if let Some(head) = doc.head() {
                    let _ = head.append_child(&s);
                }
                s
            }
        };
        let once = Closure::once_into_js(then);
        let _ = script.add_event_listener_with_callback("load", once.unchecked_ref());
    }

    fn web_sys_log(err: &JsValue) {
        leptos::logging::error!("chart: {err:?}");
    }
}
