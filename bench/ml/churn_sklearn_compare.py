#!/usr/bin/python3
"""Side-by-side churn quality and speed: `touchpoint churn eval` against scikit-learn's
LogisticRegression and GradientBoostingClassifier on the very same stratified folds.

The folds are rebuilt exactly as ml::StratifiedFolds does (per class, rows ordered by
SplitMix64(index XOR seed), dealt round-robin). Features are encoded as ml/tabular.h does:
numbers as is, yes/no-like pairs as 0/1, other text one-hot; identifier-like text columns
(all values distinct) are dropped; blanks are imputed with the training mean for
scikit-learn (XGBoost handles them natively, our logistic imputes the mean too).

Benchmark-only dependency: apt-get install -y python3-sklearn python3-scipy
usage: churn_sklearn_compare.py --touchpoint build/release/bin/touchpoint --data churn.csv
                                --label Churn [--folds 5] [--seed 42]
"""
import argparse
import csv
import json
import subprocess
import time

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score
from sklearn.preprocessing import StandardScaler

MASK = (1 << 64) - 1
POS = {"yes", "true", "1", "churn", "churned", "y", "t", "1.0"}
PAIRS = [("yes", "no"), ("true", "false"), ("1", "0"), ("y", "n"), ("t", "f")]


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def folds_of(y, k, seed):
    fold = [0] * len(y)
    for cls in (0, 1):
        keyed = sorted((splitmix64(i ^ seed), i) for i in range(len(y)) if y[i] == cls)
        for r, (_, i) in enumerate(keyed):
            fold[i] = r % k
    return np.array(fold)


def is_num(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def encode(header, rows, label, id_col):
    cols = []
    for c, name in enumerate(header):
        if name in (label, id_col):
            continue
        vals = [r[c].strip() for r in rows]
        present = [v for v in vals if v]
        lowered = {v.lower() for v in present}
        pair = next((p for p in PAIRS if lowered <= set(p)), None) if len(lowered) <= 2 else None
        if pair:
            cols.append([[1.0 if v.lower() == pair[0] else (np.nan if not v else 0.0)] for v in vals])
        elif all(is_num(v) for v in present):
            cols.append([[float(v) if v else np.nan] for v in vals])
        elif len(set(present)) == len(rows) and len(rows) > 20:
            continue  # identifier-like
        else:
            levels = sorted(set(present))
            cols.append([[1.0 if v == lv else 0.0 for lv in levels] for v in vals])
    return np.hstack([np.array(c, dtype=float) for c in cols])


def impute(train, test):
    mean = np.nanmean(train, axis=0)
    return np.where(np.isnan(train), mean, train), np.where(np.isnan(test), mean, test)


def sk_eval(x, y, folds, k, make, scale):
    aucs, aps, lls, secs = [], [], [], []
    for f in range(k):
        tr, te = folds != f, folds == f
        xtr, xte = impute(x[tr], x[te])
        if scale:
            s = StandardScaler().fit(xtr)
            xtr, xte = s.transform(xtr), s.transform(xte)
        t0 = time.perf_counter()
        m = make().fit(xtr, y[tr])
        secs.append(time.perf_counter() - t0)
        p = m.predict_proba(xte)[:, 1]
        aucs.append(roc_auc_score(y[te], p))
        aps.append(average_precision_score(y[te], p))
        lls.append(log_loss(y[te], p))
    return {"roc_auc": float(np.mean(aucs)), "pr_auc": float(np.mean(aps)),
            "log_loss": float(np.mean(lls)), "seconds_per_fit": float(np.mean(secs)),
            "per_fold_roc_auc": aucs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--touchpoint", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--id", default="")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    with open(a.data, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        rows = [row for row in r if row]
    li = header.index(a.label)
    y = np.array([1 if row[li].strip().lower() in POS else 0 for row in rows])
    x = encode(header, rows, a.label, a.id)
    folds = folds_of(list(y), a.folds, a.seed)
    print("rows %d, features %d, positives %d, folds %d" % (len(y), x.shape[1], y.sum(), a.folds))
    sk = {
        "logistic": sk_eval(x, y, folds, a.folds,
                            lambda: LogisticRegression(C=1.0, max_iter=2000), True),
        "gbdt": sk_eval(x, y, folds, a.folds,
                        lambda: GradientBoostingClassifier(random_state=0), False),
    }
    print("%-9s %-12s %8s %8s %8s %10s" % ("model", "impl", "ROC-AUC", "PR-AUC", "logloss", "s/fit"))
    worst = 0.0
    for model in ("logistic", "gbdt"):
        cmd = [a.touchpoint, "churn", "eval", "--data", a.data, "--label", a.label,
               "--model", model, "--folds", str(a.folds), "--seed", str(a.seed)]
        if a.id:
            cmd += ["--id", a.id]
        tp = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        s = sk[model]
        for impl, m in (("touchpoint", tp), ("scikit-learn", s)):
            print("%-9s %-12s %8.4f %8.4f %8.4f %10.3f" % (model, impl, m["roc_auc"], m["pr_auc"],
                                                         m["log_loss"], m["seconds_per_fit"]))
        diff = tp["roc_auc"] - s["roc_auc"]
        worst = max(worst, abs(diff)) if diff < 0 else worst
        print("%-9s ROC-AUC difference touchpoint - scikit-learn: %+.4f" % (model, diff))
    print("largest shortfall vs scikit-learn: %.4f (%s)" % (worst, "OK" if worst <= 0.005 else "FAIL"))


if __name__ == "__main__":
    main()
