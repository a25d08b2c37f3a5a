//! Newest-first pages with "newer" and "older" links over Letta list routes, which only page
//! forward from a cursor (`after` + `order`). Going back asks for the items after the
//! `before` cursor in ascending order and reverses them. One more item than the page size is
//! asked for, so the answer says whether there is more.

use crate::letta::types::Order;

/// The cursors of a page request (blank ones already removed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursors {
    pub after: Option<String>,
    pub before: Option<String>,
}

/// A page, newest first, and the cursors of its neighbours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window<T> {
    pub items: Vec<T>,
    pub newer: Option<String>,
    pub older: Option<String>,
}

impl Cursors {
    /// A cursor was given: a stale one (its item deleted) answers 404.
    pub fn paging(&self) -> bool {
        self.after.is_some() || self.before.is_some()
    }

    /// What to ask Letta for: `(after, order, limit)`.
    pub fn request(&self, size: u32) -> (Option<String>, Order, u32) {
        match (&self.after, &self.before) {
            (_, Some(b)) => (Some(b.clone()), Order::Asc, size + 1),
            (Some(a), None) => (Some(a.clone()), Order::Desc, size + 1),
            (None, None) => (None, Order::Desc, size + 1),
        }
    }

    /// Turns Letta's answer to [`Cursors::request`] into the page.
    pub fn window<T>(&self, mut found: Vec<T>, size: u32, id: impl Fn(&T) -> &str) -> Window<T> {
        let more = found.len() > size as usize;
        found.truncate(size as usize);
        if self.before.is_some() {
            found.reverse();
        }
        let (has_newer, has_older) = match (&self.after, &self.before) {
            // Going back: the cursor itself is older, and `more` says if anything is newer.
            (_, Some(_)) => (more, true),
            (Some(_), None) => (true, more),
            (None, None) => (false, more),
        };
        let newer = has_newer
            .then(|| found.first().map(|t| id(t).to_owned()))
            .flatten();
        let older = has_older
            .then(|| found.last().map(|t| id(t).to_owned()))
            .flatten();
        Window {
            items: found,
            newer,
            older,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: std::ops::Range<u32>) -> Vec<String> {
        n.map(|i| format!("x{i}")).collect()
    }

    #[test]
    fn first_page_has_only_an_older_link_when_there_is_more() {
        let c = Cursors::default();
        assert_eq!(c.request(3), (None, Order::Desc, 4));
        let w = c.window(ids(0..4), 3, |s| s);
        assert_eq!(w.items, ids(0..3));
        assert_eq!((w.newer, w.older.as_deref()), (None, Some("x2")));
        let last = c.window(ids(0..2), 3, |s| s);
        assert_eq!((last.newer, last.older), (None, None));
    }

    #[test]
    fn going_back_reverses_and_links_both_ways() {
        let c = Cursors {
            after: None,
            before: Some("x9".into()),
        };
        assert_eq!(c.request(2), (Some("x9".into()), Order::Asc, 3));
        // Letta answers oldest first after x9: x10, x11, x12.
        let w = c.window(
            vec!["x10".to_string(), "x11".into(), "x12".into()],
            2,
            |s| s,
        );
        assert_eq!(w.items, ["x11", "x10"]);
        assert_eq!(
            (w.newer.as_deref(), w.older.as_deref()),
            (Some("x11"), Some("x10"))
        );
        let at_top = c.window(vec!["x10".to_string()], 2, |s| s);
        assert_eq!((at_top.newer, at_top.older.as_deref()), (None, Some("x10")));
    }
}
