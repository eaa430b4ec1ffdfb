//! Turns the weights of a network into those of a network with a wider
//! pooling ([`Pooling::widens_to`]) that computes exactly the same
//! embeddings, so that a trained model (the shipped default, or the
//! authors' checkpoint) can be fine-tuned with a time profile or a
//! pitch-class profile without losing what it knows.
//!
//! Every tensor the two networks share is copied; the projection's new
//! input columns (those reading the added segments) start at zero, so the
//! new segments contribute nothing until training moves them; a new time
//! profile's own conv starts from `fresh` (a random initialisation).

use super::arch::{Architecture, Pooling};
use super::{validate_weights, ModelError, NamedTensors};
use crate::contract::InputKind;

/// Weights of a `to` network for `input` equal in function to `narrow`
/// (weights of a `from` network), any new conv taken from `fresh` (weights
/// of the `to` network). Fails if `from` does not widen to `to`, or, naming
/// the tensor, if either set does not fit its network.
pub fn widen_pooling(
    input: InputKind,
    (from, narrow): (Pooling, &NamedTensors),
    (to, fresh): (Pooling, &NamedTensors),
) -> Result<NamedTensors, ModelError> {
    if !from.widens_to(to) {
        return Err(ModelError::BadInput(format!(
            "a {from}-pooling network cannot be widened to {to}: its pooled features are not the first of {to}'s"
        )));
    }
    let from_arch = Architecture::new(input, from);
    let to_arch = Architecture::new(input, to);
    validate_weights(&from_arch, narrow)?;
    validate_weights(&to_arch, fresh)?;
    let projection = format!("{}.weight", to_arch.projection.name);
    let (old_width, new_width) = (from_arch.projection.in_features, to_arch.projection.in_features);
    let mut out = NamedTensors::new();
    for p in to_arch.parameters() {
        let data = if p.name == projection {
            let old = &narrow.get(&p.name).expect("validated").data;
            let mut data = vec![0.0; p.shape[0] * new_width];
            for (row, old) in data.chunks_exact_mut(new_width).zip(old.chunks_exact(old_width)) {
                row[..old_width].copy_from_slice(old);
            }
            data
        } else if let Some(t) = narrow.get(&p.name) {
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

    /// Every tensor of `narrow` but the projection is in `wide` unchanged.
    fn assert_shared_tensors_copied(narrow: &NamedTensors, wide: &NamedTensors) {
        for (name, t) in narrow.iter() {
            if name != "encoder.projection.weight" {
                assert_eq!(wide.get(name), Some(t), "{name}");
            }
        }
    }

    #[test]
    fn shared_tensors_are_copied_and_the_new_columns_are_zero() {
        let global = random_weights(3);
        let fresh = random_weights_for(&Architecture::new(InputKind::Hps, Pooling::TimeProfile), 4);
        let wide = widen_pooling(
            InputKind::Hps,
            (Pooling::Global, &global),
            (Pooling::TimeProfile, &fresh),
        )
        .unwrap();
        assert_shared_tensors_copied(&global, &wide);
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
        let err = widen_pooling(
            InputKind::Hps,
            (Pooling::Global, &fresh),
            (Pooling::TimeProfile, &fresh),
        )
        .unwrap_err();
        assert!(err.to_string().contains("encoder.projection.weight"), "{err}");
        let err = widen_pooling(
            InputKind::Hps,
            (Pooling::TimeProfile, &fresh),
            (Pooling::Global, &global),
        )
        .unwrap_err();
        assert!(err.to_string().contains("cannot be widened"), "{err}");
    }

    #[test]
    fn a_time_profile_network_widens_to_the_pitch_class_profile() {
        let narrow = random_weights_for(&Architecture::new(InputKind::Pitch, Pooling::TimeProfile), 5);
        let fresh = random_weights_for(&Architecture::new(InputKind::Pitch, Pooling::TimePitchClass), 6);
        let wide = widen_pooling(
            InputKind::Pitch,
            (Pooling::TimeProfile, &narrow),
            (Pooling::TimePitchClass, &fresh),
        )
        .unwrap();
        assert_shared_tensors_copied(&narrow, &wide);
        let w = wide.get("encoder.projection.weight").unwrap();
        let old = narrow.get("encoder.projection.weight").unwrap();
        assert_eq!(w.shape, [512, 1532]);
        for (row, old_row) in w.data.chunks_exact(1532).zip(old.data.chunks_exact(1520)) {
            assert_eq!(&row[..1520], old_row);
            assert!(row[1520..].iter().all(|&v| v == 0.0));
        }
    }
}
