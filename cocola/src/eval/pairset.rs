//! Reading a pair set (paper Table III): which condition goes with which stem.
//!
//! Two layouts:
//! - a CSV file with `condition,stem` paths, one pair per row. A first row
//!   naming the columns (`condition`, `stem`, optionally `id`, in any order,
//!   other columns ignored) is a header; without one, two columns are
//!   `condition,stem` and three are `id,condition,stem`. Relative paths are
//!   relative to the CSV's folder, so a set can be moved as a whole. Blank
//!   rows and rows starting with `#` are skipped. Without an id column, a
//!   pair's id is its row number in the file. Two more optional columns,
//!   `group` and `kind` (both or neither), make a comparison set: the pairs
//!   of a group share a condition, one of them is the coherent stem (kind
//!   `coherent`, `true`, `positive` or `original`) and the others negatives
//!   of the kinds named (e.g. `transposed`, `shifted`); see
//!   [`comparisons`](super::comparisons).
//! - a folder `SET/<id>/condition.<ext>` + `SET/<id>/stem.<ext>`, any audio
//!   extension; the id is the subfolder's name.
//!
//! A malformed CSV is an error (nothing sensible can be scored from it); a
//! pair whose files are missing is not: it is listed with its problem and
//! reported as failed, like a pair whose audio does not decode.

use std::path::{Path, PathBuf};

use crate::files::{is_audio_file, sorted_entries, stem_name};

/// One pair to score.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairSpec {
    pub id: String,
    pub condition: PathBuf,
    pub stem: PathBuf,
    /// Set when the pair cannot be scored before decoding anything (e.g. a
    /// file is missing in the folder layout).
    pub problem: Option<String>,
    /// The pair's group and kind in a comparison set.
    pub comparison: Option<Comparison>,
}

/// Where a pair stands in a comparison set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    /// Pairs of one group share their condition.
    pub group: String,
    /// `coherent` (or `true`, `positive`, `original`) for the stem that
    /// belongs, else the kind of negative, e.g. `transposed`.
    pub kind: String,
}

impl Comparison {
    /// Whether this pair's stem is the coherent one of its group.
    pub fn is_coherent(&self) -> bool {
        ["coherent", "true", "positive", "original"]
            .iter()
            .any(|k| self.kind.eq_ignore_ascii_case(k))
    }
}

/// Why a pair set could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum PairSetError {
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{}, line {line}: {message}", path.display())]
    Csv { path: PathBuf, line: u64, message: String },
    #[error("{}: no pairs found ({hint})", path.display())]
    Empty { path: PathBuf, hint: &'static str },
}

/// Reads a pair set from a CSV file or a folder, whichever `path` is.
pub fn read_pair_set(path: &Path) -> Result<Vec<PairSpec>, PairSetError> {
    let meta = std::fs::metadata(path).map_err(|error| PairSetError::Io {
        path: path.to_owned(),
        error,
    })?;
    if meta.is_dir() {
        read_pair_folder(path)
    } else {
        read_pair_csv(path)
    }
}

/// Column positions of a CSV pair set.
struct Columns {
    id: Option<usize>,
    condition: usize,
    stem: usize,
    /// `group` and `kind` columns, when the set is a comparison set.
    comparison: Option<(usize, usize)>,
    width: usize,
}

impl Columns {
    fn from_header(fields: &[String]) -> Option<Self> {
        let find = |name: &str| fields.iter().position(|f| f.eq_ignore_ascii_case(name));
        Some(Self {
            id: find("id"),
            condition: find("condition")?,
            stem: find("stem")?,
            comparison: find("group").zip(find("kind")),
            width: fields.len(),
        })
    }

    fn positional(width: usize) -> Option<Self> {
        match width {
            2 => Some(Self {
                id: None,
                condition: 0,
                stem: 1,
                comparison: None,
                width,
            }),
            3 => Some(Self {
                id: Some(0),
                condition: 1,
                stem: 2,
                comparison: None,
                width,
            }),
            _ => None,
        }
    }
}

/// Reads the CSV layout.
pub fn read_pair_csv(path: &Path) -> Result<Vec<PairSpec>, PairSetError> {
    let bytes = std::fs::read(path).map_err(|error| PairSetError::Io {
        path: path.to_owned(),
        error,
    })?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let csv_error = |line: u64, message: String| PairSetError::Csv {
        path: path.to_owned(),
        line,
        message,
    };

    let mut columns: Option<Columns> = None;
    let mut pairs = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            csv_error(line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let fields: Vec<String> = record.iter().map(str::to_owned).collect();
        if fields.iter().all(String::is_empty) {
            continue;
        }
        if columns.is_none() {
            if let Some(header) = Columns::from_header(&fields) {
                let named = |name: &str| fields.iter().any(|f| f.eq_ignore_ascii_case(name));
                if named("group") != named("kind") {
                    return Err(csv_error(
                        line,
                        "a comparison set needs both a 'group' and a 'kind' column".into(),
                    ));
                }
                columns = Some(header);
                continue;
            }
            let positional = Columns::positional(fields.len()).ok_or_else(|| {
                csv_error(
                    line,
                    format!(
                        "expected 2 columns (condition,stem) or 3 (id,condition,stem), or a header \
                         naming 'condition' and 'stem'; found {} column(s)",
                        fields.len()
                    ),
                )
            })?;
            columns = Some(positional);
        }
        let Some(cols) = &columns else { continue };
        if fields.len() != cols.width {
            return Err(csv_error(
                line,
                format!("expected {} columns, found {}", cols.width, fields.len()),
            ));
        }
        let field = |i: usize, what: &str| -> Result<&str, PairSetError> {
            let value = fields[i].as_str();
            if value.is_empty() {
                Err(csv_error(line, format!("empty {what}")))
            } else {
                Ok(value)
            }
        };
        let id = match cols.id {
            Some(i) => field(i, "id")?.to_owned(),
            None => line.to_string(),
        };
        let comparison = match cols.comparison {
            Some((group, kind)) => Some(Comparison {
                group: field(group, "group")?.to_owned(),
                kind: field(kind, "kind")?.to_owned(),
            }),
            None => None,
        };
        pairs.push(PairSpec {
            id,
            condition: base.join(field(cols.condition, "condition path")?),
            stem: base.join(field(cols.stem, "stem path")?),
            problem: None,
            comparison,
        });
    }
    if pairs.is_empty() {
        return Err(PairSetError::Empty {
            path: path.to_owned(),
            hint: "the CSV has no data rows",
        });
    }
    Ok(pairs)
}

/// Reads the folder layout: one subfolder per pair.
pub fn read_pair_folder(dir: &Path) -> Result<Vec<PairSpec>, PairSetError> {
    let io = |path: &Path, error| PairSetError::Io {
        path: path.to_owned(),
        error,
    };
    let mut pairs = Vec::new();
    for sub in sorted_entries(dir).map_err(|e| io(dir, e))? {
        if !sub.is_dir() {
            continue;
        }
        let files = sorted_entries(&sub).map_err(|e| io(&sub, e))?;
        let find = |name: &str| -> Result<PathBuf, String> {
            let found: Vec<&PathBuf> = files
                .iter()
                .filter(|f| is_audio_file(f) && stem_name(f) == name)
                .collect();
            match found.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err(format!("no {name}.<audio extension> file in {}", sub.display())),
                many => Err(format!(
                    "{} {name}.* files in {}, expected one",
                    many.len(),
                    sub.display()
                )),
            }
        };
        let id = sub
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (condition, stem) = (find("condition"), find("stem"));
        let problem = [&condition, &stem]
            .iter()
            .filter_map(|r| r.as_ref().err().cloned())
            .reduce(|a, b| a + "; " + &b);
        let placeholder = |name: &str| sub.join(format!("{name}.*"));
        pairs.push(PairSpec {
            id,
            condition: condition.unwrap_or_else(|_| placeholder("condition")),
            stem: stem.unwrap_or_else(|_| placeholder("stem")),
            problem,
            comparison: None,
        });
    }
    if pairs.is_empty() {
        return Err(PairSetError::Empty {
            path: dir.to_owned(),
            hint: "expected subfolders <id>/ holding condition.<ext> and stem.<ext>",
        });
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn csv_with_header_in_any_order_and_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("sets/pairs.csv");
        write(
            &csv,
            "stem,extra,condition,id\n s1.wav ,x, c1.wav,first\n\n# a comment\n/abs/s2.wav,y,sub/c2.wav,second\n",
        );
        let pairs = read_pair_set(&csv).unwrap();
        let base = dir.path().join("sets");
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].id, "first");
        assert_eq!(pairs[0].condition, base.join("c1.wav"));
        assert_eq!(pairs[0].stem, base.join("s1.wav"));
        assert_eq!(pairs[1].condition, base.join("sub/c2.wav"));
        assert_eq!(pairs[1].stem, PathBuf::from("/abs/s2.wav"));
    }

    #[test]
    fn csv_without_header_two_or_three_columns() {
        let dir = tempfile::tempdir().unwrap();
        let two = dir.path().join("two.csv");
        write(&two, "a.wav,b.wav\nc.wav,d.wav\n");
        let pairs = read_pair_csv(&two).unwrap();
        assert_eq!((pairs[0].id.as_str(), pairs[1].id.as_str()), ("1", "2"));
        assert_eq!(pairs[1].stem, dir.path().join("d.wav"));
        let three = dir.path().join("three.csv");
        write(&three, "p1,a.wav,b.wav\n");
        let pairs = read_pair_csv(&three).unwrap();
        assert_eq!(pairs[0].id, "p1");
        assert_eq!(pairs[0].condition, dir.path().join("a.wav"));
    }

    #[test]
    fn malformed_csv_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.csv");
        write(&bad, "a.wav,b.wav\nc.wav\n");
        let message = read_pair_csv(&bad).unwrap_err().to_string();
        assert!(message.contains("bad.csv") && message.contains("line 2"), "{message}");
        write(&bad, "one column\n");
        assert!(read_pair_csv(&bad).is_err());
        write(&bad, "condition,stem\n");
        assert!(matches!(read_pair_csv(&bad), Err(PairSetError::Empty { .. })));
        write(&bad, "condition,stem\nx.wav,\n");
        assert!(read_pair_csv(&bad).unwrap_err().to_string().contains("empty stem path"));
        assert!(matches!(
            read_pair_set(&dir.path().join("missing.csv")),
            Err(PairSetError::Io { .. })
        ));
    }

    #[test]
    fn folder_layout_with_missing_and_ambiguous_files() {
        let dir = tempfile::tempdir().unwrap();
        let set = dir.path();
        write(&set.join("b/condition.flac"), "");
        write(&set.join("b/stem.WAV"), "");
        write(&set.join("b/notes.txt"), "");
        write(&set.join("a/condition.wav"), "");
        write(&set.join("c/stem.wav"), "");
        write(&set.join("c/stem.mp3"), "");
        write(&set.join("readme.txt"), "");
        let pairs = read_pair_set(set).unwrap();
        let ids: Vec<&str> = pairs.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert!(pairs[0].problem.as_ref().unwrap().contains("no stem."));
        assert_eq!(pairs[1].problem, None);
        assert_eq!(pairs[1].stem, set.join("b/stem.WAV"));
        let c = pairs[2].problem.as_ref().unwrap();
        assert!(c.contains("no condition.") && c.contains("2 stem.* files"), "{c}");
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(read_pair_set(empty.path()), Err(PairSetError::Empty { .. })));
    }
}
