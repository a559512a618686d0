//! Splitting a command string into words as a POSIX shell does (quotes and backslashes only:
//! no variables, globs or operators), for `command` and `entrypoint` written as strings.

/// The words of `s`, or why it cannot be split (an unclosed quote, a trailing backslash).
pub(crate) fn split(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A word has started (even an empty one, `''`).
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => match chars.next() {
                // A backslash-newline joins lines.
                Some('\n') => {}
                Some(next) => {
                    word.push(next);
                    in_word = true;
                }
                None => return Err("it ends with a lone backslash".to_string()),
            },
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(q) => word.push(q),
                        None => return Err("a single quote is not closed".to_string()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('$' | '`' | '"' | '\\')) => word.push(e),
                            Some('\n') => {}
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => return Err("a double quote is not closed".to_string()),
                        },
                        Some(q) => word.push(q),
                        None => return Err("a double quote is not closed".to_string()),
                    }
                }
            }
            other => {
                word.push(other);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Vec<String> {
        split(s).unwrap()
    }

    #[test]
    fn words() {
        assert_eq!(ok("npm run start"), ["npm", "run", "start"]);
        assert_eq!(ok("  a \t b\n"), ["a", "b"]);
        assert_eq!(ok(""), Vec::<String>::new());
        assert_eq!(
            ok(r#"sh -c "echo 'hi there' && exit 1""#),
            ["sh", "-c", "echo 'hi there' && exit 1"]
        );
        assert_eq!(ok(r#"echo 'a "b" \c'"#), ["echo", r#"a "b" \c"#]);
        assert_eq!(ok(r#"a\ b c"#), ["a b", "c"]);
        assert_eq!(ok(r#""a\"b\$c\\d\e""#), [r#"a"b$c\d\e"#]);
        assert_eq!(ok(r#"x '' "" y"#), ["x", "", "", "y"]);
        assert_eq!(ok("a'b'\"c\"d"), ["abcd"]);
        assert_eq!(ok("a \\\nb"), ["a", "b"]);
    }

    #[test]
    fn unbalanced() {
        assert!(split("echo 'oops").is_err());
        assert!(split("echo \"oops").is_err());
        assert!(split("echo \"oops\\").is_err());
        assert!(split("echo \\").is_err());
    }
}
