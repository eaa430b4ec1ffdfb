//! Minimal NumPy `.npy` reading and writing for `f32` arrays.
//!
//! Only what COCOLA exchanges with Python needs: little-endian `'<f4'`, C
//! (row-major) order, any shape. Writing always produces format version 1.0,
//! which every NumPy reads; reading also accepts versions 2.0 and 3.0 (they
//! only widen the header-length field and allow UTF-8 in the header), because
//! NumPy switches to them by itself for very large headers. Anything else
//! (another dtype, Fortran order, big-endian, pickled objects) is refused with
//! an error that says what was found, instead of being misread.

use std::path::Path;

/// What can go wrong reading or writing an `.npy` file.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("not a .npy file (missing the \\x93NUMPY magic)")]
    BadMagic,
    #[error("unsupported .npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)")]
    UnsupportedVersion { major: u8, minor: u8 },
    #[error("truncated .npy file: {0}")]
    Truncated(&'static str),
    #[error("malformed .npy header: {0}")]
    BadHeader(String),
    #[error("unsupported dtype {0:?}: only little-endian float32 ('<f4') is supported")]
    UnsupportedDtype(String),
    #[error("Fortran-ordered arrays are not supported (need C order)")]
    FortranOrder,
    #[error("data has {found} bytes but shape {shape:?} of float32 needs {expected}")]
    DataLength {
        shape: Vec<usize>,
        expected: usize,
        found: usize,
    },
    #[error("shape {shape:?} has {expected} elements but {found} values were given")]
    ShapeMismatch {
        shape: Vec<usize>,
        expected: usize,
        found: usize,
    },
    #[error("shape {0:?} is too large")]
    ShapeTooLarge(Vec<usize>),
}

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Reads an `.npy` file holding a float32 array: `(shape, data in C order)`.
pub fn read_f32(path: impl AsRef<Path>) -> Result<(Vec<usize>, Vec<f32>), NpyError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| NpyError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_f32(&bytes)
}

/// Writes `data` (C order) with `shape` as a version 1.0 `.npy` file of `'<f4'`.
pub fn write_f32(path: impl AsRef<Path>, shape: &[usize], data: &[f32]) -> Result<(), NpyError> {
    let path = path.as_ref();
    let bytes = encode_f32(shape, data)?;
    std::fs::write(path, bytes).map_err(|source| NpyError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Parses the bytes of an `.npy` file holding a float32 array.
pub fn parse_f32(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>), NpyError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(NpyError::BadMagic);
    }
    if bytes.len() < 8 {
        return Err(NpyError::Truncated("no version"));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, header_start): (usize, usize) = match (major, minor) {
        (1, 0) => {
            let len = bytes.get(8..10).ok_or(NpyError::Truncated("no header length"))?;
            (u16::from_le_bytes([len[0], len[1]]) as usize, 10)
        }
        (2, 0) | (3, 0) => {
            let len = bytes.get(8..12).ok_or(NpyError::Truncated("no header length"))?;
            (u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize, 12)
        }
        _ => return Err(NpyError::UnsupportedVersion { major, minor }),
    };
    let header_end = header_start
        .checked_add(header_len)
        .filter(|&end| end <= bytes.len())
        .ok_or(NpyError::Truncated("header longer than the file"))?;
    let header = std::str::from_utf8(&bytes[header_start..header_end])
        .map_err(|_| NpyError::BadHeader("header is not text".into()))?;
    let shape = parse_header(header)?;

    let count = element_count(&shape)?;
    let payload = &bytes[header_end..];
    let expected = count
        .checked_mul(4)
        .ok_or_else(|| NpyError::ShapeTooLarge(shape.clone()))?;
    if payload.len() != expected {
        return Err(NpyError::DataLength {
            shape,
            expected,
            found: payload.len(),
        });
    }
    let data = payload
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((shape, data))
}

/// Encodes a float32 array as the bytes of a version 1.0 `.npy` file.
pub fn encode_f32(shape: &[usize], data: &[f32]) -> Result<Vec<u8>, NpyError> {
    let expected = element_count(shape)?;
    if expected != data.len() {
        return Err(NpyError::ShapeMismatch {
            shape: shape.to_vec(),
            expected,
            found: data.len(),
        });
    }
    let shape_text = match shape {
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // NumPy pads the header with spaces and a final newline so that the data
    // starts on a 64-byte boundary (magic 6 + version 2 + length 2 = 10 bytes).
    let unpadded = 10 + header.len() + 1;
    header.extend(std::iter::repeat_n(' ', (64 - unpadded % 64) % 64));
    header.push('\n');
    let header_len = u16::try_from(header.len()).map_err(|_| NpyError::ShapeTooLarge(shape.to_vec()))?;

    let mut out = Vec::with_capacity(10 + header.len() + 4 * data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

fn element_count(shape: &[usize]) -> Result<usize, NpyError> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| NpyError::ShapeTooLarge(shape.to_vec()))
}

/// Parses the header, a Python dict literal such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 64, 501), }`,
/// and returns the shape after checking dtype and order.
fn parse_header(header: &str) -> Result<Vec<usize>, NpyError> {
    let body = header.trim();
    let body = body
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .ok_or_else(|| NpyError::BadHeader(format!("not a dict: {body:?}")))?;

    let descr = dict_value(body, "descr")?;
    let descr = unquote(descr).ok_or_else(|| NpyError::BadHeader(format!("descr {descr:?}")))?;
    // Float32 is always written with an explicit byte order ('<f4' or '>f4');
    // only little-endian is read, so big-endian files fail instead of being misread.
    if descr != "<f4" {
        return Err(NpyError::UnsupportedDtype(descr.to_string()));
    }

    match dict_value(body, "fortran_order")? {
        "False" => {}
        "True" => return Err(NpyError::FortranOrder),
        other => return Err(NpyError::BadHeader(format!("fortran_order {other:?}"))),
    }

    let shape = dict_value(body, "shape")?;
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| NpyError::BadHeader(format!("shape {shape:?}")))?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|d| {
            d.parse::<usize>()
                .map_err(|_| NpyError::BadHeader(format!("shape dimension {d:?}")))
        })
        .collect()
}

/// The raw text of the value of `key` in the dict body: up to the next
/// top-level comma (commas inside the shape tuple do not end it).
fn dict_value<'a>(body: &'a str, key: &str) -> Result<&'a str, NpyError> {
    let missing = || NpyError::BadHeader(format!("no '{key}' entry"));
    let start = ["'", "\""]
        .iter()
        .find_map(|q| body.find(&format!("{q}{key}{q}")).map(|i| i + key.len() + 2))
        .ok_or_else(missing)?;
    let rest = body[start..].trim_start();
    let rest = rest.strip_prefix(':').ok_or_else(missing)?.trim_start();
    let mut depth = 0usize;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => return Ok(rest[..i].trim()),
            _ => {}
        }
    }
    Ok(rest.trim())
}

fn unquote(s: &str) -> Option<&str> {
    s.strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| s.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a file the way NumPy would, with an arbitrary header text.
    fn with_header(version: (u8, u8), header: &str, payload: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[version.0, version.1]);
        if version.0 == 1 {
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn round_trip_preserves_shape_and_bits() {
        let shape = [2, 3, 4];
        let data: Vec<f32> = (0..24).map(|i| i as f32 * -0.37 + 1e-30).collect();
        let bytes = encode_f32(&shape, &data).unwrap();
        assert_eq!((bytes.len() - 4 * 24) % 64, 0, "data must start 64-byte aligned");
        let (s, d) = parse_f32(&bytes).unwrap();
        assert_eq!(s, shape);
        assert_eq!(
            d.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            data.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn one_dimensional_and_scalar_shapes() {
        let bytes = encode_f32(&[3], &[1.0, 2.0, 3.0]).unwrap();
        let header = std::str::from_utf8(&bytes[10..bytes.len() - 12]).unwrap();
        assert!(header.contains("'shape': (3,)"), "{header}");
        assert_eq!(parse_f32(&bytes).unwrap(), (vec![3], vec![1.0, 2.0, 3.0]));

        let scalar = encode_f32(&[], &[7.5]).unwrap();
        assert_eq!(parse_f32(&scalar).unwrap(), (vec![], vec![7.5]));
    }

    #[test]
    fn reads_and_writes_numpy_bytes_exactly() {
        // Byte-for-byte what numpy 1.26 writes for np.array([1.0, -2.5], np.float32).
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
        let mut numpy = MAGIC.to_vec();
        numpy.extend_from_slice(&[1, 0, 0x76, 0]);
        numpy.extend_from_slice(header.as_bytes());
        numpy.extend_from_slice(" ".repeat(0x76 - header.len() - 1).as_bytes());
        numpy.push(b'\n');
        numpy.extend_from_slice(&[0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0]);
        assert_eq!(numpy.len(), 136);
        assert_eq!(parse_f32(&numpy).unwrap(), (vec![2], vec![1.0, -2.5]));
        assert_eq!(encode_f32(&[2], &[1.0, -2.5]).unwrap(), numpy);
    }

    #[test]
    fn reads_version_2_and_3() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }\n";
        for v in [(2, 0), (3, 0)] {
            let bytes = with_header(v, header, &1.5f32.to_le_bytes());
            assert_eq!(parse_f32(&bytes).unwrap(), (vec![1, 1], vec![1.5]));
        }
    }

    #[test]
    fn refuses_other_dtypes_orders_and_versions() {
        let f8 = with_header(
            (1, 0),
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
            &[0; 8],
        );
        assert!(matches!(parse_f32(&f8), Err(NpyError::UnsupportedDtype(d)) if d == "<f8"));
        let be = with_header(
            (1, 0),
            "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
            &[0; 4],
        );
        assert!(matches!(parse_f32(&be), Err(NpyError::UnsupportedDtype(_))));
        let fortran = with_header(
            (1, 0),
            "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
            &[0; 4],
        );
        assert!(matches!(parse_f32(&fortran), Err(NpyError::FortranOrder)));
        let v4 = with_header((4, 0), "{}", &[]);
        assert!(matches!(
            parse_f32(&v4),
            Err(NpyError::UnsupportedVersion { major: 4, minor: 0 })
        ));
        assert!(matches!(parse_f32(b"PK\x03\x04 zip"), Err(NpyError::BadMagic)));
    }

    #[test]
    fn refuses_truncated_and_inconsistent_files() {
        let bytes = encode_f32(&[4], &[1.0; 4]).unwrap();
        assert!(matches!(
            parse_f32(&bytes[..bytes.len() - 1]),
            Err(NpyError::DataLength {
                expected: 16,
                found: 15,
                ..
            })
        ));
        assert!(matches!(parse_f32(&bytes[..20]), Err(NpyError::Truncated(_))));
        let bad_shape = with_header((1, 0), "{'descr': '<f4', 'fortran_order': False, 'shape': (a,), }", &[]);
        assert!(matches!(parse_f32(&bad_shape), Err(NpyError::BadHeader(_))));
        let no_shape = with_header((1, 0), "{'descr': '<f4', 'fortran_order': False}", &[]);
        assert!(matches!(parse_f32(&no_shape), Err(NpyError::BadHeader(_))));
        let huge = with_header(
            (1, 0),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551615, 2), }",
            &[],
        );
        assert!(matches!(parse_f32(&huge), Err(NpyError::ShapeTooLarge(_))));
    }

    #[test]
    fn write_checks_shape_against_data() {
        assert!(matches!(
            encode_f32(&[2, 2], &[0.0; 3]),
            Err(NpyError::ShapeMismatch {
                expected: 4,
                found: 3,
                ..
            })
        ));
    }

    #[test]
    fn file_round_trip_and_io_error_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        write_f32(&path, &[2, 1], &[0.25, -4.0]).unwrap();
        assert_eq!(read_f32(&path).unwrap(), (vec![2, 1], vec![0.25, -4.0]));
        let missing = dir.path().join("missing.npy");
        let err = read_f32(&missing).unwrap_err().to_string();
        assert!(err.contains("missing.npy"), "{err}");
    }
}
