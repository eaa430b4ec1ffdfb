#!/usr/bin/env python3
"""Golden outputs of the COCOLA encoder, computed by the reference stack.

Builds the reference network with efficientnet_pytorch 0.7.1
(`EfficientNet.from_name("efficientnet-b0", include_top=False, in_channels=2)`)
and the reference head (Linear 1280->512, LayerNorm, tanh, bilinear W) in a
module tree whose state_dict keys are those of the reference Lightning
checkpoint, fills every parameter with the deterministic test weights that
`cocola::model::testing` also generates (same generator, bit for bit), runs a
few deterministic inputs in eval mode, and writes small fixtures to
cocola/tests/fixtures/encoder/:

  state_dict.txt      every parameter: "name shape" (num_batches_tracked left out)
  checksums.txt       sha256 of the weights and of the inputs, to prove the
                      Rust and Python generators agree
  embedding.npy       [4, 512] f32: tanh(LayerNorm(projection(EfficientNet(x))))
  w_embedding.npy     [4, 512] f32: row i = W @ embedding[i]
  scores.npy          [4, 4] f32: scores[c, s] = reference pairwise(x=e[c], y=e[s])

The reference runs in float64 (weights and inputs are f32 values, cast
exactly), so the fixtures hold the exact result rounded to f32 and the Rust
test measures only ONNX Runtime's own float32 error.

Inputs (batch of 4, [2, 64, 501] each, values in [-80, 0)):
  0: random "input.0"
  1: all zeros
  2: input 0 with the percussive channel zeroed (harmonic mode)
  3: random "input.3" with the harmonic channel zeroed (percussive mode)

Run: .venv-encoder/bin/python tools/golden/make_encoder_fixtures.py
(venv: see requirements-encoder.txt)
"""

import hashlib
import math
import os
import sys

import numpy as np
import torch
from torch import nn
from efficientnet_pytorch import EfficientNet

SEED = 7
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "cocola", "tests", "fixtures", "encoder")
FEATURE_SHAPE = (2, 64, 501)

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


# ---- the deterministic generator (see cocola/src/model/testing.rs) ----

def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & M64
    return h


def mix_scalar(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def mix(z: np.ndarray) -> np.ndarray:
    # numpy uint64 arithmetic wraps modulo 2^64, like Rust's wrapping ops.
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def uniform(name: str, seed: int, n: int, lo: float, hi: float) -> np.ndarray:
    base = np.uint64(fnv1a64(name.encode("utf-8")) ^ mix_scalar(seed))
    i = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        r = mix(base + i * np.uint64(GOLDEN))
    u = (r >> np.uint64(40)).astype(np.float32) / np.float32(1 << 24)
    lo32, hi32 = np.float32(lo), np.float32(hi)
    span = np.float32(hi32 - lo32)
    return (lo32 + span * u).astype(np.float32)


# ---- the reference module tree (names as in the Lightning checkpoint) ----

class EfficientNetEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            EfficientNet.from_name("efficientnet-b0", include_top=False, in_channels=2),
            nn.Dropout(0.1),
            nn.Flatten(),
        )

    def forward(self, x):
        return self.model(x)


class CoColaEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = EfficientNetEncoder()
        self.projection = nn.Linear(1280, 512)

    def forward(self, x):
        return self.projection(self.encoder(x))


class Similarity(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.empty(512, 512))

    def pairwise(self, x, y):
        # reference BilinearSimilarity.pairwise: (x * (W @ y^T)^T).sum(-1)
        return (x * torch.matmul(self.w, y.t()).t()).sum(dim=-1)


class CoCola(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = CoColaEncoder()
        self.layer_norm = nn.LayerNorm(512)
        self.tanh = nn.Tanh()
        self.similarity = Similarity()

    def embed(self, x):
        return self.tanh(self.layer_norm(self.encoder(x)))


def roles(model: nn.Module):
    """name -> (role, fan_in), derived from the module types."""
    out = {}
    for mod_name, mod in model.named_modules():
        p = mod_name + "." if mod_name else ""
        if isinstance(mod, nn.Conv2d):
            fan_in = mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
            out[p + "weight"] = ("weight", fan_in)
            if mod.bias is not None:
                out[p + "bias"] = ("bias", fan_in)
        elif isinstance(mod, nn.BatchNorm2d):
            out[p + "weight"] = ("norm_weight", 1)
            out[p + "bias"] = ("small", 1)
            out[p + "running_mean"] = ("small", 1)
            out[p + "running_var"] = ("norm_weight", 1)
        elif isinstance(mod, nn.Linear):
            out[p + "weight"] = ("weight", mod.in_features)
            out[p + "bias"] = ("bias", mod.in_features)
        elif isinstance(mod, nn.LayerNorm):
            out[p + "weight"] = ("norm_weight", 1)
            out[p + "bias"] = ("small", 1)
        elif isinstance(mod, Similarity):
            out[p + "w"] = ("weight", 512)
    return out


def value_range(role, fan_in):
    if role == "weight":
        a = float(np.float32(math.sqrt(3.75 / fan_in)))
        return -a, a
    if role in ("bias", "small"):
        return -0.1, 0.1
    if role == "norm_weight":
        return 0.5, 1.5
    raise ValueError(role)


def main():
    torch.manual_seed(0)
    model = CoCola().eval()
    sd = model.state_dict()
    role = roles(model)
    names = [k for k in sd if not k.endswith("num_batches_tracked")]
    missing = [k for k in names if k not in role]
    if missing:
        sys.exit(f"no role for {missing}")

    weights = {}
    for k in names:
        shape = tuple(sd[k].shape)
        lo, hi = value_range(*role[k])
        weights[k] = uniform(k, SEED, int(np.prod(shape)), lo, hi).reshape(shape)
    new_sd = {k: torch.from_numpy(v.copy()) for k, v in weights.items()}
    result = model.load_state_dict(new_sd, strict=False)
    unexpected_missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if unexpected_missing or result.unexpected_keys:
        sys.exit(f"state_dict mismatch: {result}")

    fl = int(np.prod(FEATURE_SHAPE))
    x0 = uniform("input.0", SEED, fl, -80.0, 0.0).reshape(FEATURE_SHAPE)
    x3 = uniform("input.3", SEED, fl, -80.0, 0.0).reshape(FEATURE_SHAPE)
    x2 = x0.copy()
    x2[1] = 0.0
    x3[0] = 0.0
    x = np.stack([x0, np.zeros(FEATURE_SHAPE, np.float32), x2, x3]).astype(np.float32)

    h = hashlib.sha256()
    for k in sorted(names):
        h.update(k.encode("utf-8"))
        h.update(weights[k].astype("<f4").tobytes())
    weights_sha = h.hexdigest()
    inputs_sha = hashlib.sha256(x.astype("<f4").tobytes()).hexdigest()

    with torch.no_grad():
        m64 = model.double()
        xt = torch.from_numpy(x).double()
        e = m64.embed(xt)
        we = torch.matmul(e, m64.similarity.w.t())  # row i = W @ e_i
        b = e.shape[0]
        scores = torch.stack([m64.similarity.pairwise(e[c:c + 1].expand(b, -1), e) for c in range(b)])
        m32 = model.float()
        e32 = m32.embed(torch.from_numpy(x))
    print("float32 vs float64 PyTorch, max |diff| of embedding:", float((e32.double() - e).abs().max()))
    print("embedding range:", float(e.min()), float(e.max()), " w_embedding range:", float(we.min()), float(we.max()))
    # Reference static padding, for the record.
    eff = model.encoder.encoder.model[0]
    print("stem padding (left, right, top, bottom):", eff._conv_stem.static_padding.padding)

    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, "embedding.npy"), e.float().numpy().astype("<f4"))
    np.save(os.path.join(OUT, "w_embedding.npy"), we.float().numpy().astype("<f4"))
    np.save(os.path.join(OUT, "scores.npy"), scores.float().numpy().astype("<f4"))
    with open(os.path.join(OUT, "state_dict.txt"), "w") as f:
        for k in names:
            f.write(f"{k} {'x'.join(str(d) for d in sd[k].shape)}\n")
    with open(os.path.join(OUT, "checksums.txt"), "w") as f:
        f.write(f"seed {SEED}\nweights {weights_sha}\ninputs {inputs_sha}\n")
    print("wrote fixtures to", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
