//! PyTorch's file format (`torch.save` since PyTorch 1.6): a zip archive
//! `<name>/data.pkl` (the pickled object), `<name>/data/<key>` (one raw
//! little-endian storage per key, entries stored uncompressed), `<name>/byteorder`,
//! `<name>/version` and a few more.
//!
//! Inside the pickle a tensor is `torch._utils._rebuild_tensor_v2(storage,
//! offset, size, stride, requires_grad, backward_hooks[, metadata])` where
//! `storage` is the persistent id `('storage', torch.FloatStorage, key,
//! location, numel)`; a parameter wraps one in `_rebuild_parameter(tensor,
//! ...)`. [`TorchFile::tensor`] recognises these shapes in the inert value
//! tree of [`super::pickle`] and [`TorchFile::read_f32`] reads a tensor's
//! values from its storage, on demand: a checkpoint's optimizer state (twice
//! the network's size) is never read.

use std::io::{Read, Seek};

use zip::ZipArchive;

use super::pickle::{self, Node, NodeId, Pickle};
use super::ImportError;

/// The largest `data.pkl` read (the reference checkpoint's is ~120 kB).
const MAX_PICKLE_BYTES: u64 = 64 << 20;
/// What is reserved before reading an entry: its declared size, at most
/// this (a crafted header may claim any size; the real bytes grow the buffer).
const MAX_RESERVE: u64 = 16 << 20;
/// The largest tensor read (the largest COCOLA tensor has 655 360 values).
const MAX_TENSOR_VALUES: usize = 1 << 28;

/// Element type of a storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    F64,
    F16,
    BF16,
    /// Integer and boolean storages (step counters, `num_batches_tracked`).
    Other(&'static str),
}

impl DType {
    /// From a typed storage class (`torch.FloatStorage`) or a dtype
    /// (`torch.float32`, as `_rebuild_tensor_v3` passes it).
    fn from_torch_name(name: &str) -> Option<DType> {
        Some(match name {
            "FloatStorage" | "float32" | "float" => DType::F32,
            "DoubleStorage" | "float64" | "double" => DType::F64,
            "HalfStorage" | "float16" | "half" => DType::F16,
            "BFloat16Storage" | "bfloat16" => DType::BF16,
            "LongStorage" | "int64" | "long" => DType::Other("int64"),
            "IntStorage" | "int32" | "int" => DType::Other("int32"),
            "ShortStorage" | "int16" | "short" => DType::Other("int16"),
            "CharStorage" | "int8" => DType::Other("int8"),
            "ByteStorage" | "uint8" => DType::Other("uint8"),
            "BoolStorage" | "bool" => DType::Other("bool"),
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
            DType::F16 | DType::BF16 => 2,
            DType::Other("int64") => 8,
            DType::Other("int32") => 4,
            DType::Other("int16") => 2,
            DType::Other(_) => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::Other(name) => name,
        }
    }

    /// The value at the start of `b` as f32 (floating types only).
    fn to_f32(self, b: &[u8]) -> f32 {
        match self {
            DType::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            DType::F64 => f64::from_le_bytes(b[..8].try_into().expect("8 bytes")) as f32,
            DType::BF16 => f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16),
            DType::F16 => f16_to_f32(u16::from_le_bytes([b[0], b[1]])),
            DType::Other(_) => unreachable!("only floating storages are converted"),
        }
    }
}

/// IEEE half precision to single (exact: every f16 is an f32).
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exponent = u32::from((h >> 10) & 0x1f);
    let mantissa = u32::from(h & 0x3ff);
    let bits = match (exponent, mantissa) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: value m * 2^-24, normalised for f32.
            let shift = m.leading_zeros() - 21;
            sign | ((113 - shift) << 23) | (((m << shift) & 0x3ff) << 13)
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 112) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// Where a tensor's values are: a view into one storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorRef {
    pub storage: String,
    pub dtype: DType,
    pub storage_len: usize,
    pub offset: usize,
    pub shape: Vec<usize>,
    pub stride: Vec<usize>,
}

impl TensorRef {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An open torch file: its pickle, parsed, and the archive for the storages.
pub struct TorchFile<R: Read + Seek> {
    archive: ZipArchive<R>,
    prefix: String,
    pub pickle: Pickle,
}

/// The first bytes of the legacy (pre-1.6) torch format: a pickled magic number.
const LEGACY_MAGIC: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

impl<R: Read + Seek> TorchFile<R> {
    /// Opens `reader`; `head` is the file's first bytes, for the message when
    /// it is not a zip archive.
    pub fn open(reader: R, head: &[u8]) -> Result<Self, ImportError> {
        let not = |detail: &str| ImportError::NotACheckpoint(detail.to_string());
        if head.starts_with(LEGACY_MAGIC) {
            return Err(not(
                "it is in PyTorch's legacy format (before 1.6); load it in Python and save it again \
                 with torch.save from PyTorch 1.6 or newer",
            ));
        }
        if head.starts_with(b"\x1f\x8b") {
            return Err(not("it is gzip-compressed; decompress it first (gunzip)"));
        }
        if !head.starts_with(b"PK\x03\x04") {
            return Err(not("it is not a zip archive, the format torch.save writes"));
        }
        let mut archive = ZipArchive::new(reader).map_err(|e| {
            not(&format!(
                "its zip archive is unreadable ({e}); the file may be truncated"
            ))
        })?;
        let pickles: Vec<String> = archive
            .file_names()
            .filter_map(Result::ok)
            .filter(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
            .map(|n| n.into_owned())
            .collect();
        let data_pkl = match pickles.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(not(
                    "the zip archive has no <name>/data.pkl, so torch.save did not write it",
                ))
            }
            _ => return Err(not("the zip archive holds more than one data.pkl")),
        };
        let prefix = data_pkl.trim_end_matches("data.pkl").to_string();
        if let Ok(order) = read_entry(&mut archive, &format!("{prefix}byteorder"), 16) {
            if order != b"little" {
                return Err(not(
                    "its tensors are stored big-endian, which this importer does not read",
                ));
            }
        }
        let bytes = read_entry(&mut archive, &data_pkl, MAX_PICKLE_BYTES)?;
        let pickle = pickle::parse(&bytes).map_err(ImportError::Pickle)?;
        Ok(TorchFile {
            archive,
            prefix,
            pickle,
        })
    }

    /// The tensor `node` is, if it is one: `Some(Err)` for a tensor whose
    /// description is broken, `None` for anything that is not a tensor.
    pub fn tensor(&self, node: NodeId) -> Option<Result<TensorRef, String>> {
        self.tensor_within(node, 0)
    }

    /// [`Self::tensor`], `depth` wrappers deep: a parameter wraps one tensor,
    /// and a crafted file must not send this round a cycle forever.
    fn tensor_within(&self, node: NodeId, depth: usize) -> Option<Result<TensorRef, String>> {
        if depth > 2 {
            return Some(Err("its tensor is wrapped in itself".into()));
        }
        let p = &self.pickle;
        let Node::Object { callable, args, .. } = p.node(node) else {
            return None;
        };
        let (module, name) = p.global(*callable)?;
        if module != "torch._utils" {
            return None;
        }
        let args = p.seq(*args)?;
        match name {
            // (tensor, requires_grad, hooks[, state])
            "_rebuild_parameter" | "_rebuild_parameter_with_state" => self.tensor_within(*args.first()?, depth + 1),
            "_rebuild_tensor_v2" | "_rebuild_tensor" | "_rebuild_tensor_v3" => Some(self.tensor_args(name, args)),
            _ => None,
        }
    }

    /// `(storage, offset, size, stride, ...)`; v3 adds the dtype at index 6.
    fn tensor_args(&self, rebuild: &str, args: &[NodeId]) -> Result<TensorRef, String> {
        let p = &self.pickle;
        if args.len() < 4 {
            return Err(format!("{rebuild} has {} arguments, expected at least 4", args.len()));
        }
        let Node::PersistentId(pid) = p.node(args[0]) else {
            return Err(format!(
                "its storage is {}, not a storage reference",
                p.describe(args[0])
            ));
        };
        let pid = p.seq(*pid).ok_or("its storage reference is not a tuple")?;
        // ('storage', storage type, key, location, numel)
        if pid.len() != 5 || p.str(pid[0]) != Some("storage") {
            return Err("its storage reference is not ('storage', type, key, location, numel)".into());
        }
        let type_name = p.global(pid[1]).map(|(_, n)| n).unwrap_or("");
        let mut dtype = DType::from_torch_name(type_name);
        if rebuild == "_rebuild_tensor_v3" {
            let d = args.get(6).and_then(|&d| p.global(d)).map(|(_, n)| n).unwrap_or("");
            dtype = DType::from_torch_name(d);
        }
        let dtype = dtype.ok_or_else(|| format!("unknown storage type '{type_name}'"))?;
        let key = p.str(pid[2]).ok_or("its storage key is not a string")?;
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("storage key '{key}' is not a plain name"));
        }
        let count = |id: NodeId, what: &str| -> Result<usize, String> {
            p.int(id)
                .and_then(|v| usize::try_from(v).ok())
                .ok_or_else(|| format!("its {what} is {}, not a count", p.describe(id)))
        };
        let dims = |id: NodeId, what: &str| -> Result<Vec<usize>, String> {
            p.seq(id)
                .ok_or_else(|| format!("its {what} is not a tuple"))?
                .iter()
                .map(|&d| count(d, what))
                .collect()
        };
        let tensor = TensorRef {
            storage: key.to_string(),
            dtype,
            storage_len: count(pid[4], "storage size")?,
            offset: count(args[1], "storage offset")?,
            shape: dims(args[2], "size")?,
            stride: dims(args[3], "stride")?,
        };
        check_bounds(&tensor)?;
        Ok(tensor)
    }

    /// The values of a floating tensor, row-major, as f32.
    pub fn read_f32(&mut self, t: &TensorRef) -> Result<Vec<f32>, String> {
        if matches!(t.dtype, DType::Other(_)) {
            return Err(format!("it holds {} values, not floating point", t.dtype.name()));
        }
        let bytes_needed = t
            .storage_len
            .checked_mul(t.dtype.size())
            .ok_or("its storage size overflows")?;
        let name = format!("{}data/{}", self.prefix, t.storage);
        let storage = read_entry(&mut self.archive, &name, bytes_needed as u64).map_err(|e| e.to_string())?;
        if storage.len() != bytes_needed {
            return Err(format!(
                "storage {} holds {} bytes, its reference says {bytes_needed}",
                t.storage,
                storage.len()
            ));
        }
        let size = t.dtype.size();
        let mut out = Vec::with_capacity(t.len());
        let mut index = vec![0usize; t.shape.len()];
        for _ in 0..t.len() {
            let at = t.offset + index.iter().zip(&t.stride).map(|(i, s)| i * s).sum::<usize>();
            out.push(t.dtype.to_f32(&storage[at * size..(at + 1) * size]));
            // Next index, last dimension fastest.
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < t.shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        Ok(out)
    }
}

/// Fails unless every element of the view lies inside its storage (checked
/// arithmetic: a crafted size or stride must not overflow into range).
fn check_bounds(t: &TensorRef) -> Result<(), String> {
    if t.shape.len() != t.stride.len() {
        return Err(format!(
            "its size has {} dimensions, its stride {}",
            t.shape.len(),
            t.stride.len()
        ));
    }
    let len = t
        .shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_TENSOR_VALUES && t.storage_len <= MAX_TENSOR_VALUES)
        .ok_or("it is impossibly large")?;
    if len == 0 {
        return Ok(());
    }
    let last = t
        .shape
        .iter()
        .zip(&t.stride)
        .try_fold(t.offset, |at, (&d, &s)| {
            (d - 1).checked_mul(s).and_then(|x| at.checked_add(x))
        })
        .ok_or("its strides overflow")?;
    if last >= t.storage_len {
        return Err(format!(
            "it reads element {last} of a storage of {} elements",
            t.storage_len
        ));
    }
    Ok(())
}

/// Reads a whole (stored) zip entry of at most `limit` bytes.
fn read_entry<R: Read + Seek>(archive: &mut ZipArchive<R>, name: &str, limit: u64) -> Result<Vec<u8>, ImportError> {
    let bad = |detail: String| ImportError::NotACheckpoint(detail);
    let mut entry = archive
        .by_name(name)
        .map_err(|e| bad(format!("cannot read {name} from its zip archive: {e}")))?;
    if entry.size() > limit {
        return Err(bad(format!(
            "{name} is {} bytes, more than expected ({limit})",
            entry.size()
        )));
    }
    let mut bytes = Vec::with_capacity(entry.size().min(MAX_RESERVE) as usize);
    entry.by_ref().take(limit).read_to_end(&mut bytes).map_err(|e| {
        bad(format!(
            "cannot read {name} from its zip archive: {e}; the file may be corrupt"
        ))
    })?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_converts_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert_eq!(DType::BF16.to_f32(&[0x80, 0x3f]), 1.0);
    }

    fn view(offset: usize, shape: &[usize], stride: &[usize], storage_len: usize) -> TensorRef {
        TensorRef {
            storage: "0".into(),
            dtype: DType::F32,
            storage_len,
            offset,
            shape: shape.to_vec(),
            stride: stride.to_vec(),
        }
    }

    #[test]
    fn views_must_stay_inside_their_storage() {
        assert!(check_bounds(&view(0, &[2, 3], &[3, 1], 6)).is_ok());
        assert!(check_bounds(&view(1, &[2, 3], &[3, 1], 6)).is_err());
        assert!(check_bounds(&view(0, &[3, 2], &[1, 3], 6)).is_ok());
        assert!(check_bounds(&view(0, &[0, 5], &[5, 1], 0)).is_ok());
        assert!(check_bounds(&view(0, &[2], &[usize::MAX], 10)).is_err());
        assert!(check_bounds(&view(usize::MAX, &[2], &[1], 10)).is_err());
        assert!(check_bounds(&view(0, &[1 << 40, 1 << 40], &[1, 1], 10)).is_err());
        assert!(check_bounds(&view(0, &[2, 2], &[1], 10)).is_err());
        assert!(
            check_bounds(&view(0, &[2], &[1], usize::MAX)).is_err(),
            "a storage of impossible size"
        );
    }
}
