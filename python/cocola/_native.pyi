"""Type stubs of cocola's native module (import ``cocola``, not this module)."""

import os
from typing import Any, Iterator, Literal, Mapping, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

Mode = Literal["both", "harmonic", "percussive"]
# What ranks candidates: a mode's raw score, or every mode's evidence combined.
Measure = Literal["combined", "both", "harmonic", "percussive"]
Verdict = Literal["fits", "unsure", "clashes"]
# float32/float64 samples, [samples] or [channels, samples]; anything
# numpy.asarray accepts.
AudioLike = npt.ArrayLike
PathLike = Union[str, os.PathLike[str]]

SAMPLE_RATE: int
"""The rate every signal is resampled to before the features: 16 000 Hz."""
WINDOW_SECONDS: float
"""Length of the model's analysis window: 5.0 s."""
EMBEDDING_DIM: int
"""Size of an embedding: 512."""
MODES: list[str]
"""The three modes, in report order: both, harmonic, percussive (a model without HPS has
``both`` only: ``Model.modes``)."""
ORT_VERSION: str
"""The ONNX Runtime version the package runs (the onnxruntime wheel it depends on)."""
__version__: str

class CocolaError(Exception):
    """Base class of the errors cocola raises about models and audio files."""

class ModelError(CocolaError):
    """The model cannot be found, read, trusted or run, or ONNX Runtime is missing."""

class AudioError(CocolaError):
    """An audio file cannot be decoded: missing, unreadable, corrupt, truncated, unsupported."""

class Score:
    """How well a stem fits a condition (``Model.score``).

    ``raw``, ``fit`` and ``verdict`` are the headline ``mode``'s aggregate: the
    mean raw COCOLA score over the scored windows, its calibrated 0-100 fit and
    the verdict word. They are ``None`` when every window was silent (and
    ``fit``/``verdict`` for an uncalibrated model).
    """

    @property
    def mode(self) -> Mode:
        """The headline mode."""
    @property
    def raw(self) -> float | None:
        """Mean raw COCOLA score f(condition)ᵀ W f(stem) over the scored windows."""
    @property
    def fit(self) -> float | None:
        """Calibrated 0-100 fit of ``raw`` (``None`` for an uncalibrated model)."""
    @property
    def verdict(self) -> Verdict | None:
        """"fits" (fit >= 70), "unsure", or "clashes" (fit < 30)."""
    @property
    def calibrated(self) -> bool:
        """Whether the model carries a calibration (so ``fit`` and ``verdict`` exist)."""
    @property
    def modes(self) -> dict[str, dict[str, Any]]:
        """Every mode's aggregate: ``{"both": {"raw", "fit", "verdict"}, ...}`` (the model's modes)."""
    @property
    def combined(self) -> dict[str, Any] | None:
        """Every mode's evidence together: ``{"log_odds", "fit", "verdict"}`` (``None``: uncalibrated or all silent)."""
    @property
    def duration(self) -> float:
        """Length of the longer signal, in seconds."""
    @property
    def scored_windows(self) -> int:
        """Windows scored (audible on both sides)."""
    @property
    def silent_windows(self) -> int:
        """Windows not scored because one side (or both) was silent."""
    @property
    def starts(self) -> npt.NDArray[np.float64]:
        """Start of each window in seconds, ``[windows]``."""
    @property
    def timeline(self) -> npt.NDArray[np.float32]:
        """The headline mode's raw score per window, ``[windows]``; NaN for silent windows."""
    @property
    def windows(self) -> list[dict[str, Any]]:
        """One flat record per window: start, end, condition_dbfs, stem_dbfs, state,
        silent_condition, silent_stem, raw_<mode>, fit_<mode>, verdict_<mode>, fit_combined,
        verdict_combined."""
    def to_dict(self) -> dict[str, Any]:
        """Everything in the layout of ``cocola score --json`` (duration_seconds, windows, aggregate)."""

class Ranking:
    """Candidates ranked by their COCOLA score against one condition (``Model.rank``), best first:
    ranked candidates, then silent ones, then ones that could not be scored."""

    @property
    def mode(self) -> Measure:
        """What orders the candidates: "combined" (the combined fit) or a mode (its mean raw score)."""
    @property
    def order(self) -> list[int]:
        """Positions of the candidates in the input, best first."""
    @property
    def records(self) -> list[dict[str, Any]]:
        """One flat dict per candidate, best first: rank, name, index, status, raw (None when
        ranked by the combined fit), fit, verdict, raw_<mode>, fit_<mode>, fit_combined,
        windows_scored, windows_total, worst_window_start, worst_window_raw, worst_window_fit,
        tied_with, reason."""
    @property
    def notes(self) -> list[str]:
        """Ties, partly silent, silent and failed candidates, in words."""
    def to_dict(self) -> dict[str, Any]:
        """Everything, each candidate's timeline included, as ``cocola rank --json`` lays it out."""
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[dict[str, Any]]: ...

class Model:
    """A COCOLA model, loaded and ready to score.

    ``Model()`` is the default model built into the package (or
    ``$COCOLA_MODEL``); ``Model(path)`` loads a ``.onnx`` model file or one of
    the authors' PyTorch Lightning checkpoints (``.ckpt``, imported once into
    the user cache, as the CLI does). A model without HPS has the plain score
    only (``modes == ["both"]``); other modes raise ``ValueError``.
    ``threads`` (default: all cores) is how many cores it computes on, as the
    CLI's ``--threads`` (ONNX Runtime sessions sharing each encoder run, and
    feature threads). Methods release the GIL; a model may be shared between
    threads (calls take turns).
    """

    def __init__(self, path: PathLike | None = None, *, threads: int | None = None) -> None: ...
    @property
    def info(self) -> dict[str, Any]:
        """name, version, description, input ("hps"/"mel"/"pitch"), source, sha256, calibrated:
        the ``model`` of ``cocola eval --json``."""
    @property
    def metadata(self) -> dict[str, Any]:
        """The model file's whole metadata, as ``cocola model-info --json`` prints it."""
    @property
    def modes(self) -> list[Mode]:
        """The modes the model scores: all three (HPS input) or ``["both"]`` (mel input)."""
    @property
    def source(self) -> str:
        """The model file's path, "X.ckpt (imported)", or "default (embedded)"."""
    @property
    def threads(self) -> int:
        """Cores the model computes on (ONNX Runtime sessions and feature threads)."""
    @property
    def runtime_library(self) -> str:
        """The ONNX Runtime library in use."""
    def embed(self, audio: AudioLike, sr: float, mode: Mode = "both", hop: float = 5.0) -> npt.NDArray[np.float32]:
        """Embeddings f(x) of ``audio``'s 5 s windows every ``hop`` seconds: ``[windows, 512]``."""
    def score(
        self,
        condition: AudioLike,
        stem: AudioLike,
        sr: float,
        mode: Mode = "both",
        hop: float = 5.0,
        silence_db: float = -60.0,
        symmetric: bool = False,
    ) -> Score:
        """How well ``stem`` fits ``condition``, over 5 s windows every ``hop`` seconds (``cocola score``);
        ``symmetric``: the mean of both directions (no fit)."""
    def alternatives(
        self, condition: AudioLike, stem: AudioLike, sr: float, hop: float = 5.0, silence_db: float = -60.0
    ) -> dict[str, Any]:
        """The stem as it is against itself transposed by 1-6 semitones and moved by eighths of the beat
        (``cocola score --alternatives``): ``key`` / ``timing`` say whether a change fits clearly better."""
    def score_matrix(
        self, conditions: Sequence[AudioLike], stems: Sequence[AudioLike], sr: float, mode: Mode = "both"
    ) -> npt.NDArray[np.float32]:
        """Raw scores of every stem with every condition (first 5 s of each): ``[len(conditions), len(stems)]``."""
    def rank(
        self,
        condition: AudioLike,
        candidates: Mapping[str, AudioLike] | Sequence[AudioLike],
        sr: float,
        mode: Measure | None = None,
        hop: float = 5.0,
        silence_db: float = -60.0,
    ) -> Ranking:
        """Best of N: ``candidates`` ranked by how well they fit ``condition`` (``cocola rank``), by
        default by the combined fit (the ``both`` score for an uncalibrated model)."""

def load_audio(path: PathLike) -> npt.NDArray[np.float32]:
    """Decodes an audio file to 16 kHz mono float32, exactly as the CLI reads it."""

def features(
    audio: AudioLike, sr: float, hop: float | None = None, input: Literal["hps", "mel", "pitch"] = "hps"
) -> npt.NDArray[np.float32]:
    """The model's input: ``[2, 64, 501]`` (``input="mel"``: ``[1, 64, 501]``) for the first 5 s, or
    ``[windows, channels, 64, 501]`` with ``hop``."""

def eval_pairs(
    pairs: PathLike | Sequence[Tuple[PathLike, PathLike] | Tuple[str, PathLike, PathLike]],
    model: Model | PathLike | None = None,
    *,
    hop: float = 5.0,
    silence_db: float = -60.0,
    modes: Sequence[Mode] | None = None,
    symmetric: bool = False,
) -> dict[str, Any]:
    """Scores a pair set as ``cocola eval PAIRS --json``; ``result["pairs"]`` holds one record per pair."""

def eval_stems(
    root: PathLike,
    model: Model | PathLike | None = None,
    *,
    k: Sequence[int] = (2, 8, 16, 64),
    anchors: int = 1000,
    batches: int | None = None,
    seed: int = 0,
    silence_db: float = -60.0,
    modes: Sequence[Mode] | None = None,
    cache_dir: PathLike | None = None,
    cache: bool = True,
) -> dict[str, Any]:
    """Accuracy@K on tracks of stems as ``cocola eval --stems --json``; ``result["results"]`` per (mode, K),
    and per K the combined fit's (mode "combined") where the model is calibrated."""
