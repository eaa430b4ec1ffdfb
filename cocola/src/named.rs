//! Enums picked by name on command lines and in files (modes, input kinds,
//! poolings): one way to print them and to parse them.

/// Implements `Display` (the value's `name()`) and `FromStr` (by name, ASCII
/// case ignored; an error listing every name) for an enum with an `ALL`
/// array and `fn name(self) -> &'static str`. `$what` names the enum in
/// the error: "unknown mode 'x' (expected both, harmonic or percussive)".
macro_rules! named_enum {
    ($t:ty, $what:literal) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let all = <$t>::ALL;
                all.into_iter()
                    .find(|v| v.name().eq_ignore_ascii_case(s))
                    .ok_or_else(|| {
                        let names: Vec<&str> = all.iter().map(|v| v.name()).collect();
                        format!(
                            "unknown {} '{s}' (expected {})",
                            $what,
                            crate::named::either(&names)
                        )
                    })
            }
        }
    };
}
pub(crate) use named_enum;

/// `a`, `a or b`, `a, b or c`.
pub fn either(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::either;

    #[test]
    fn lists_read_as_alternatives() {
        assert_eq!(either(&["a"]), "a");
        assert_eq!(either(&["a", "b"]), "a or b");
        assert_eq!(either(&["a", "b", "c"]), "a, b or c");
    }
}
