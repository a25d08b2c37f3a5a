//! Minimal RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF line ends, and OWASP's rule
//! against formula injection, written so that [`parse`] undoes exactly what [`line`] did.

/// Characters a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell a spreadsheet would run as a formula gets a leading `'`, which makes it text. A cell
/// that already starts with `'` gets one too, so the import can always remove exactly one:
/// every exported value imports back as itself.
fn neutralize(field: &str) -> std::borrow::Cow<'_, str> {
    match field.chars().next() {
        Some(c) if FORMULA_START.contains(&c) || c == '\'' => format!("'{field}").into(),
        _ => field.into(),
    }
}

/// The reverse of [`neutralize`], for each parsed field. A hand-written file's `'abc` stays as
/// it is; only a quote in front of what [`neutralize`] would have quoted is taken off.
fn restore(field: String) -> String {
    let mut chars = field.chars();
    match (chars.next(), chars.next()) {
        (Some('\''), Some(c)) if FORMULA_START.contains(&c) || c == '\'' => field[1..].to_string(),
        _ => field,
    }
}

pub fn escape(field: &str) -> String {
    let field = neutralize(field);
    if field.starts_with('\'') || field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.into_owned()
    }
}

pub fn line(fields: &[&str]) -> String {
    let mut s = fields
        .iter()
        .map(|f| escape(f))
        .collect::<Vec<_>>()
        .join(",");
    s.push_str("\r\n");
    s
}

/// Parses CSV text into records (each a list of fields). Blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = vec![];
    let mut record = vec![];
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => record.push(restore(std::mem::take(&mut field))),
            '\r' => {}
            '\n' => {
                line += 1;
                record.push(restore(std::mem::take(&mut field)));
                if !(record.len() == 1 && record[0].trim().is_empty()) {
                    records.push(std::mem::take(&mut record));
                }
                record.clear();
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(format!("Line {line}: a quoted field is not closed."));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(restore(field));
        if !(record.len() == 1 && record[0].trim().is_empty()) {
            records.push(record);
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_awkward_fields() {
        let row = [
            "ada",
            "Ada \"the\" Countess, of Lovelace",
            "line one\nline two",
        ];
        let text = format!(
            "{}{}",
            line(&["username", "display_name", "notes"]),
            line(&row)
        );
        let parsed = parse(&text).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1], row.map(String::from));
    }

    #[test]
    fn formulas_are_neutralized_and_import_back_as_themselves() {
        let row = [
            "=HYPERLINK(\"http://evil.test\",\"x\")",
            "+1+2",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "'quoted",
            "''twice",
            "'=already",
            "plain - text = fine",
        ];
        for cell in row {
            let written = escape(cell);
            let inner = written.strip_prefix('"').unwrap_or(&written);
            let first = inner.chars().next().unwrap();
            assert!(
                !"=+-@\t\r".contains(first),
                "{written} would run as a formula"
            );
        }
        let text = line(&row);
        assert_eq!(parse(&text).unwrap(), vec![row.map(String::from).to_vec()]);
        // A hand-written file: a quote in front of ordinary text is kept.
        assert_eq!(parse("'abc,x\n").unwrap(), vec![vec!["'abc", "x"]]);
    }

    #[test]
    fn tolerates_lf_blank_lines_and_a_missing_final_newline() {
        let parsed = parse("a,b\n\nc,d").unwrap();
        assert_eq!(parsed, vec![vec!["a", "b"], vec!["c", "d"]]);
        assert!(parse("a,\"open").is_err());
    }
}
