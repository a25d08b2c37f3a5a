//! A small bar chart of counts over time (turns, and the failed part of them), drawn as SVG:
//! each bar's title says its numbers and the chart's label the totals, so a screen reader gets
//! the same as the eye.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::format::datetime_utc;

/// Counts per bucket of time: bar `i` starts at `from + i * bucket_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Bars {
    pub from: i64,
    pub bucket_ms: i64,
    /// One per bucket, empty buckets included: (all, failed).
    pub bars: Vec<(i64, i64)>,
    /// The zone the buckets were cut in (minutes east of UTC): the labels name its times.
    #[serde(default)]
    pub offset_min: i32,
}

impl Bars {
    /// (all, failed) over every bar.
    pub fn totals(&self) -> (i64, i64) {
        self.bars
            .iter()
            .fold((0, 0), |(t, f), (bt, bf)| (t + bt, f + bf))
    }

    fn hourly(&self) -> bool {
        self.bucket_ms < 86_400_000
    }

    /// A bar's start in the chart's zone, to the minute (hourly bars) or the day.
    pub fn when(&self, i: usize) -> String {
        let at = datetime_utc(
            self.from + i as i64 * self.bucket_ms + i64::from(self.offset_min) * 60_000,
        );
        at[..if self.hourly() { 16 } else { 10 }].to_string()
    }
}

/// `what` names the counted things ("turns"), `failed` the failed part ("failed").
#[component]
pub fn BarChart(bars: Bars, #[prop(into)] what: String) -> impl IntoView {
    let n = bars.bars.len().max(1);
    let peak = bars.bars.iter().map(|(t, _)| *t).max().unwrap_or(0).max(1);
    let (all, failed) = bars.totals();
    let unit = if bars.hourly() { "hour" } else { "day" };
    let (first, last) = (bars.when(0), bars.when(n - 1));
    let zone = super::time::zone_label(bars.offset_min);
    let summary =
        format!("{all} {what}, {failed} failed, per {unit} ({zone}) from {first} to {last}");
    let width = n * 10;
    let rects = bars
        .bars
        .iter()
        .enumerate()
        .map(|(i, (t, f))| {
            let h = |v: i64| (v as f64 / peak as f64 * 96.0).round();
            let (ht, hf) = (h(*t), h(*f));
            let x = i * 10 + 1;
            view! {
                <g>
                    <title>{format!("{}: {t} {what}, {f} failed", bars.when(i))}</title>
                    <rect class="bar" x=x y=100.0 - ht width=8 height=ht/>
                    <rect class="bar fail" x=x y=100.0 - ht width=8 height=hf/>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {width} 100") preserveAspectRatio="none" role="img" aria-label=summary.clone()>
                {rects}
            </svg>
            <figcaption>
                <span>{first}</span>
                <span class="muted">{summary}</span>
                <span>{last}</span>
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_name_their_times_and_totals() {
        let b = Bars {
            from: 0,
            bucket_ms: 3_600_000,
            bars: vec![(2, 1), (0, 0), (5, 0)],
            offset_min: 0,
        };
        assert_eq!(b.totals(), (7, 1));
        assert_eq!(b.when(2), "1970-01-01 02:00");
        let d = Bars {
            bucket_ms: 86_400_000,
            ..b.clone()
        };
        assert_eq!(d.when(1), "1970-01-02");
        // Cut in New York's days (UTC-5): each bar starts at a local midnight.
        let ny = Bars {
            from: 5 * 3_600_000,
            bucket_ms: 86_400_000,
            offset_min: -300,
            ..b
        };
        assert_eq!(ny.when(0), "1970-01-01");
        assert_eq!(ny.when(1), "1970-01-02");
    }
}
