//! What every messenger driver needs on the wire: texts cut to the provider's length, secrets
//! compared in constant time.

/// Splits a text into parts of at most `max` characters, at line ends where it can (a part
/// ends early rather than cutting the line after it). Blank parts are dropped.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let (mut current, mut length) = (String::new(), 0);
    for line in text.split_inclusive('\n') {
        let line_length = line.chars().count();
        if length > 0 && length + line_length > max {
            parts.push(std::mem::take(&mut current));
            length = 0;
        }
        for c in line.chars() {
            if length == max {
                parts.push(std::mem::take(&mut current));
                length = 0;
            }
            current.push(c);
            length += 1;
        }
    }
    parts.push(current);
    parts.into_iter().map(|p| p.trim_end().to_owned()).filter(|p| !p.trim().is_empty()).collect()
}

/// Compares without telling how much matched.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_at_line_ends() {
        let long = "строка\n".repeat(1500);
        let parts = split_text(&long, 4096);
        assert!(parts.len() == 3 && parts.iter().all(|p| p.chars().count() <= 4096), "{}", parts.len());
        assert_eq!(parts.concat().replace('\n', ""), long.replace('\n', ""));
        let one_line = "я".repeat(9000);
        assert_eq!(split_text(&one_line, 4096).iter().map(|p| p.chars().count()).collect::<Vec<_>>(), [4096, 4096, 808]);
        assert_eq!(split_text("  \n ", 10), Vec::<String>::new());
        assert_eq!(split_text("Добрый день", 4096), ["Добрый день"]);
    }

    #[test]
    fn comparison() {
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"abc", b"ab"));
    }
}
