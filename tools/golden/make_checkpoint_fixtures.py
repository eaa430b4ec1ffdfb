#!/usr/bin/env python3
"""Lightning checkpoints of the reference network, written by PyTorch, and the
reference's scores on committed clips: the fixtures of `cocola import`.

What it builds (written to cocola/tests/fixtures/checkpoint/):

  hps.ckpt.gz, mel.ckpt.gz
      The reference network in the authors' module structure (CoCola >
      CoColaEncoder > EfficientNetEncoder > Sequential(EfficientNet, Dropout,
      Flatten), projection, layer_norm, tanh, BilinearSimilarity), built with
      efficientnet_pytorch 0.7.1 for both input types (HPS: in_channels=2,
      mel: in_channels=1), random weights, saved with torch.save in the
      layout PyTorch Lightning 2.2 writes: epoch, global_step,
      pytorch-lightning_version, state_dict, loops, callbacks (with tensors),
      optimizer_states (a real Adam state), lr_schedulers, hparams_name and
      hyper_parameters (an AttributeDict holding enums of a module named
      `contrastive_model.constants`, as LightningCLI stores them), gzipped.
  mismatched.ckpt.gz
      The HPS state_dict's names and shapes (all tensors views of one zero
      storage, which torch.save stores once) with `layer_norm.bias` removed,
      an `_fc.weight` added and `similarity.w` cut to 256 x 256: refused,
      listing all three.
  dim256.ckpt, foreign.ckpt, evil.ckpt, tiny.ckpt
      Small files that must be refused: hyper-parameters asking for a
      256-dim embedding; a plain state_dict of another network; a pickle
      that would call os.system when loaded by Python; a Lightning-layout
      checkpoint whose state_dict holds three small tensors (the fuzz test's
      seed).
  reference.json, <kind>.<what>.npy
      For each kind, on the clips cocola/tests/fixtures/default_model/00-
      {condition,stem}.wav: the SHA-256 of the decoded audio, the reference
      features (librosa 0.10.1 HPSS pipeline / torchaudio MelSpectrogram +
      AmplitudeToDB), and per mode (HPS: both, harmonic, percussive, masked
      as the reference's forward() masks; mel: both) the embeddings
      tanh(LayerNorm(f(x))), W f(x), and the reference scores
      CoCola.score(x=condition, y=stem) and CoCola.score(x=stem,
      y=condition). Embeddings and scores are computed in float64 from the
      reference features (f32 values, cast exactly), so they hold the exact
      result rounded to f32.

Also writes the mel features of some of the feature fixtures' inputs
(cocola/tests/fixtures/features/<case>.mel.expected.npy), by torchaudio.

Sizes: each full checkpoint is ~60 MB raw (weights + Adam moments) and
~0.85 MB gzipped; the reference features of the two clips ~0.75 MB.

Why periodic weights: the full EfficientNet-B0 is 4.9 M parameters, ~20 MB of
random float32 per checkpoint that no compressor shrinks. Each tensor here
repeats a random block of PERIOD = 997 values (a prime: the period lines up
with no dimension of any tensor, so a transposed or misplaced tensor still
changes the outputs), which gzip stores once. The network is the real, full
architecture with every parameter in place; only the weights' entropy is low.

Run (Python 3.11):
  python3 -m venv .cache/golden-venv
  .cache/golden-venv/bin/pip install -r tools/golden/requirements-checkpoint.txt
  OMP_WAIT_POLICY=PASSIVE .cache/golden-venv/bin/python tools/golden/make_checkpoint_fixtures.py
"""

import enum
import gzip
import hashlib
import json
import math
import os
import sys
import types
from collections import OrderedDict

import librosa
import numpy as np
import soundfile
import torch
import torchaudio
import torchaudio.transforms as T
from efficientnet_pytorch import EfficientNet
from torch import nn

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "cocola", "tests", "fixtures", "checkpoint")
FEATURES = os.path.join(ROOT, "cocola", "tests", "fixtures", "features")
CLIPS = os.path.join(ROOT, "cocola", "tests", "fixtures", "default_model")
PAIRS = ["00"]
PERIOD = 997
LIGHTNING_VERSION = "2.2.1"
FEATURE_CASES = ["chords", "drums", "silence", "short_2300ms", "mix", "quiet"]


# ---- modules named as in the authors' code, so that pickles refer to them ----

def fake_module(name):
    module = types.ModuleType(name)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(fake_module(parent) if parent not in sys.modules else sys.modules[parent], child, module)
    return module


constants = fake_module("contrastive_model.constants")


class ModelInputType(enum.Enum):
    SINGLE_CHANNEL_MEL_SPECTROGRAM = "single_channel_mel_spectrogram"
    DOUBLE_CHANNEL_HARMONIC_PERCUSSIVE = "double_channel_harmonic_percussive"


class EmbeddingMode(enum.Enum):
    HARMONIC = "harmonic"
    PERCUSSIVE = "percussive"
    BOTH = "both"
    RANDOM = "random"


class Dataset(enum.Enum):
    MIXED = "mixed_contrastive"


for cls in (ModelInputType, EmbeddingMode, Dataset):
    cls.__module__ = constants.__name__
    setattr(constants, cls.__name__, cls)

lightning_data = fake_module("lightning.fabric.utilities.data")


class AttributeDict(dict):
    """Lightning keeps hyper-parameters in a dict subclass."""


AttributeDict.__module__ = lightning_data.__name__
lightning_data.AttributeDict = AttributeDict


# ---- the reference network ----

class BilinearSimilarity(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.w = nn.Parameter(torch.empty(dim, dim))

    def pairwise(self, x, y):
        # x^T W y for each row pair, as the reference's pairwise().
        return (x * torch.matmul(self.w, y.t()).t()).sum(dim=-1)


class EfficientNetEncoder(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        self.model = nn.Sequential(
            EfficientNet.from_name("efficientnet-b0", include_top=False, in_channels=in_channels),
            nn.Dropout(0.1),
            nn.Flatten(),
        )

    def forward(self, x):
        return self.model(x)


class CoColaEncoder(nn.Module):
    def __init__(self, in_channels, embedding_dim):
        super().__init__()
        self.encoder = EfficientNetEncoder(in_channels)
        self.projection = nn.Linear(1280, embedding_dim)

    def forward(self, x):
        return self.projection(self.encoder(x))


class CoCola(nn.Module):
    def __init__(self, input_type, embedding_dim=512):
        super().__init__()
        in_channels = 2 if input_type == ModelInputType.DOUBLE_CHANNEL_HARMONIC_PERCUSSIVE else 1
        self.encoder = CoColaEncoder(in_channels, embedding_dim)
        self.layer_norm = nn.LayerNorm(embedding_dim)
        self.tanh = nn.Tanh()
        self.similarity = BilinearSimilarity(embedding_dim)

    def embed(self, x):
        return self.tanh(self.layer_norm(self.encoder(x)))

    def score(self, x, y):
        """The reference's CoCola.score(x, y): x^T W y of the two embeddings."""
        return self.similarity.pairwise(self.embed(x), self.embed(y))


# ---- weights ----

def parameter_roles(model):
    """name -> (role, fan_in), from the module types."""
    out = {}
    for mod_name, mod in model.named_modules():
        p = mod_name + "." if mod_name else ""
        if isinstance(mod, nn.Conv2d):
            fan_in = mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
            out[p + "weight"] = ("weight", fan_in)
            if mod.bias is not None:
                out[p + "bias"] = ("bias", fan_in)
        elif isinstance(mod, nn.BatchNorm2d):
            out[p + "weight"] = ("positive", 1)
            out[p + "bias"] = ("small", 1)
            out[p + "running_mean"] = ("small", 1)
            out[p + "running_var"] = ("positive", 1)
        elif isinstance(mod, nn.Linear):
            out[p + "weight"] = ("weight", mod.in_features)
            out[p + "bias"] = ("bias", mod.in_features)
        elif isinstance(mod, nn.LayerNorm):
            out[p + "weight"] = ("positive", 1)
            out[p + "bias"] = ("small", 1)
        elif isinstance(mod, BilinearSimilarity):
            out[p + "w"] = ("weight", mod.w.shape[0])
    return out


def value_range(role, fan_in):
    # The gain 3.75 / fan_in keeps a random B0 alive through its 16 blocks
    # without turning chaotic (see cocola/src/model/testing.rs).
    if role == "weight":
        a = math.sqrt(3.75 / fan_in)
        return -a, a
    if role in ("bias", "small"):
        return -0.1, 0.1
    if role == "positive":
        return 0.5, 1.5
    raise ValueError(role)


def periodic_uniform(generator, shape, lo, hi):
    n = int(np.prod(shape)) if shape else 1
    block = torch.empty(min(n, PERIOD), dtype=torch.float32).uniform_(lo, hi, generator=generator)
    return block.repeat(-(-n // block.numel()))[:n].reshape(shape).contiguous()


def randomize(model, seed):
    generator = torch.Generator().manual_seed(seed)
    roles = parameter_roles(model)
    state = model.state_dict()
    new = OrderedDict()
    for name, tensor in state.items():
        if name.endswith("num_batches_tracked"):
            new[name] = torch.tensor(1000, dtype=torch.long)
            continue
        lo, hi = value_range(*roles[name])
        new[name] = periodic_uniform(generator, tuple(tensor.shape), lo, hi)
    model.load_state_dict(new, strict=True)


# ---- the Lightning checkpoint layout ----

def lightning_checkpoint(model, input_type, embedding_mode, epoch, step):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()  # Adam state: step tensors, zero moments
    monitor = {"monitor": "valid_loss", "mode": "min", "every_n_train_steps": 0, "every_n_epochs": 1,
               "train_time_interval": None}
    best = f"/runs/cocola/checkpoints/checkpoint-epoch={epoch}-val_loss=2.4710.ckpt"
    return {
        "epoch": epoch,
        "global_step": step,
        "pytorch-lightning_version": LIGHTNING_VERSION,
        "state_dict": model.state_dict(),
        "loops": {
            "fit_loop": {
                "state_dict": {},
                "epoch_loop.state_dict": {"_batches_that_stepped": step},
                "epoch_loop.batch_progress": {
                    "total": {"ready": step, "completed": step, "started": step, "processed": step},
                    "current": {"ready": 12, "completed": 12, "started": 12, "processed": 12},
                    "is_last_batch": False,
                },
            },
            "validate_loop": {"state_dict": {}},
        },
        "callbacks": {
            "ModelCheckpoint" + json.dumps(monitor).replace('"', "'"): {
                "monitor": "valid_loss",
                "best_model_score": torch.tensor(2.471),
                "best_model_path": best,
                "current_score": torch.tensor(2.471),
                "dirpath": "/runs/cocola/checkpoints",
                "best_k_models": {best: torch.tensor(2.471)},
                "kth_best_model_path": best,
                "kth_value": torch.tensor(2.471),
                "last_model_path": "",
            }
        },
        "optimizer_states": [optimizer.state_dict()],
        "lr_schedulers": [],
        "hparams_name": "kwargs",
        "hyper_parameters": AttributeDict(
            learning_rate=0.001,
            embedding_dim=512,
            embedding_mode=embedding_mode,
            input_type=input_type,
            dropout_p=0.1,
        ),
        "datamodule_hparams_name": "kwargs",
        "datamodule_hyper_parameters": AttributeDict(dataset=Dataset.MIXED, batch_size=32, chunk_duration=5),
    }


def save_gzipped(obj, name):
    raw = os.path.join(OUT, name)
    torch.save(obj, raw)
    with open(raw, "rb") as f:
        data = f.read()
    os.remove(raw)
    with gzip.GzipFile(os.path.join(OUT, name + ".gz"), "wb", compresslevel=9, mtime=0) as f:
        f.write(data)
    return hashlib.sha256(data).hexdigest(), len(data)


# ---- reference features (the authors' pipelines, written with the same calls) ----

def hps_features(audio):
    stft = librosa.stft(audio, n_fft=1024, win_length=400, hop_length=160)
    harmonic, percussive = librosa.decompose.hpss(stft)
    mels = [
        librosa.power_to_db(
            librosa.feature.melspectrogram(S=np.abs(part) ** 2, sr=16000, fmin=60.0, fmax=7800.0, n_mels=64),
            ref=np.max,
        )
        for part in (harmonic, percussive)
    ]
    return np.stack(mels).astype(np.float32)


MEL = nn.Sequential(
    T.MelSpectrogram(sample_rate=16000, n_fft=1024, win_length=400, hop_length=160, f_min=60.0, f_max=7800.0,
                     n_mels=64),
    T.AmplitudeToDB(),
)


def mel_features(audio):
    """One 5 s window: shorter input zero-padded on the right, longer cut
    (the feature contract's window, as make_feature_fixtures.py does for HPS)."""
    audio = np.pad(audio[:80000], (0, max(0, 80000 - len(audio)))).astype(np.float32)
    with torch.no_grad():
        return MEL(torch.from_numpy(audio).unsqueeze(0)).numpy().astype(np.float32)


def masked(x, mode):
    """The reference forward()'s mode masks: zero the hidden channel."""
    x = x.clone()
    if mode == "harmonic":
        x[:, 1] = 0
    elif mode == "percussive":
        x[:, 0] = 0
    return x


def save(name, array):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(array, dtype="<f4"))


def reference_outputs(model, kind, clips, features_of):
    """Features, embeddings and scores on the clips, in float64."""
    names = sorted(clips)  # 00-condition, 00-stem
    features = np.stack([features_of(clips[c]) for c in names])
    save(f"{kind}.features.npy", features)
    modes = ["both", "harmonic", "percussive"] if kind == "hps" else ["both"]
    m64 = model.double().eval()
    summary = {}
    with torch.no_grad():
        x = torch.from_numpy(features).double()
        for mode in modes:
            xm = masked(x, mode)
            e = m64.embed(xm)
            we = torch.matmul(e, m64.similarity.w.t())  # row i = W e_i
            cond = [names.index(f"{p}-condition") for p in PAIRS]
            stem = [names.index(f"{p}-stem") for p in PAIRS]
            forward = m64.score(xm[cond], xm[stem])  # CoCola.score(x=condition, y=stem)
            backward = m64.score(xm[stem], xm[cond])  # CoCola.score(x=stem, y=condition)
            save(f"{kind}.{mode}.embedding.npy", e.numpy())
            save(f"{kind}.{mode}.w_embedding.npy", we.numpy())
            save(f"{kind}.{mode}.scores.npy", np.stack([forward.numpy(), backward.numpy()]))
            summary[mode] = {"condition_stem": forward.tolist(), "stem_condition": backward.tolist()}
    model.float()
    audio_sha = {c: hashlib.sha256(clips[c].astype("<f4").tobytes()).hexdigest() for c in names}
    return {"rows": names, "audio_sha256": audio_sha, "scores": summary}


def read_clips():
    clips = {}
    for p in PAIRS:
        for side in ("condition", "stem"):
            audio, rate = soundfile.read(os.path.join(CLIPS, f"{p}-{side}.wav"), dtype="float32")
            assert rate == 16000 and audio.ndim == 1 and len(audio) == 80000
            clips[f"{p}-{side}"] = audio
    return clips


# ---- small files that must be refused ----

class Evil:
    """Unpickled by Python, this would run a shell command."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/cocola-evil-checkpoint-ran",))


def write_mismatched(state):
    zeros = torch.zeros(max(t.numel() for t in state.values()))
    broken = OrderedDict((k, zeros[: t.numel()].view(t.shape)) for k, t in state.items())
    del broken["layer_norm.bias"]
    broken["encoder.encoder.model.0._fc.weight"] = zeros[: 2 * 1280].view(2, 1280)
    broken["similarity.w"] = zeros[: 256 * 256].view(256, 256)
    save_gzipped({"epoch": 3, "global_step": 300, "pytorch-lightning_version": LIGHTNING_VERSION,
                  "state_dict": broken,
                  "hyper_parameters": AttributeDict(embedding_dim=512,
                                                    input_type=ModelInputType.DOUBLE_CHANNEL_HARMONIC_PERCUSSIVE)},
                 "mismatched.ckpt")


def write_small_fixtures():
    torch.save({"epoch": 1, "global_step": 10, "pytorch-lightning_version": LIGHTNING_VERSION,
                "state_dict": OrderedDict(w=torch.zeros(2)),
                "hyper_parameters": AttributeDict(embedding_dim=256, input_type=ModelInputType.DOUBLE_CHANNEL_HARMONIC_PERCUSSIVE)},
               os.path.join(OUT, "dim256.ckpt"))
    other = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4, 2))
    torch.save(other.state_dict(), os.path.join(OUT, "foreign.ckpt"))
    torch.save({"state_dict": Evil(), "epoch": Evil()}, os.path.join(OUT, "evil.ckpt"))
    tiny = OrderedDict([
        ("encoder.projection.weight", torch.arange(6, dtype=torch.float32).reshape(2, 3)),
        ("layer_norm.weight", torch.ones(3)),
        ("similarity.w", torch.eye(3)[:, :2].t()),  # a non-contiguous view: stride (1, 3)
    ])
    torch.save({"epoch": 0, "global_step": 1, "pytorch-lightning_version": LIGHTNING_VERSION,
                "state_dict": tiny, "lr_schedulers": [], "optimizer_states": [],
                "hyper_parameters": AttributeDict(embedding_dim=512, embedding_mode=EmbeddingMode.BOTH,
                                                  input_type=ModelInputType.DOUBLE_CHANNEL_HARMONIC_PERCUSSIVE,
                                                  learning_rate=1e-3, dropout_p=0.1)},
               os.path.join(OUT, "tiny.ckpt"))


def main():
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    clips = read_clips()
    manifest = {"torch": torch.__version__, "torchaudio": torchaudio.__version__, "librosa": librosa.__version__,
                "numpy": np.__version__, "lightning_layout": LIGHTNING_VERSION, "period": PERIOD, "pairs": PAIRS,
                "checkpoints": {}, "reference": {}}
    kinds = [
        ("hps", ModelInputType.DOUBLE_CHANNEL_HARMONIC_PERCUSSIVE, EmbeddingMode.RANDOM, 11, 41_000, hps_features),
        ("mel", ModelInputType.SINGLE_CHANNEL_MEL_SPECTROGRAM, None, 7, 23_000, mel_features),
    ]
    for seed, (kind, input_type, embedding_mode, epoch, step, features_of) in enumerate(kinds):
        model = CoCola(input_type).eval()
        randomize(model, seed)
        sha, size = save_gzipped(lightning_checkpoint(model, input_type, embedding_mode, epoch, step),
                                 f"{kind}.ckpt")
        manifest["checkpoints"][f"{kind}.ckpt"] = {"sha256": sha, "bytes": size, "epoch": epoch,
                                                   "global_step": step, "input_type": input_type.value}
        manifest["reference"][kind] = reference_outputs(model, kind, clips, features_of)
        if kind == "hps":
            write_mismatched(model.state_dict())
        print(f"{kind}: {size / 1e6:.1f} MB checkpoint, scores {manifest['reference'][kind]['scores']['both']}")
    write_small_fixtures()
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    for case in FEATURE_CASES:
        audio = np.load(os.path.join(FEATURES, f"{case}.input.npy"))
        np.save(os.path.join(FEATURES, f"{case}.mel.expected.npy"), np.ascontiguousarray(mel_features(audio), "<f4"))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
