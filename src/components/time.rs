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

/// The offset (minutes east of UTC) in force when the viewer's day `date` (`YYYY-MM-DD`)
/// starts, in a zone given by its offset at each instant. A filter's day is measured with the
/// offset of that day, not of today: a range across a summer-time change stays exact.
pub fn offset_at_day_start(date: &str, offset_at: impl Fn(i64) -> i32) -> Option<i32> {
    let utc_midnight = super::format::date_to_ms(date)?;
    // The offset at UTC midnight is at most a few hours off the day's start; one correction
    // lands on it (zones change their offset at night, never twice within hours).
    let guess = utc_midnight - i64::from(offset_at(utc_midnight)) * MINUTE_MS;
    Some(offset_at(guess))
}

/// The day after `date` (`YYYY-MM-DD`): where an inclusive "to" day ends.
pub fn day_after(date: &str) -> Option<String> {
    super::format::date_to_ms(date)
        .map(|ms| datetime_utc(ms + 24 * 60 * MINUTE_MS)[..10].to_string())
}

/// The browser zone's offset when the viewer's day `date` starts (`None` on the server or for
/// something that is not a date).
pub fn browser_offset_on(date: &str) -> Option<i32> {
    #[cfg(feature = "hydrate")]
    {
        offset_at_day_start(date, browser::offset_at)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = date;
        None
    }
}

/// A filter's date range (`from`, `to`: `YYYY-MM-DD`, inclusive, empty for open) as UTC
/// instants of the viewer's days: `tz` is the offset when the `from` day starts, `tz_to` when
/// the day after `to` starts (both as the browser sent them; without them, UTC days). A
/// message beside the field that is not a date, or when the range ends before it starts.
pub fn filter_range(
    from: Option<&str>,
    to: Option<&str>,
    tz: Option<i32>,
    tz_to: Option<i32>,
) -> Result<(Option<i64>, Option<i64>), crate::error::AppError> {
    let from_ms = filter_day("from", from, tz)?;
    let to_ms = filter_day("to", to, tz_to.or(tz))?.map(|ms| ms + 24 * 60 * MINUTE_MS);
    if let (Some(f), Some(t)) = (from_ms, to_ms) {
        if f >= t {
            return Err(crate::error::AppError::invalid(
                "to",
                "The end date is before the start.",
            ));
        }
    }
    Ok((from_ms, to_ms))
}

/// The "From" and "To" fields of a plain GET filter form, with the hidden `tz` and `tz_to`
/// fields the browser fills in with the offsets of those very days (see [`filter_range`]).
/// On the server and before hydration they are empty: the filter then means UTC days.
#[component]
pub fn DayRange(
    /// The fields' id prefix (`{id}-from`, `{id}-to`).
    id: &'static str,
    /// The filter's days as the URL has them.
    #[prop(into)]
    from: Signal<Option<String>>,
    #[prop(into)] to: Signal<Option<String>>,
) -> impl IntoView {
    let (from_url, to_url) = (from, to);
    let from = RwSignal::new(from_url.get_untracked().unwrap_or_default());
    let to = RwSignal::new(to_url.get_untracked().unwrap_or_default());
    // A new URL (the "Clear" link) sets the fields again.
    Effect::new(move |_| from.set(from_url.get().unwrap_or_default()));
    Effect::new(move |_| to.set(to_url.get().unwrap_or_default()));
    // Set once the page runs in the browser. Until then the fields stay empty, as the server
    // rendered them: hydration takes the server's attribute for the value the closure gives
    // then, and would never write a value that differs from it.
    let live = RwSignal::new(false);
    Effect::new(move |_| live.set(true));
    let tz = move || {
        if !live.get() {
            return String::new();
        }
        browser_offset_on(&from.get())
            .or_else(browser_offset_now)
            .map(|o| o.to_string())
            .unwrap_or_default()
    };
    let tz_to = move || {
        if !live.get() {
            return String::new();
        }
        day_after(&to.get())
            .and_then(|d| browser_offset_on(&d))
            .map(|o| o.to_string())
            .unwrap_or_default()
    };
    view! {
        <div class="field inline">
            <label for=format!("{id}-from")>"From"</label>
            <input id=format!("{id}-from") name="from" type="date" value=move || from.get()
                on:input=move |ev| from.set(event_target_value(&ev))/>
        </div>
        <div class="field inline">
            <label for=format!("{id}-to")>"To"</label>
            <input id=format!("{id}-to") name="to" type="date" value=move || to.get()
                on:input=move |ev| to.set(event_target_value(&ev))/>
        </div>
        <input type="hidden" name="tz" value=tz/>
        <input type="hidden" name="tz_to" value=tz_to/>
    }
}

/// The cookie in which the browser tells the server its zone's offset now (minutes east of
/// UTC), for what the server cuts into days without a filter's own offsets: the Overview's and
/// Chat activity's charts, and a shared filter link without `tz`.
pub const TZ_COOKIE: &str = "tz";

/// [ssr] The offset a request's `tz` cookie names (`None` without one, or out of range).
#[cfg(feature = "ssr")]
pub fn tz_of(headers: &http::HeaderMap) -> Option<i32> {
    super::format::cookie(headers, TZ_COOKIE)?
        .parse::<i32>()
        .ok()
        .filter(|t| t.abs() <= 14 * 60)
}

/// [ssr] The viewer's offset from the current server function's request (see [`TZ_COOKIE`]).
#[cfg(feature = "ssr")]
pub async fn viewer_tz() -> Option<i32> {
    leptos_axum::extract::<http::HeaderMap>()
        .await
        .ok()
        .and_then(|h| tz_of(&h))
}

/// Keeps the [`TZ_COOKIE`] up to date once the page runs in the browser.
pub fn remember_zone() {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let offset = browser_offset_now().unwrap_or(0);
            if let Ok(doc) = document().dyn_into::<web_sys::HtmlDocument>() {
                let want = format!("{TZ_COOKIE}={offset}");
                if !doc
                    .cookie()
                    .unwrap_or_default()
                    .split("; ")
                    .any(|c| c == want)
                {
                    let _ =
                        doc.set_cookie(&format!("{want}; Path=/; Max-Age=31536000; SameSite=Lax"));
                }
            }
        }
    });
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
    /// The day only (`2026-11-23`, the viewer's day once in the browser): for lists, where
    /// the moment is on hover.
    #[prop(optional)]
    day: bool,
) -> impl IntoView {
    let seconds = !minutes;
    let utc = datetime_utc(ms);
    let initial = if day {
        utc[..10].to_string()
    } else if seconds {
        utc.clone()
    } else {
        format!("{} UTC", &utc[..16])
    };
    let shown = RwSignal::new(initial);
    let title = RwSignal::new(utc.clone());
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let (mut s, t) = in_browser(ms, relative, seconds);
            if day {
                s.truncate(10);
            }
            shown.set(s);
            title.set(t);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (relative, day, &shown, &title);
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

    /// New York in 2026: UTC-5, and UTC-4 from 2026-03-08 07:00 UTC to 2026-11-01 06:00 UTC.
    fn new_york(ms: i64) -> i32 {
        let at =
            |d: &str, h: i64| crate::components::format::date_to_ms(d).unwrap() + h * 3_600_000;
        if (at("2026-03-08", 7)..at("2026-11-01", 6)).contains(&ms) {
            -240
        } else {
            -300
        }
    }

    #[test]
    fn each_day_of_a_range_has_the_offset_of_that_day() {
        assert_eq!(offset_at_day_start("2026-03-07", new_york), Some(-300));
        assert_eq!(offset_at_day_start("2026-03-08", new_york), Some(-300));
        assert_eq!(offset_at_day_start("2026-03-09", new_york), Some(-240));
        assert_eq!(offset_at_day_start("2026-11-01", new_york), Some(-240));
        assert_eq!(offset_at_day_start("2026-11-02", new_york), Some(-300));
        assert_eq!(offset_at_day_start("soon", new_york), None);
        assert_eq!(day_after("2026-02-28").as_deref(), Some("2026-03-01"));
        assert_eq!(day_after("2026-12-31").as_deref(), Some("2027-01-01"));

        // 1 to 20 March in New York: from its midnight in winter time to the midnight after
        // the 20th in summer time (one offset for both would be an hour off at one end).
        let (from, to) = filter_range(
            Some("2026-03-01"),
            Some("2026-03-20"),
            offset_at_day_start("2026-03-01", new_york),
            offset_at_day_start("2026-03-21", new_york),
        )
        .unwrap();
        let utc =
            |d: &str, h: i64| crate::components::format::date_to_ms(d).unwrap() + h * 3_600_000;
        assert_eq!(from, Some(utc("2026-03-01", 5)));
        assert_eq!(to, Some(utc("2026-03-21", 4)));
        // Without the end's own offset, the start's; without either, UTC days.
        let (_, to) = filter_range(None, Some("2026-03-20"), Some(-300), None).unwrap();
        assert_eq!(to, Some(utc("2026-03-21", 5)));
        assert_eq!(
            filter_range(Some("2026-03-02"), Some("2026-03-02"), None, None).unwrap(),
            (Some(utc("2026-03-02", 0)), Some(utc("2026-03-03", 0)))
        );
        assert!(filter_range(Some("2026-03-02"), Some("2026-03-01"), None, None).is_err());
        assert!(filter_range(Some("March"), None, None, None).is_err());
    }

    #[test]
    fn the_zone_cookie_is_read_and_checked() {
        let h = |v: &str| {
            let mut m = http::HeaderMap::new();
            m.insert(http::header::COOKIE, v.parse().unwrap());
            m
        };
        assert_eq!(tz_of(&h("theme=dark; tz=-300")), Some(-300));
        assert_eq!(tz_of(&h("tz=330")), Some(330));
        assert_eq!(tz_of(&h("tz=99999")), None);
        assert_eq!(tz_of(&h("tz=east")), None);
        assert_eq!(tz_of(&h("xtz=60")), None);
        assert_eq!(tz_of(&http::HeaderMap::new()), None);
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
