//! Parsers of the command line's values: each checks its value and says in
//! words what was expected.

/// A length of time in minutes, above 0.
pub fn positive_minutes(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{text}' is not a number of minutes above 0")),
    }
}

/// A share in 0..=1.
pub fn share(text: &str) -> Result<f64, String> {
    let v: f64 = text.parse().map_err(|_| format!("'{text}' is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err("must be between 0 and 1".into())
    }
}

/// A number of times, 1 or more (--hard-negative-emphasis).
pub fn emphasis(text: &str) -> Result<f64, String> {
    let v: f64 = text.parse().map_err(|_| format!("'{text}' is not a number"))?;
    if v.is_finite() && v >= 1.0 {
        Ok(v)
    } else {
        Err("must be a number of times, 1 or more".into())
    }
}
