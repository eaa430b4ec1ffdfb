//! The five dataset layouts, generated in miniature, and the stem cache's
//! handling of bad data.

use std::path::Path;

use cocola_trainer::data::dataset::{DatasetSpec, Split};
use cocola_trainer::data::layouts::discover;
use cocola_trainer::data::stem_cache;

fn wav(path: &Path, t: usize, s: usize, seconds: f32) {
    crate::support::write_wav(path, &crate::support::stem(t, s, seconds));
}

fn spec(kind: &str, root: &Path) -> DatasetSpec {
    format!("{kind}:{}", root.display()).parse().unwrap()
}

fn splits(specs: &DatasetSpec) -> Vec<(String, Split, usize)> {
    let mut v: Vec<_> = discover(specs, 0)
        .unwrap()
        .tracks
        .into_iter()
        .map(|t| (t.name, t.split, t.stems.len()))
        .collect();
    v.sort();
    v
}

#[test]
fn musdb_layout() {
    let d = tempfile::tempdir().unwrap();
    for (split, track) in [("train", "A - Song"), ("test", "B - Other")] {
        for stem in ["bass", "drums", "other", "vocals", "mixture"] {
            wav(&d.path().join(split).join(track).join(format!("{stem}.wav")), 0, 0, 0.1);
        }
    }
    assert_eq!(
        splits(&spec("musdb", d.path())),
        [
            ("A - Song".into(), Split::Train, 4),
            ("B - Other".into(), Split::Test, 4)
        ]
    );
}

#[test]
fn moisesdb_layout_and_seeded_split() {
    let d = tempfile::tempdir().unwrap();
    for t in 0..20 {
        let track = d.path().join(format!("{t:08x}-uuid"));
        std::fs::create_dir_all(&track).unwrap();
        std::fs::write(track.join("data.json"), r#"{"song": "x", "stems": []}"#).unwrap();
        wav(&track.join("bass/b1.wav"), t, 0, 0.1);
        wav(&track.join("guitar/g1.wav"), t, 1, 0.1);
        wav(&track.join("guitar/g2.wav"), t, 2, 0.1);
    }
    std::fs::create_dir_all(d.path().join("no-metadata/bass")).unwrap();
    let listing = discover(&spec("moisesdb", d.path()), 0).unwrap();
    assert_eq!(listing.tracks.len(), 20);
    assert!(listing.tracks.iter().all(|t| t.stems.len() == 3));
    assert!(listing.warnings.iter().any(|w| w.contains("no data.json")));
    let count = |s: Split| listing.tracks.iter().filter(|t| t.split == s).count();
    assert_eq!(
        (count(Split::Train), count(Split::Validation), count(Split::Test)),
        (16, 2, 2)
    );
    assert_ne!(splits(&spec("moisesdb", d.path())), {
        let mut v: Vec<_> = discover(&spec("moisesdb", d.path()), 1)
            .unwrap()
            .tracks
            .into_iter()
            .map(|t| (t.name, t.split, t.stems.len()))
            .collect();
        v.sort();
        v
    });
}

#[test]
fn slakh_layout_skips_unrendered_stems() {
    let d = tempfile::tempdir().unwrap();
    let track = d.path().join("validation/Track01501");
    std::fs::create_dir_all(&track).unwrap();
    std::fs::write(
        track.join("metadata.yaml"),
        "UUID: abc\nstems:\n  S00:\n    audio_rendered: true\n    inst_class: Piano\n  S01:\n    audio_rendered: false\n    inst_class: Bass\n  S02:\n    audio_rendered: true\n    inst_class: Drums\n  S03:\n    audio_rendered: true\n    inst_class: Strings\n",
    )
    .unwrap();
    for s in ["S00", "S01", "S02"] {
        wav(&track.join(format!("stems/{s}.flac.wav")), 0, 0, 0.1);
        std::fs::rename(
            track.join(format!("stems/{s}.flac.wav")),
            track.join(format!("stems/{s}.wav")),
        )
        .unwrap();
    }
    // S01 not rendered, S03 rendered but missing: two stems remain.
    assert_eq!(
        splits(&spec("slakh", d.path())),
        [("Track01501".into(), Split::Validation, 2)]
    );
}

#[test]
fn cocochorales_layout_and_ensemble_filter() {
    let d = tempfile::tempdir().unwrap();
    for (split, name) in [
        ("train", "random_track0000001"),
        ("valid", "brass_track0000002"),
        ("test", "random_track0000003"),
    ] {
        for s in 0..4 {
            wav(
                &d.path()
                    .join(split)
                    .join(name)
                    .join(format!("stems_audio/{s}_inst.wav")),
                0,
                s,
                0.1,
            );
        }
    }
    assert_eq!(splits(&spec("cocochorales", d.path())).len(), 3);
    assert_eq!(
        splits(&spec("cocochorales-random", d.path())),
        [
            ("random_track0000001".into(), Split::Train, 4),
            ("random_track0000003".into(), Split::Test, 4)
        ]
    );
}

#[test]
fn generic_layout_needs_two_stems() {
    let d = tempfile::tempdir().unwrap();
    crate::support::generic(d.path(), 10, 2, 0.1);
    wav(&d.path().join("lonely/only.wav"), 0, 0, 0.1);
    let listing = discover(&spec("generic", d.path()), 0).unwrap();
    assert_eq!(listing.tracks.len(), 10);
    assert!(listing.warnings.iter().any(|w| w.contains("lonely")));
}

#[test]
fn generic_layout_keeps_given_split_folders() {
    let d = tempfile::tempdir().unwrap();
    for (split, track) in [
        ("train", "p1.v0"),
        ("train", "p1.v1"),
        ("validation", "p2.v0"),
        ("test", "p3.v0"),
    ] {
        for stem in ["bass", "piano"] {
            wav(&d.path().join(split).join(track).join(format!("{stem}.wav")), 0, 0, 0.1);
        }
    }
    assert_eq!(
        splits(&spec("generic", d.path())),
        vec![
            ("p1.v0".into(), Split::Train, 2),
            ("p1.v1".into(), Split::Train, 2),
            ("p2.v0".into(), Split::Validation, 2),
            ("p3.v0".into(), Split::Test, 2)
        ]
    );
    // A lone folder named "train" is just a track: no split folders beside it.
    let e = tempfile::tempdir().unwrap();
    crate::support::generic(e.path(), 3, 2, 0.1);
    wav(&e.path().join("train/a.wav"), 0, 0, 0.1);
    wav(&e.path().join("train/b.wav"), 0, 1, 0.1);
    assert_eq!(discover(&spec("generic", e.path()), 0).unwrap().tracks.len(), 4);
}

#[test]
fn bad_stems_are_skipped_or_trimmed_with_one_warning_each() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("data");
    // good: 3 stems, one 0.5 s longer (trimmed).
    wav(&root.join("good/a.wav"), 1, 0, 8.0);
    wav(&root.join("good/b.wav"), 1, 1, 8.0);
    wav(&root.join("good/c.wav"), 1, 2, 8.5);
    // bad: a corrupt stem, a too-short one, a silent one, one good: skipped.
    std::fs::create_dir_all(root.join("bad")).unwrap();
    std::fs::write(root.join("bad/corrupt.wav"), b"RIFF\x10\0\0\0WAVEjunkjunk").unwrap();
    wav(&root.join("bad/short.wav"), 2, 0, 2.0);
    crate::support::write_wav(&root.join("bad/silent.wav"), &vec![0.0; 16_000 * 8]);
    wav(&root.join("bad/fine.wav"), 2, 1, 8.0);
    // half: one stem less than half as long as the others is dropped, not trimmed to.
    wav(&root.join("half/a.wav"), 3, 0, 12.0);
    wav(&root.join("half/b.wav"), 3, 1, 12.0);
    wav(&root.join("half/c.wav"), 3, 2, 5.5);

    let mut tracks = discover(&spec("generic", &root), 0).unwrap().tracks;
    tracks.iter_mut().for_each(|t| t.split = Split::Train);
    let cache = d.path().join("cache");
    let p = stem_cache::prepare(&cache, &tracks, 2, &|| {}).unwrap();
    for w in &p.warnings {
        println!("{w}");
    }
    let names: Vec<&str> = p.tracks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["good", "half"]);
    let good = &p.tracks[0];
    assert_eq!((good.stems, good.len), (3, 128_000));
    assert_eq!((p.tracks[1].stems, p.tracks[1].len), (2, 192_000));
    let has = |s: &str| p.warnings.iter().filter(|w| w.contains(s)).count();
    assert_eq!(has("corrupt.wav skipped"), 1);
    assert_eq!(has("short.wav skipped"), 1);
    assert_eq!(has("silent.wav skipped: silent"), 1);
    assert_eq!(has("generic/bad: track skipped"), 1);
    assert_eq!(has("generic/good: stems differ in length"), 1);
    assert_eq!(has("c.wav skipped: 5.50 s long against 12.00 s"), 1);
    assert_eq!(p.decoded, 3);

    // Resumable: a second run decodes nothing and finds the same tracks.
    let again = stem_cache::prepare(&cache, &tracks, 2, &|| {}).unwrap();
    assert_eq!((again.decoded, again.tracks.clone()), (0, p.tracks.clone()));
    // A changed stem file gets a new entry.
    wav(&root.join("good/a.wav"), 4, 0, 8.0);
    let changed = stem_cache::prepare(&cache, &tracks, 2, &|| {}).unwrap();
    assert_eq!(changed.decoded, 1);
    // A torn entry (interrupted write under the final name) is rebuilt.
    let entry = &changed.tracks[0].file;
    let bytes = std::fs::read(entry).unwrap();
    std::fs::write(entry, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(stem_cache::prepare(&cache, &tracks, 2, &|| {}).unwrap().decoded, 1);

    // The entry the changed stem left behind is the one no track uses (the
    // skipped track's verdict is still in use).
    let keys = cocola_trainer::data::prepare::cache_keys(&[spec("generic", &root)], 0).unwrap();
    let unused = stem_cache::unused_entries(&cache, &keys).unwrap();
    let stale: Vec<&Path> = unused.iter().map(|(path, _)| path.as_path()).collect();
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!(stale[0].extension(), Some("stems".as_ref()));
    assert!(!changed.tracks.iter().any(|t| t.file == stale[0]), "{stale:?}");
    assert_eq!(unused[0].1, std::fs::metadata(stale[0]).unwrap().len());
}

#[test]
fn transposed_twins_are_listed_cached_and_read_beside_their_stems() {
    use cocola_trainer::data::store::{CacheStore, TrackStore};
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("data");
    for s in 0..3 {
        wav(&root.join(format!("twinned/s{s}.wav")), 1, s, 6.0);
        wav(&root.join(format!("plain/s{s}.wav")), 2, s, 6.0);
    }
    // Twins of s0 and s2 only, 2 semitones down; a folder that is no twin
    // folder is ignored.
    wav(&root.join("twinned/transposed-2/s0.wav"), 3, 0, 6.0);
    wav(&root.join("twinned/transposed-2/s2.wav"), 3, 2, 6.0);
    wav(&root.join("plain/notes/s0.wav"), 4, 0, 6.0);

    let mut tracks = discover(&spec("generic", &root), 0).unwrap().tracks;
    tracks.sort_by(|a, b| a.name.cmp(&b.name));
    tracks.iter_mut().for_each(|t| t.split = Split::Train);
    let (plain, twinned) = (&tracks[0], &tracks[1]);
    assert_eq!(plain.stems.len(), 3, "twin files are no stems");
    assert!(plain.twins.is_none());
    let twins = twinned.twins.as_ref().expect("twins found");
    assert_eq!(twins.semitones, -2);
    let has: Vec<bool> = twins.files.iter().map(Option::is_some).collect();
    assert_eq!(has, [true, false, true]);

    let cache = d.path().join("cache");
    let p = stem_cache::prepare(&cache, &tracks, 2, &|| {}).unwrap();
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let store = CacheStore::open(p.tracks.clone()).unwrap();
    let index = |name: &str| p.tracks.iter().position(|t| t.name == name).unwrap();
    let (t, plain_t) = (index("twinned"), index("plain"));
    let twin_of: Vec<Option<i32>> = (0..3).map(|s| store.twin(t, s)).collect();
    assert_eq!(twin_of, [Some(-2), None, Some(-2)]);
    assert!((0..3).all(|s| store.twin(plain_t, s).is_none()));
    // The twin's samples come back as written (16-bit), the stems' unchanged.
    let read = |twin: bool, stem: usize| {
        let mut out = vec![0.0f32; 1_000];
        if twin {
            store.add_twin(t, stem, 20_000, &mut out).unwrap();
        } else {
            store.add_stem(t, stem, 20_000, &mut out).unwrap();
        }
        out
    };
    let expect = |track: usize, stem: usize| -> Vec<f32> {
        crate::support::stem(track, stem, 6.0)[20_000..21_000]
            .iter()
            .map(|x| (x * 32_768.0).round() / 32_768.0)
            .collect()
    };
    for (got, want) in [
        (read(true, 2), expect(3, 2)),
        (read(false, 2), expect(1, 2)),
        (read(true, 0), expect(3, 0)),
    ] {
        let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(worst < 1e-4, "{worst}");
    }
    // From the cache again: the same tracks, twins included; removing the
    // twins gives the track its plain entry.
    let again = stem_cache::prepare(&cache, &tracks, 2, &|| {}).unwrap();
    assert_eq!((again.decoded, again.tracks.clone()), (0, p.tracks.clone()));
    std::fs::remove_dir_all(root.join("twinned/transposed-2")).unwrap();
    let mut without = discover(&spec("generic", &root), 0).unwrap().tracks;
    without.iter_mut().for_each(|t| t.split = Split::Train);
    let plain_again = stem_cache::prepare(&cache, &without, 2, &|| {}).unwrap();
    assert_eq!(plain_again.decoded, 1);
    assert!(plain_again
        .tracks
        .iter()
        .all(|t| t.twin_semitones == 0 && t.twins.iter().all(Option::is_none)));
}
