"""COCOLA: how well does a stem fit a track, harmonically and rhythmically?

The contrastive audio encoder of Ciranni et al. (2024), run by the same Rust
library as the ``cocola`` command-line tool: numpy arrays in, numpy arrays
out, the same numbers as the CLI.

    >>> import cocola
    >>> model = cocola.Model()                        # the built-in default model
    >>> score = model.score(condition, stem, sr=44_100)
    >>> score.raw, score.fit, score.verdict

Audio is float32/float64, mono ``[samples]`` or ``[channels, samples]``, at
any sample rate; it is mixed to mono and resampled to 16 kHz as the CLI reads
files. Errors: ``cocola.ModelError`` (model or ONNX Runtime),
``cocola.AudioError`` (audio files), ``ValueError``/``TypeError`` (arrays of
the wrong shape or dtype, NaN samples, bad options).
"""

from ._native import (
    EMBEDDING_DIM,
    MODES,
    ORT_VERSION,
    SAMPLE_RATE,
    WINDOW_SECONDS,
    AudioError,
    CocolaError,
    Model,
    ModelError,
    Ranking,
    Score,
    __version__,
    eval_pairs,
    eval_stems,
    features,
    load_audio,
)

__all__ = [
    "EMBEDDING_DIM",
    "MODES",
    "ORT_VERSION",
    "SAMPLE_RATE",
    "WINDOW_SECONDS",
    "AudioError",
    "CocolaError",
    "Model",
    "ModelError",
    "Ranking",
    "Score",
    "__version__",
    "eval_pairs",
    "eval_stems",
    "features",
    "load_audio",
]
