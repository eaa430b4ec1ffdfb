//! The words the GUI shows for each state, kept apart from drawing so they
//! can be tested.

use crate::checks::CHECK_WINDOWS;
use crate::snapshot::{Check, State};

/// How a message should look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Ok,
    Waiting,
    Problem,
}

/// One-line status text and its severity.
pub fn state_line(state: &State) -> (String, Severity) {
    match state {
        State::Inactive => (
            "not processing yet (start playback in the host)".into(),
            Severity::Waiting,
        ),
        State::LoadingModel => ("loading model...".into(), Severity::Waiting),
        State::NoModel => (crate::loader::NO_DEFAULT_MODEL.into(), Severity::Problem),
        State::ModelFailed(_) => ("model failed to load (see below)".into(), Severity::Problem),
        State::OrtNotFound(_) => ("ONNX Runtime not found (see below)".into(), Severity::Problem),
        State::NoSidechain => (
            "no sidechain: route the rest of the track to the \"Condition\" input".into(),
            Severity::Problem,
        ),
        State::Listening { heard_seconds } => (format!("listening... {heard_seconds:.1} s of 5 s"), Severity::Waiting),
        State::Silent { condition, stem } => {
            let which = match (condition, stem) {
                (true, true) => "both inputs are",
                (true, false) => "the condition (sidechain) is",
                _ => "the stem (main input) is",
            };
            (
                format!("silent: {which} below the silence threshold"),
                Severity::Waiting,
            )
        }
        State::Scoring => ("scoring".into(), Severity::Ok),
    }
}

/// A check's line ("key", "timing"), and how it should look; `None` while
/// it is off.
pub fn check_line(label: &str, check: &Check) -> Option<(String, Severity)> {
    let seconds = |windows: usize| windows * cocola::contract::WINDOW_SAMPLES / cocola::contract::SAMPLE_RATE as usize;
    Some(match check {
        Check::Off => return None,
        Check::Waiting => (format!("{label}: waiting for the first 5 s"), Severity::Waiting),
        Check::Unavailable(why) => (format!("{label}: no check ({why})"), Severity::Waiting),
        Check::Read {
            flagged,
            windows,
            words,
            ..
        } => {
            let over = if *windows < CHECK_WINDOWS {
                format!("first {} s", seconds(*windows))
            } else {
                format!("last {} s", seconds(*windows))
            };
            let severity = if *flagged { Severity::Problem } else { Severity::Ok };
            (format!("{label} ({over}): {words}"), severity)
        }
    })
}

/// The long explanation under the model picker, for states that need one.
pub fn problem_detail(state: &State) -> Option<&str> {
    match state {
        State::ModelFailed(m) | State::OrtNotFound(m) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_distinct_words() {
        let states = [
            State::Inactive,
            State::LoadingModel,
            State::NoModel,
            State::ModelFailed("x".into()),
            State::OrtNotFound("y".into()),
            State::NoSidechain,
            State::Listening { heard_seconds: 3.2 },
            State::Silent {
                condition: true,
                stem: false,
            },
            State::Scoring,
        ];
        let lines: Vec<String> = states.iter().map(|s| state_line(s).0).collect();
        for (i, a) in lines.iter().enumerate() {
            for b in &lines[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(lines[6], "listening... 3.2 s of 5 s");
        assert!(lines[2].contains("no default model installed"));
        assert_eq!(problem_detail(&states[4]), Some("y"));
    }

    #[test]
    fn a_check_line_names_the_span_it_read_and_warns_only_when_flagged() {
        let read = |flagged, windows| Check::Read {
            flagged,
            best: cocola::score::alternatives::Change::Transpose { semitones: 2 },
            gain: 0.5,
            windows,
            words: "WORDS".into(),
        };
        assert_eq!(check_line("key", &Check::Off), None);
        assert_eq!(
            check_line("key", &read(true, 2)),
            Some(("key (first 10 s): WORDS".into(), Severity::Problem))
        );
        assert_eq!(
            check_line("timing", &read(false, CHECK_WINDOWS)),
            Some(("timing (last 30 s): WORDS".into(), Severity::Ok))
        );
        assert_eq!(
            check_line("timing", &Check::Waiting),
            Some(("timing: waiting for the first 5 s".into(), Severity::Waiting))
        );
    }
}
