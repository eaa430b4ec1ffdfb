#!/usr/bin/env python3
"""Would a better rule for combining the three modes fix the verdicts?

The combined fit is the mean of the modes' calibrated log-odds
(docs/DESIGN.md, "Score semantics for people"). This check fits two rules
that use the three raw scores jointly, on one sensitivity run (choose it on
validation), and compares them with the shipped mean on others (test-ood).
The shipped rule's numbers are cocola's own (the run's JSON report); the
joint rules are fitted on the raw scores of its CSV:

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

  cocola eval --stems VALIDATION --sensitivity --model MODEL --out val.csv --json > val.json
  cocola eval --stems TEST_OOD --sensitivity --model MODEL --out ood.csv --json > ood.json
  joint_calibration.py val ood      # each run: RUN.csv and RUN.json

Needs numpy.
"""
import argparse
import csv
import json
import os

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


def shipped_row(summary):
    """cocola's own combined win rates and verdict shares (in %) from a JSON report."""
    rates = {r["kind"]: 100 * r["win"]["rate"] for r in summary["combined"]}
    shares = {
        "true" if v["window"] == "true stem" else v["window"]: tuple(100 * v[w] for w in ("fits", "unsure", "clashes"))
        for v in summary["verdicts"]
    }
    return rates, shares


def print_row(name, rates, shares=None):
    line = f"{name:16s} {rates['transposed']:5.1f} {rates['shifted']:5.1f} {rates['foreign']:5.1f}"
    if shares:
        line += "  | " + "  ".join(f"{k} {s[0]:4.1f}/{s[1]:4.1f}/{s[2]:4.1f}" for k, s in shares.items())
    print(line)


def report(run, rules):
    anchors = load_anchors(f"{run}.csv")
    summary = json.load(open(f"{run}.json"))
    print(f"== {run} ({len(anchors)} anchors): win rates transposed / shifted / foreign; "
          "verdicts fits / unsure / clashes")
    print_row("shipped mean", *shipped_row(summary))
    for name, rule in rules.items():
        shares = {"true": verdict_shares([a["truth"] for a in anchors], rule)}
        shares.update({k: verdict_shares([a[k] for a in anchors if a[k] is not None], rule) for k in KINDS})
        print_row(name, win_rates(anchors, rule), shares)
    both = next(m for m in summary["modes"] if m["mode"] == "both")
    print_row("both mode", {r["kind"]: 100 * r["win"]["rate"] for r in both["kinds"]})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fit_on", help="the sensitivity run (RUN.csv, RUN.json) the joint rules are fitted on")
    parser.add_argument("evaluate", nargs="*", help="further sensitivity runs of the same model")
    args = parser.parse_args()
    runs = [os.path.splitext(r)[0] if r.endswith((".csv", ".json")) else r for r in [args.fit_on, *args.evaluate]]
    fit_on = load_anchors(f"{runs[0]}.csv")
    rules = {
        "joint mixture": joint_mixture_rule(fit_on),
        "joint LDA": joint_lda_rule(fit_on),
    }
    coherent, kinds = classes(fit_on)
    print("mean raw scores (both, harmonic, percussive):")
    for name, group in [("coherent", coherent), *kinds.items()]:
        print(f"  {name:10s} {np.round(group.mean(0), 2)}  std {np.round(group.std(0), 2)}")
    for run in runs:
        report(run, rules)


if __name__ == "__main__":
    main()
