#!/usr/bin/python3
"""Reference values for tests/insight/experiment_stats_test.cc, computed with scipy.

Run by a developer (Debian's python3-scipy), never by the suite: its output is committed as
tests/data/experiment_reference.csv so the tests need no Python packages.

    /usr/bin/python3 scripts/experiment_reference.py > tests/data/experiment_reference.csv

Random raw data per case (seeded) is reduced to the sufficient statistics the engine takes
(units, sum, sum of squares). The absolute-lift Welch test comes from scipy.stats.ttest_ind
(equal_var=False) on the raw data — an implementation independent of ours; its interval from
scipy.stats.t.ppf with the Welch–Satterthwaite degrees of freedom. The relative lift uses the
delta-method variance (GrowthBook's) with scipy's t distribution. SRM comes from
scipy.stats.chisquare.
"""
import math
import sys

import numpy as np
from scipy import stats

ALPHA = 0.05


def welch_dof(va, na, vb, nb):
    a, b = va / na, vb / nb
    return (a + b) ** 2 / (a * a / (na - 1) + b * b / (nb - 1))


def main():
    rng = np.random.default_rng(20261207)
    out = sys.stdout
    out.write("case,metric,lift,n_a,sum_a,ss_a,n_b,sum_b,ss_b,estimate,se,ci_low,ci_high,p_value,dof\n")
    for case in range(60):
        kind = case % 3
        na = int(rng.integers(20, 5000))
        nb = int(rng.integers(20, 5000))
        if kind == 0:  # normal means
            a = rng.normal(10, rng.uniform(1, 5), na)
            b = rng.normal(10 + rng.uniform(-1, 1), rng.uniform(1, 5), nb)
        elif kind == 1:  # skewed (order values)
            a = rng.lognormal(3, 1, na)
            b = rng.lognormal(3 + rng.uniform(-0.2, 0.2), 1, nb)
        else:  # conversions
            pa = rng.uniform(0.05, 0.6)
            a = (rng.random(na) < pa).astype(float)
            b = (rng.random(nb) < pa * rng.uniform(0.8, 1.25)).astype(float)
        metric = "proportion" if kind == 2 else "mean"
        sa, sb = float(a.sum()), float(b.sum())
        ssa, ssb = float((a * a).sum()), float((b * b).sum())
        ma, mb = sa / na, sb / nb
        if metric == "proportion":
            va, vb = ma * (1 - ma), mb * (1 - mb)
        else:
            va, vb = float(np.var(a, ddof=1)), float(np.var(b, ddof=1))
        dof = welch_dof(va, na, vb, nb)
        for lift in ("absolute", "relative"):
            if lift == "absolute":
                est = mb - ma
                if metric == "mean":
                    res = stats.ttest_ind(b, a, equal_var=False)
                    se = est / res.statistic
                    p = res.pvalue
                else:  # scipy's Welch uses ddof=1; proportions use p(1-p) (GrowthBook)
                    se = math.sqrt(va / na + vb / nb)
                    p = 2 * stats.t.sf(abs(est / se), dof)
            else:
                est = (mb - ma) / ma
                se = math.sqrt(vb / (nb * ma * ma) + va * mb * mb / (na * ma ** 4))
                p = 2 * stats.t.sf(abs(est / se), dof)
            w = stats.t.ppf(1 - ALPHA / 2, dof) * se
            out.write(
                f"{case},{metric},{lift},{na},{sa!r},{ssa!r},{nb},{sb!r},{ssb!r},"
                f"{est!r},{se!r},{est - w!r},{est + w!r},{p!r},{dof!r}\n")
    # Sample-ratio mismatch against scipy's chisquare.
    for counts, weights in (([5000, 5400], [1, 1]), ([5000, 5200], [1, 1]), ([3300, 3350, 3410], [1, 1, 1]),
                            ([2000, 8100], [1, 4]), ([120, 95], [1, 1])):
        total = sum(counts)
        exp = [total * w / sum(weights) for w in weights]
        p = stats.chisquare(counts, exp).pvalue
        out.write("srm," + " ".join(map(str, counts)) + "," + " ".join(map(str, weights)) + f",{p!r}\n")


if __name__ == "__main__":
    main()
