//! Turns the weights of a global-pool network into those of a time-profile
//! network that computes exactly the same embeddings ([`Pooling`]), so that a
//! trained model (the shipped default, or the authors' checkpoint) can be
//! fine-tuned with the time profile without losing what it knows.
//!
//! Every tensor the two networks share is copied; the projection's new
//! input columns (those reading the time profile) start at zero, so the
//! profile contributes nothing until training moves them; the time
//! profile's own conv starts from `fresh` (a random initialisation).

use super::arch::{Architecture, Pooling, FEATURE_DIM};
use super::{validate_weights, ModelError, NamedTensors};
use crate::contract::InputKind;

/// Time-profile weights for `input` equal in function to the global-pool
/// `global`, the profile's conv taken from `fresh` (weights of the
/// time-profile network). Fails, naming the tensor, if either set does not
/// fit its network.
pub fn widen_to_time_profile(
    input: InputKind,
    global: &NamedTensors,
    fresh: &NamedTensors,
) -> Result<NamedTensors, ModelError> {
    let from = Architecture::new(input, Pooling::Global);
    let to = Architecture::new(input, Pooling::TimeProfile);
    validate_weights(&from, global)?;
    validate_weights(&to, fresh)?;
    let projection = format!("{}.weight", to.projection.name);
    let mut out = NamedTensors::new();
    for p in to.parameters() {
        let data = if p.name == projection {
            let narrow = &global.get(&p.name).expect("validated").data;
            let (rows, wide) = (p.shape[0], p.shape[1]);
            let mut data = vec![0.0; rows * wide];
            for (row, old) in data.chunks_exact_mut(wide).zip(narrow.chunks_exact(FEATURE_DIM)) {
                row[..FEATURE_DIM].copy_from_slice(old);
            }
            data
        } else if let Some(t) = global.get(&p.name) {
            t.data.clone()
        } else {
            fresh.get(&p.name).expect("validated").data.clone()
        };
        out.insert(p.name, p.shape, data)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{random_weights, random_weights_for};

    #[test]
    fn shared_tensors_are_copied_and_the_new_columns_are_zero() {
        let global = random_weights(3);
        let fresh = random_weights_for(&Architecture::new(InputKind::Hps, Pooling::TimeProfile), 4);
        let wide = widen_to_time_profile(InputKind::Hps, &global, &fresh).unwrap();
        for (name, t) in global.iter() {
            if name != "encoder.projection.weight" {
                assert_eq!(wide.get(name), Some(t), "{name}");
            }
        }
        let w = wide.get("encoder.projection.weight").unwrap();
        let old = global.get("encoder.projection.weight").unwrap();
        assert_eq!(w.shape, [512, 1520]);
        assert_eq!(&w.data[..1280], &old.data[..1280]);
        assert!(w.data[1280..1520].iter().all(|&v| v == 0.0));
        assert_eq!(&w.data[1520..1520 + 1280], &old.data[1280..2560]);
        assert_eq!(
            wide.get("encoder.time_profile.weight"),
            fresh.get("encoder.time_profile.weight")
        );
        // The wrong way round is refused, naming what does not fit.
        let err = widen_to_time_profile(InputKind::Hps, &fresh, &fresh).unwrap_err();
        assert!(err.to_string().contains("encoder.projection.weight"), "{err}");
    }
}
