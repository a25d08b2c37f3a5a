//! The one-time setup token: printed to the log on a start with no admin, and the only way to
//! create the first admin through the browser.

use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct SetupToken(Arc<Mutex<Option<String>>>);

impl SetupToken {
    pub fn open(token: String) -> SetupToken {
        SetupToken(Arc::new(Mutex::new(Some(token))))
    }

    pub fn is_open(&self) -> bool {
        self.0.lock().map(|t| t.is_some()).unwrap_or(false)
    }

    /// Constant-time comparison, so the token cannot be guessed byte by byte.
    pub fn check(&self, candidate: &str) -> bool {
        let Ok(guard) = self.0.lock() else {
            return false;
        };
        let Some(token) = guard.as_deref() else {
            return false;
        };
        crate::crypto::constant_time_eq(token.as_bytes(), candidate.trim().as_bytes())
    }

    pub fn close(&self) {
        if let Ok(mut t) = self.0.lock() {
            *t = None;
        }
    }
}

impl std::fmt::Debug for SetupToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SetupToken(open: {})", self.is_open())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_works_until_closed() {
        let t = SetupToken::open("abc123".into());
        assert!(t.check("abc123") && !t.check("abc124") && !t.check("abc"));
        t.close();
        assert!(!t.check("abc123") && !t.is_open());
        assert!(!SetupToken::default().check(""));
    }
}
