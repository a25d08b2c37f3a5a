//! Times in the viewer's own zone. The server does not know the viewer's zone, so a page
//! arrives with every time in UTC (marked "UTC"); once the page runs in the browser each
//! [`Time`] switches to the browser's zone (the offset at that very instant, so summer time is
//! right for every date), or to a relative time ("3 minutes ago") where recency matters. The
//! UTC value stays on hover.
//!
//! The formatting is plain arithmetic here (tested natively); only the zone offset and "now"
//! come from the browser's `Date`.

use leptos::prelude::*;

use super::format::datetime_utc;

const MINUTE_MS: i64 = 60_000;

/// `UTC`, `UTC+1`, `UTC-5`, `UTC+5:30` for an offset in minutes east of UTC.
pub fn zone_label(offset_min: i32) -> String {
    if offset_min == 0 {
        return "UTC".into();
    }
    let sign = if offset_min > 0 { '+' } else { '-' };
    let (h, m) = (offset_min.abs() / 60, offset_min.abs() % 60);
    if m == 0 {
        format!("UTC{sign}{h}")
    } else {
        format!("UTC{sign}{h}:{m:02}")
    }
}

/// `2026-11-23 15:05:09 UTC+1` (or without the seconds): the instant `ms` in a zone
/// `offset_min` minutes east of UTC.
pub fn local_text(ms: i64, offset_min: i32, seconds: bool) -> String {
    let shifted = datetime_utc(ms + i64::from(offset_min) * MINUTE_MS);
    let clock = &shifted[..if seconds { 19 } else { 16 }];
    format!("{clock} {}", zone_label(offset_min))
}

/// `just now`, `3 minutes ago`, `2 hours ago`, `yesterday`, `5 days ago`, or the same in the
/// future (`in 3 minutes`). Older than a month: `None` (show the date instead).
pub fn relative_text(ms: i64, now_ms: i64) -> Option<String> {
    let delta = now_ms - ms;
    let ahead = delta < 0;
    let d = delta.abs();
    let unit = |n: i64, one: &str, many: &str| {
        let what = if n == 1 {
            one.to_string()
        } else {
            format!("{n} {many}")
        };
        if ahead {
            format!("in {what}")
        } else {
            format!("{what} ago")
        }
    };
    Some(match d {
        d if d < 45_000 => "just now".into(),
        d if d < 90_000 => unit(1, "a minute", "minutes"),
        d if d < 45 * MINUTE_MS => unit((d + 30_000) / MINUTE_MS, "a minute", "minutes"),
        d if d < 90 * MINUTE_MS => unit(1, "an hour", "hours"),
        d if d < 22 * 60 * MINUTE_MS => {
            unit((d + 30 * MINUTE_MS) / (60 * MINUTE_MS), "an hour", "hours")
        }
        d if d < 36 * 60 * MINUTE_MS => {
            if ahead {
                "tomorrow".into()
            } else {
                "yesterday".into()
            }
        }
        d if d < 30 * 24 * 60 * MINUTE_MS => unit(
            (d + 12 * 60 * MINUTE_MS) / (24 * 60 * MINUTE_MS),
            "a day",
            "days",
        ),
        _ => return None,
    })
}

/// Epoch milliseconds from Letta's ISO 8601 times (`2026-11-23T04:05:52.033071Z`,
/// `…+00:00`, or without a zone, which Letta means as UTC).
pub fn iso_to_ms(iso: &str) -> Option<i64> {
    let s = iso.trim();
    let date = super::format::date_to_ms(s.get(..10)?)?;
    let rest = s.get(10..)?;
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let num = |r: &str| r.parse::<i64>().ok();
    let (h, m, sec) = (
        num(rest.get(0..2)?)?,
        num(rest.get(3..5)?)?,
        num(rest.get(6..8)?)?,
    );
    if rest.get(2..3) != Some(":") || rest.get(5..6) != Some(":") || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let mut tail = &rest[8..];
    let mut frac_ms = 0;
    if let Some(f) = tail.strip_prefix('.') {
        let digits = f.chars().take_while(char::is_ascii_digit).count();
        let mut first3: String = f[..digits].chars().take(3).collect();
        while first3.len() < 3 {
            first3.push('0');
        }
        frac_ms = num(&first3)?;
        tail = &f[digits..];
    }
    let offset_min = match tail {
        "" | "Z" | "z" => 0,
        t if (t.starts_with('+') || t.starts_with('-')) && t.len() == 6 && &t[3..4] == ":" => {
            let v = num(&t[1..3])? * 60 + num(&t[4..6])?;
            if t.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    Some(date + ((h * 60 + m - offset_min) * 60 + sec) * 1000 + frac_ms)
}

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        type Date;
        #[wasm_bindgen(constructor)]
        fn new(ms: f64) -> Date;
        #[wasm_bindgen(method, js_name = getTimezoneOffset)]
        fn timezone_offset(this: &Date) -> f64;
        #[wasm_bindgen(static_method_of = Date, js_name = now)]
        fn now() -> f64;
    }

    /// The browser zone's offset at the instant `ms`, in minutes east of UTC.
    pub fn offset_at(ms: i64) -> i32 {
        -(Date::new(ms as f64).timezone_offset() as i32)
    }

    pub fn now_ms() -> i64 {
        Date::now() as i64
    }
}

/// The browser zone's offset now, in minutes east of UTC (`None` on the server): what the date
/// filters send, so a filtered day is the viewer's day.
pub fn browser_offset_now() -> Option<i32> {
    #[cfg(feature = "hydrate")]
    {
        Some(browser::offset_at(browser::now_ms()))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// The UTC instant a viewer's day (`YYYY-MM-DD`) starts, for a viewer `tz` minutes east of
/// UTC (as the browser sent it with a date filter; without it, or out of range, the UTC day).
pub fn local_day_start(date: &str, tz: Option<i32>) -> Option<i64> {
    let tz = tz.filter(|t| t.abs() <= 14 * 60).unwrap_or(0);
    super::format::date_to_ms(date).map(|ms| ms - i64::from(tz) * MINUTE_MS)
}

/// A date filter's field (`YYYY-MM-DD`, empty for none) as the start of the viewer's day,
/// or a message beside that field.
pub fn filter_day(
    field: &str,
    value: Option<&str>,
    tz: Option<i32>,
) -> Result<Option<i64>, crate::error::AppError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => local_day_start(v, tz)
            .map(Some)
            .ok_or_else(|| crate::error::AppError::invalid(field, "Use a date like 2026-11-23.")),
    }
}

/// The browser's offset for the hidden `tz` field of a date filter form: empty on the server
/// (the filter then means UTC days), filled in once the page runs in the browser.
pub fn tz_field() -> RwSignal<String> {
    let tz = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(offset) = browser_offset_now() {
            tz.set(offset.to_string());
        }
    });
    tz
}

/// The shown text and its hover title, once in the browser.
#[cfg(feature = "hydrate")]
fn in_browser(ms: i64, relative: bool, seconds: bool) -> (String, String) {
    let local = local_text(ms, browser::offset_at(ms), seconds);
    let title = format!(
        "{} · {}",
        local_text(ms, browser::offset_at(ms), true),
        datetime_utc(ms)
    );
    let shown = if relative {
        relative_text(ms, browser::now_ms()).unwrap_or(local)
    } else {
        local
    };
    (shown, title)
}

/// An instant (epoch ms): UTC from the server, the viewer's zone (or relative) in the browser.
#[component]
pub fn Time(
    ms: i64,
    /// "3 minutes ago" instead of the clock time (within a month).
    #[prop(optional)]
    relative: bool,
    /// Down to the minute only.
    #[prop(optional)]
    minutes: bool,
) -> impl IntoView {
    let seconds = !minutes;
    let utc = datetime_utc(ms);
    let initial = if seconds {
        utc.clone()
    } else {
        format!("{} UTC", &utc[..16])
    };
    let shown = RwSignal::new(initial);
    let title = RwSignal::new(utc.clone());
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let (s, t) = in_browser(ms, relative, seconds);
            shown.set(s);
            title.set(t);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (relative, &shown, &title);
    });
    let iso = format!("{}T{}Z", &utc[..10], &utc[11..19]);
    view! { <time class="time" datetime=iso title=move || title.get()>{move || shown.get()}</time> }
}

/// A time as Letta sends it (ISO 8601); anything unreadable is shown as it came.
#[component]
pub fn IsoTime(
    #[prop(into)] iso: String,
    #[prop(optional)] relative: bool,
    #[prop(optional)] minutes: bool,
) -> impl IntoView {
    match iso_to_ms(&iso) {
        Some(ms) => view! { <Time ms relative minutes/> }.into_any(),
        None => view! { <span>{iso}</span> }.into_any(),
    }
}

/// A Letta time to the minute (relative if asked), or `none` when there is none.
pub fn iso_or(iso: Option<String>, none: &'static str, relative: bool) -> AnyView {
    match iso {
        Some(iso) => view! { <IsoTime iso relative minutes=true/> }.into_any(),
        None => none.into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-23 01:11:27 UTC
    const T: i64 = 1_795_396_287_000;

    #[test]
    fn local_times_carry_their_zone() {
        assert_eq!(local_text(T, 0, true), "2026-11-23 01:11:27 UTC");
        assert_eq!(local_text(T, 60, true), "2026-11-23 02:11:27 UTC+1");
        // New York in November: the day before.
        assert_eq!(local_text(T, -300, false), "2026-11-22 20:11 UTC-5");
        assert_eq!(local_text(T, 330, false), "2026-11-23 06:41 UTC+5:30");
        assert_eq!(zone_label(-570), "UTC-9:30");
    }

    #[test]
    fn relative_times_read_naturally() {
        let r = |ago_ms: i64| relative_text(T - ago_ms, T).unwrap_or_else(|| "date".into());
        assert_eq!(r(5_000), "just now");
        assert_eq!(r(70_000), "a minute ago");
        assert_eq!(r(3 * 60_000), "3 minutes ago");
        assert_eq!(r(60 * 60_000), "an hour ago");
        assert_eq!(r(5 * 3_600_000), "5 hours ago");
        assert_eq!(r(30 * 3_600_000), "yesterday");
        assert_eq!(r(5 * 86_400_000), "5 days ago");
        assert_eq!(r(-3 * 60_000), "in 3 minutes");
        assert_eq!(r(40 * 86_400_000), "date");
    }

    #[test]
    fn a_filtered_day_is_the_viewers_day() {
        let utc_midnight = crate::components::format::date_to_ms("2026-11-23").unwrap();
        assert_eq!(local_day_start("2026-11-23", None), Some(utc_midnight));
        // Berlin (UTC+1): the day starts an hour before UTC midnight.
        assert_eq!(
            local_day_start("2026-11-23", Some(60)),
            Some(utc_midnight - 3_600_000)
        );
        assert_eq!(
            local_day_start("2026-11-23", Some(-300)),
            Some(utc_midnight + 5 * 3_600_000)
        );
        // Nonsense offsets mean UTC.
        assert_eq!(
            local_day_start("2026-11-23", Some(100_000)),
            Some(utc_midnight)
        );
        assert_eq!(local_day_start("tomorrow", Some(60)), None);
    }

    #[test]
    fn letta_times_parse_in_every_form_it_sends() {
        assert_eq!(iso_to_ms("2026-11-23T01:11:27Z"), Some(T));
        assert_eq!(iso_to_ms("2026-11-23T01:11:27.033071Z"), Some(T + 33));
        assert_eq!(iso_to_ms("2026-11-23T01:11:27.5+00:00"), Some(T + 500));
        assert_eq!(iso_to_ms("2026-11-23T02:11:27+01:00"), Some(T));
        assert_eq!(iso_to_ms("2026-11-22T20:11:27-05:00"), Some(T));
        assert_eq!(iso_to_ms("2026-11-23 01:11:27"), Some(T));
        for bad in [
            "",
            "2026-11-23",
            "2026-11-23T25:00:00Z",
            "2026-11-23T01:11:27+0100",
            "soon",
        ] {
            assert_eq!(iso_to_ms(bad), None, "{bad}");
        }
    }
}
