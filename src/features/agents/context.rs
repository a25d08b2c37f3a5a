//! The context window (`GET /v1/agents/{id}/context`) as a stacked bar: each section's tokens
//! against the window's maximum, with the numbers beside it and the raw sections on demand.
//! Drawn in SVG (geometry as attributes: the page's CSP allows no inline styles).

use leptos::prelude::*;

use super::api::{ContextPart, ContextView};
use crate::error::AppError;

/// Width of the chart's coordinate system.
const W: f64 = 1000.0;

/// (key, x, width) of each section's bar, in chart units, scaled to the window's maximum.
pub fn bars(parts: &[ContextPart], max: u64) -> Vec<(String, f64, f64)> {
    let total: u64 = parts.iter().map(|p| p.tokens).sum();
    let scale = W / (max.max(total).max(1) as f64);
    let mut x = 0.0;
    parts
        .iter()
        .filter(|p| p.tokens > 0)
        .map(|p| {
            let w = p.tokens as f64 * scale;
            let bar = (p.key.clone(), x, w);
            x += w;
            bar
        })
        .collect()
}

fn percent(part: u64, of: u64) -> String {
    if of == 0 {
        return "0%".into();
    }
    let p = part as f64 * 100.0 / of as f64;
    if p > 0.0 && p < 0.1 {
        "<0.1%".into()
    } else {
        format!("{p:.1}%")
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[component]
pub fn ContextCard(
    context: Resource<Result<ContextView, AppError>>,
    context_version: RwSignal<u32>,
) -> impl IntoView {
    view! {
        <section class="card wide-card context-card" aria-labelledby="agent-context-h">
            <div class="card-head">
                <h2 id="agent-context-h">"Context window"</h2>
                <button type="button" class="btn ghost" on:click=move |_| context_version.update(|n| *n += 1)>"Refresh"</button>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Measuring the context window…"</p> }>
                {move || Suspend::new(async move {
                    match context.await {
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(c) => view! { <ContextChart view=c/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ContextChart(view: ContextView) -> impl IntoView {
    let c = view;
    let summary = format!(
        "{} of {} tokens in use ({})",
        thousands(c.current),
        thousands(c.max),
        percent(c.current, c.max)
    );
    let bars = bars(&c.parts, c.max);
    let label = format!(
        "Context window: {summary}. {}",
        c.parts
            .iter()
            .map(|p| format!("{} {} tokens", p.label, thousands(p.tokens)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let free = c.max.saturating_sub(c.current);
    let sections = [
        ("System prompt", c.system_prompt.clone()),
        ("Core memory", c.core_memory.clone()),
        ("External memory summary", c.external_summary.clone()),
        ("Summary memory", c.summary_memory.clone()),
    ];
    view! {
        <p class="context-summary" data-testid="context-summary">{summary}</p>
        <svg class="context-chart" data-testid="context-chart" viewBox="0 0 1000 40" preserveAspectRatio="none" role="img" aria-label=label>
            <rect class="ctx-free" x="0" y="0" width="1000" height="40"></rect>
            {bars.into_iter().map(|(key, x, w)| view! {
                <rect class=format!("ctx-{key}") x=format!("{x:.2}") y="0" width=format!("{w:.2}") height="40"></rect>
            }).collect_view()}
        </svg>
        <table class="compact context-table">
            <thead>
                <tr><th scope="col">"Section"</th><th scope="col" class="num">"Tokens"</th><th scope="col" class="num">"Of the maximum"</th></tr>
            </thead>
            <tbody>
                {c.parts.iter().map(|p| view! {
                    <tr data-testid=format!("ctx-row-{}", p.key)>
                        <td><span class=format!("swatch ctx-{}", p.key) aria-hidden="true"></span>{p.label.clone()}</td>
                        <td class="num">{thousands(p.tokens)}</td>
                        <td class="num">{percent(p.tokens, c.max)}</td>
                    </tr>
                }).collect_view()}
                <tr>
                    <td><span class="swatch ctx-free" aria-hidden="true"></span>"Free"</td>
                    <td class="num">{thousands(free)}</td>
                    <td class="num">{percent(free, c.max)}</td>
                </tr>
            </tbody>
            <tfoot>
                <tr><th scope="row">"In use"</th><td class="num">{thousands(c.current)}</td><td class="num">{percent(c.current, c.max)}</td></tr>
                <tr><th scope="row">"Maximum"</th><td class="num">{thousands(c.max)}</td><td></td></tr>
            </tfoot>
        </table>
        <p class="muted">{format!(
            "{} messages in context, {} in recall memory, {} passages in archival memory.",
            c.num_messages, c.num_recall, c.num_archival
        )}</p>
        <div class="raw-sections">
            {sections.into_iter().map(|(name, text)| view! {
                <details>
                    <summary>{format!("{name} ({} characters)", text.chars().count())}</summary>
                    {if text.is_empty() {
                        view! { <p class="muted">"Empty."</p> }.into_any()
                    } else {
                        view! { <pre class="mono raw">{text}</pre> }.into_any()
                    }}
                </details>
            }).collect_view()}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(key: &str, tokens: u64) -> ContextPart {
        ContextPart {
            key: key.into(),
            label: key.into(),
            tokens,
        }
    }

    #[test]
    fn bars_are_scaled_to_the_maximum_and_skip_empty_parts() {
        let b = bars(
            &[part("system", 500), part("core", 0), part("tools", 1500)],
            10_000,
        );
        assert_eq!(b.len(), 2);
        assert_eq!(b[0], ("system".into(), 0.0, 50.0));
        assert_eq!(b[1], ("tools".into(), 50.0, 150.0));
        // Over the maximum (it happens before a summarisation): scaled to the total instead.
        let b = bars(&[part("messages", 300)], 100);
        assert_eq!(b[0].2, 1000.0);
    }

    #[test]
    fn numbers_are_readable() {
        assert_eq!(thousands(30000), "30,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(percent(2070, 30000), "6.9%");
        assert_eq!(percent(1, 30000), "<0.1%");
        assert_eq!(percent(1, 0), "0%");
    }
}
