//! The one compare-and-save rule for every block the dashboard writes: a save names the value
//! it was based on, and is refused as a conflict when the block has changed since; read-only
//! blocks are never written; the limit and the text's length are checked here, because Letta
//! enforces neither.

use crate::{error::AppError, letta::BlockUpdate};

/// The block as it is now (re-read under its lock).
pub struct Now<'a> {
    pub value: &'a str,
    pub limit: i64,
    pub description: &'a str,
    pub read_only: bool,
}

/// What an editor asks for.
pub struct Edit<'a> {
    /// The value the editor started from.
    pub base: &'a str,
    pub value: &'a str,
    /// The limit as typed: empty keeps the block's.
    pub limit: &'a str,
    /// `None` keeps the description.
    pub description: Option<&'a str>,
}

/// What to do with a save.
#[derive(Debug)]
pub enum Checked {
    /// The block changed since the editor loaded it: show the server's value, write nothing.
    Conflict,
    /// Write this update; the block then has `limit` and a value of `chars` characters.
    Write {
        update: BlockUpdate,
        limit: i64,
        chars: i64,
    },
}

/// Decides a save of `edit` onto the block as it is `now`.
pub fn check(now: &Now<'_>, edit: &Edit<'_>) -> Result<Checked, AppError> {
    if now.read_only {
        return Err(AppError::Conflict(
            "This block is read-only: the dashboard does not change it.".into(),
        ));
    }
    if now.value != edit.base {
        return Ok(Checked::Conflict);
    }
    let limit = limit_from(edit.limit, now.limit)?;
    let chars = check_length(edit.value, limit)?;
    Ok(Checked::Write {
        update: BlockUpdate {
            value: Some(edit.value.to_string()),
            limit: (limit != now.limit).then_some(limit as u64),
            description: edit
                .description
                .filter(|d| *d != now.description)
                .map(str::to_string),
            ..Default::default()
        },
        limit,
        chars,
    })
}

/// The limit a save asks for: empty keeps `current`; otherwise a whole number in 100..=1,000,000.
pub fn limit_from(raw: &str, current: i64) -> Result<i64, AppError> {
    match raw.trim() {
        "" => Ok(current),
        raw => match raw.parse::<i64>() {
            Ok(n) if (100..=1_000_000).contains(&n) => Ok(n),
            _ => Err(AppError::invalid(
                "limit",
                "The limit must be a whole number from 100 to 1,000,000.",
            )),
        },
    }
}

/// Letta stores a value over the block's limit; the dashboard refuses it. Returns the length.
pub fn check_length(value: &str, limit: i64) -> Result<i64, AppError> {
    let chars = value.chars().count() as i64;
    if chars > limit {
        return Err(AppError::invalid(
            "value",
            format!("The text has {chars} characters, over the block's limit of {limit}. Shorten it or raise the limit."),
        ));
    }
    Ok(chars)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now(value: &str) -> Now<'_> {
        Now {
            value,
            limit: 200,
            description: "d",
            read_only: false,
        }
    }

    fn edit<'a>(base: &'a str, value: &'a str, limit: &'a str) -> Edit<'a> {
        Edit {
            base,
            value,
            limit,
            description: None,
        }
    }

    #[test]
    fn a_save_from_an_old_value_is_a_conflict_and_writes_nothing() {
        assert!(matches!(
            check(&now("new"), &edit("old", "mine", "")).unwrap(),
            Checked::Conflict
        ));
    }

    #[test]
    fn a_save_writes_only_what_changed() {
        let Checked::Write {
            update,
            limit,
            chars,
        } = check(&now("v"), &edit("v", "héllo", "")).unwrap()
        else {
            panic!("a write")
        };
        assert_eq!((limit, chars), (200, 5));
        assert_eq!(update.value.as_deref(), Some("héllo"));
        assert_eq!(update.limit, None);
        assert_eq!(update.description, None);
        let Checked::Write { update, limit, .. } = check(
            &now("v"),
            &Edit {
                description: Some("other"),
                ..edit("v", "w", "300")
            },
        )
        .unwrap() else {
            panic!("a write")
        };
        assert_eq!((limit, update.limit), (300, Some(300)));
        assert_eq!(update.description.as_deref(), Some("other"));
    }

    #[test]
    fn read_only_blocks_limits_and_lengths_are_refused() {
        let ro = Now {
            read_only: true,
            ..now("v")
        };
        assert!(matches!(
            check(&ro, &edit("v", "w", "")),
            Err(AppError::Conflict(_))
        ));
        for limit in ["99", "1000001", "abc", "1.5"] {
            assert!(check(&now("v"), &edit("v", "w", limit)).is_err(), "{limit}");
        }
        let long = "x".repeat(201);
        assert!(check(&now("v"), &edit("v", &long, "")).is_err());
        assert!(check(&now("v"), &edit("v", &long, "201")).is_ok());
    }
}
