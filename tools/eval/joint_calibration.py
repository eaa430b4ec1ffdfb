#!/usr/bin/env python3
"""Would a better rule for combining the three modes fix the verdicts?

The combined fit is the mean of the modes' calibrated log-odds
(docs/DESIGN.md, "Score semantics for people"). This check fits two rules
that use the three raw scores jointly, on one sensitivity run (choose it on
validation), and compares them with the shipped mean on others (test-ood):

- joint mixture: coherent windows (true stems and their in-key copies) as
  one Gaussian over (both, harmonic, percussive), each negative kind
  (transposed, shifted, foreign) as another, one pooled covariance; the
  log-odds is the coherent density against the kinds' mixture (foreign
  1/2, transposed and shifted 1/4 each: other songs and hard negatives
  weigh the same, as in the calibration contract). With a shared
  covariance that is a soft minimum of three linear rules, one per kind.
- joint LDA: the same with the negatives as one Gaussian (their mixture's
  mean and covariance): a single linear rule.

Printed per run: the combined win rates (true stem against each kind, ties
count half) and the verdict shares (fits >= 70 / unsure / clashes < 30) of
true stems and of each kind, for the three rules, and the plain `both`
mode's win rates.

  cocola model-info MODEL --json > info.json
  cocola eval --stems VALIDATION --sensitivity --model MODEL --out val.csv
  cocola eval --stems TEST_OOD --sensitivity --model MODEL --out ood.csv
  joint_calibration.py info.json val.csv ood.csv

Needs numpy.
"""
import argparse
import csv
import json

import numpy as np

MODES = ["both", "harmonic", "percussive"]
KINDS = ["transposed", "shifted", "foreign"]
MIXTURE = {"foreign": 0.5, "transposed": 0.25, "shifted": 0.25}


def load_anchors(path):
    """One dict per anchor: window name -> the three modes' raw scores."""
    anchors = []
    for row in csv.DictReader(open(path)):
        def scores(window):
            cells = [row.get(f"{window}_{m}", "") for m in MODES]
            return None if "" in cells else np.array([float(c) for c in cells])
        anchors.append({w: scores(w) for w in ["truth", "in_key", *KINDS]})
    return anchors


def shipped_rule(calibration):
    """The contract's combined log-odds: the mean of the modes' own."""
    def mode_log_odds(c, s):
        cm, cv = c["coherent"]["mean"], c["coherent"]["std"] ** 2
        rm, rv = c["random"]["mean"], c["random"]["std"] ** 2
        if c.get("hard"):
            hm, hv = c["hard"]["mean"], c["hard"]["std"] ** 2
            im, iv = (rm + hm) / 2, (rv + hv) / 2 + ((rm - hm) / 2) ** 2
        else:
            im, iv = rm, rv
        return (cm - im) / ((cv + iv) / 2) * (s - (cm + im) / 2)
    return lambda x: np.mean([mode_log_odds(calibration[m], x[i]) for i, m in enumerate(MODES)])


def classes(anchors):
    coherent = np.array([a["truth"] for a in anchors] + [a["in_key"] for a in anchors])
    kinds = {k: np.array([a[k] for a in anchors if a[k] is not None]) for k in KINDS}
    return coherent, kinds


def joint_mixture_rule(anchors):
    coherent, kinds = classes(anchors)
    means = {k: g.mean(0) for k, g in kinds.items()}
    pooled = np.mean([np.cov(g.T, bias=True) for g in [coherent, *kinds.values()]], axis=0)
    inverse = np.linalg.inv(pooled)
    mu_c = coherent.mean(0)

    def log_odds(x):
        half_dist = lambda mu: -0.5 * (x - mu) @ inverse @ (x - mu)
        terms = np.array([np.log(MIXTURE[k]) + half_dist(means[k]) for k in KINDS])
        top = terms.max()
        return half_dist(mu_c) - (top + np.log(np.exp(terms - top).sum()))
    return log_odds


def joint_lda_rule(anchors):
    coherent, kinds = classes(anchors)
    weights = np.array([MIXTURE[k] for k in KINDS])
    means = [kinds[k].mean(0) for k in KINDS]
    second = [np.cov(kinds[k].T, bias=True) + np.outer(m, m) for k, m in zip(KINDS, means)]
    mu_i = sum(w * m for w, m in zip(weights, means))
    cov_i = sum(w * s for w, s in zip(weights, second)) - np.outer(mu_i, mu_i)
    mu_c = coherent.mean(0)
    direction = np.linalg.inv((np.cov(coherent.T, bias=True) + cov_i) / 2) @ (mu_c - mu_i)
    return lambda x: direction @ (x - (mu_c + mu_i) / 2)


def truth_for(anchor, kind):
    # A transposed copy went through the shifter: compare it with the in-key copy.
    return anchor["in_key"] if kind == "transposed" else anchor["truth"]


def win_rates(anchors, measure):
    rates = {}
    for k in KINDS:
        d = np.array([measure(truth_for(a, k)) - measure(a[k]) for a in anchors if a[k] is not None])
        rates[k] = 100 * np.mean((d > 0) + 0.5 * (d == 0))
    return rates


def verdict_shares(windows, log_odds):
    fit = np.array([100 / (1 + np.exp(-log_odds(x))) for x in windows])
    return 100 * np.mean(fit >= 70), 100 * np.mean((fit >= 30) & (fit < 70)), 100 * np.mean(fit < 30)


def report(path, rules):
    anchors = load_anchors(path)
    print(f"== {path} ({len(anchors)} anchors): win rates transposed / shifted / foreign; "
          "verdicts fits / unsure / clashes")
    for name, rule in rules.items():
        w = win_rates(anchors, rule)
        shares = {"true": verdict_shares([a["truth"] for a in anchors], rule)}
        shares.update({k: verdict_shares([a[k] for a in anchors if a[k] is not None], rule) for k in KINDS})
        print(f"{name:16s} {w['transposed']:5.1f} {w['shifted']:5.1f} {w['foreign']:5.1f}  | "
              + "  ".join(f"{k} {s[0]:4.1f}/{s[1]:4.1f}/{s[2]:4.1f}" for k, s in shares.items()))
    w = win_rates(anchors, lambda x: x[0])
    print(f"{'both mode':16s} {w['transposed']:5.1f} {w['shifted']:5.1f} {w['foreign']:5.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_info", help="`cocola model-info MODEL --json` output (its calibration)")
    parser.add_argument("fit_on", help="sensitivity CSV (`--out`) the joint rules are fitted on")
    parser.add_argument("evaluate", nargs="*", help="further sensitivity CSVs of the same model")
    args = parser.parse_args()
    calibration = json.load(open(args.model_info))["calibration"]
    fit_on = load_anchors(args.fit_on)
    rules = {
        "shipped mean": shipped_rule(calibration),
        "joint mixture": joint_mixture_rule(fit_on),
        "joint LDA": joint_lda_rule(fit_on),
    }
    coherent, kinds = classes(fit_on)
    print("mean raw scores (both, harmonic, percussive):")
    for name, group in [("coherent", coherent), *kinds.items()]:
        print(f"  {name:10s} {np.round(group.mean(0), 2)}  std {np.round(group.std(0), 2)}")
    for path in [args.fit_on, *args.evaluate]:
        report(path, rules)


if __name__ == "__main__":
    main()
