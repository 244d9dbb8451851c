//! Reply templates' variables: `{{customer.name}}`, `{{case.number}}` … filled in for the case at
//! hand.

/// Fills `{{name}}` placeholders from `values`; unknown placeholders stay as they are, so a
/// typo shows up in the draft instead of silently vanishing.
pub fn fill(body: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let key = after[..end].trim();
                match values.iter().find(|(k, _)| *k == key) {
                    Some((_, value)) => out.push_str(value),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_filled() {
        let values = [("customer.name", "Ольга".to_owned()), ("case.number", "1042".to_owned())];
        assert_eq!(
            super::fill("Здравствуйте, {{ customer.name }}! По обращению #{{case.number}} {{unknown}} {{", &values),
            "Здравствуйте, Ольга! По обращению #1042 {{unknown}} {{"
        );
    }
}
