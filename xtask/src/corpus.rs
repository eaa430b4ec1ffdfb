//! `cargo xtask corpus`: builds the offline training corpus the default model
//! is trained on (README, "Training corpus"), from symbolic music only:
//!
//! 1. installs what it needs: Debian's `mma` and four GM SoundFonts (apt),
//!    and music21 (PyPI, pinned in `tools/corpus/requirements.txt`) into
//!    `.cache/corpus/venv`;
//! 2. `tools/corpus/corpus.py midi`: multi-track MIDI from the music21
//!    corpus and from generated chord charts played by MMA grooves, split by
//!    piece into `OUT/midi/<split>/<source>/`;
//! 3. `cocola-render render` (release build, no libtorch): every MIDI file as
//!    `--variants` renderings, each variant with another SoundFont, into
//!    `OUT/audio/<split>/<track>/<stem>.wav` — the pre-split generic layout
//!    `cocola-trainer train --data generic:OUT/audio` reads;
//! 4. `tools/corpus/corpus.py report`: hours, tracks, stems, styles,
//!    instruments, into `OUT/audio/corpus.json` and on screen.
//!
//! Every step skips what is already done, so an interrupted build is resumed
//! by running the command again. Audio is generated, never committed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bundle::workspace_root;
use crate::run_ok;

const USAGE: &str = "\
cargo xtask corpus [options]

Builds the training corpus (MIDI from music21 and MMA, rendered to stems with
four SoundFonts) into OUT/midi and OUT/audio; resumable.

options:
  --out DIR               where to build it [default: .cache/corpus]
  --variants N            renderings per MIDI file, each with another
                          SoundFont [default: 2]
  --palestrina N          Palestrina scores to use, -1 for all ~1300 [default: 100]
  --mma-charts N          generated chord charts played by MMA [default: 300]
  --grooves-per-chart N   MMA grooves each chart is played with [default: 1]
  --piece-seconds S       render only the first S seconds of each piece:
                          more pieces for the same disk [default: 30]
  --seed S                splits, subsets, charts and renderings [default: 0]
  --jobs N                worker processes/threads [default: all cores]
";

/// The SoundFonts and the Debian packages that ship them.
const SOUNDFONTS: [(&str, &str); 4] = [
    ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm"),
    ("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont"),
    ("/usr/share/sounds/sf2/sf_GMbank.sf2", "csound-soundfont"),
    ("/usr/share/sounds/sf2/A320U.sf2", "denemo-data"),
];
const MMA: (&str, &str) = ("/usr/bin/mma", "mma");

struct Options {
    out: PathBuf,
    variants: String,
    palestrina: String,
    mma_charts: String,
    grooves_per_chart: String,
    piece_seconds: String,
    seed: String,
    jobs: Option<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let root = workspace_root();
    let mut o = Options {
        out: root.join(".cache").join("corpus"),
        variants: "2".into(),
        palestrina: "100".into(),
        mma_charts: "300".into(),
        grooves_per_chart: "1".into(),
        piece_seconds: "30".into(),
        seed: "0".into(),
        jobs: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            print!("{USAGE}");
            std::process::exit(0);
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))?
            .clone();
        let number = |v: &str| {
            v.parse::<i64>()
                .map(|_| v.to_string())
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--out" => o.out = PathBuf::from(value),
            "--variants" => o.variants = number(&value)?,
            "--palestrina" => o.palestrina = number(&value)?,
            "--mma-charts" => o.mma_charts = number(&value)?,
            "--grooves-per-chart" => o.grooves_per_chart = number(&value)?,
            "--piece-seconds" => o.piece_seconds = number(&value)?,
            "--seed" => o.seed = number(&value)?,
            "--jobs" => o.jobs = Some(number(&value)?),
            _ => return Err(format!("unknown option {flag}\n\n{USAGE}")),
        }
    }
    Ok(o)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let root = workspace_root();
    ensure_debian_packages()?;
    let python = ensure_music21(&root)?;
    let script = root.join("tools").join("corpus").join("corpus.py");
    let midi = o.out.join("midi");
    let audio = o.out.join("audio");

    let mut make_midi = Command::new(&python);
    make_midi.arg(&script).arg("midi").arg(&midi).args([
        "--seed",
        &o.seed,
        "--palestrina",
        &o.palestrina,
        "--mma-charts",
        &o.mma_charts,
        "--grooves-per-chart",
        &o.grooves_per_chart,
        "--mma",
        MMA.0,
    ]);
    if let Some(j) = &o.jobs {
        make_midi.args(["--jobs", j]);
    }
    run_ok(&mut make_midi, "corpus.py midi")?;

    let renderer = build_renderer(&root)?;
    for split in ["train", "validation", "test"] {
        for source in ["music21", "mma"] {
            let dir = midi.join(split).join(source);
            if dir.is_dir() {
                eprintln!("rendering {split}/{source}...");
                let mut render = Command::new(&renderer);
                render.arg("render").arg(&dir).arg("--out").arg(audio.join(split));
                for (sf, _) in SOUNDFONTS {
                    render.args(["--soundfont", sf]);
                }
                render.args(["--variants", &o.variants, "--seed", &o.seed, "--crop", &o.piece_seconds]);
                // Half the stems from another SoundFont than their track's:
                // timbre must not be a shortcut to "these belong together".
                render.args(["--soundfont-mix", "0.5"]);
                render.args(render_options(source));
                if let Some(j) = &o.jobs {
                    render.args(["--jobs", j]);
                }
                run_ok(&mut render, "cocola-render render")?;
            }
        }
    }
    run_ok(
        Command::new(&python).arg(&script).arg("report").arg(&audio).arg(&midi),
        "corpus.py report",
    )?;
    println!(
        "\ntrain on it: cargo run --release -p cocola-trainer -- train --data generic:{}",
        audio.display()
    );
    Ok(())
}

/// How each source is varied when rendered. music21 scores carry no useful
/// instrumentation (mostly voices or one default program), so their parts get
/// CocoChorales-style ensembles; MMA grooves choose their own GM voices and
/// charts are already in random keys and tempi.
fn render_options(source: &str) -> &'static [&'static str] {
    match source {
        "music21" => &[
            "--program-randomize",
            "mixed",
            "--transpose=-4..4",
            "--tempo-scale",
            "0.8..1.25",
            "--velocity-humanize",
            "10",
        ],
        _ => &["--tempo-scale", "0.9..1.1", "--velocity-humanize", "6"],
    }
}

fn ensure_debian_packages() -> Result<(), String> {
    let needed = || -> Vec<&'static str> {
        SOUNDFONTS
            .iter()
            .chain([&MMA])
            .filter(|(path, _)| !Path::new(path).exists())
            .map(|(_, pkg)| *pkg)
            .collect()
    };
    let missing = needed();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("installing Debian packages: {}", missing.join(" "));
    let sudo = !is_root() && which("sudo");
    let apt = |args: &[&str]| {
        let mut c = if sudo {
            Command::new("sudo")
        } else {
            Command::new("apt-get")
        };
        if sudo {
            c.args(["-n", "apt-get"]);
        }
        c.args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
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
