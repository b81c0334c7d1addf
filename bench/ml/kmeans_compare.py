#!/usr/bin/python3
"""Side-by-side k-means: `touchpoint segment kmeans` vs scikit-learn KMeans on the same data.

  kmeans_compare.py TOUCHPOINT_BINARY [ROWS=1000000] [K=8] [RESTARTS=4] [DATA=blobs|uniform]

Generates ROWS x 8 features (8 Gaussian blobs with different spreads, or with DATA=uniform
independent uniform values without any cluster structure; numpy seed 7) into a CSV, z-scores it (as the CLI does), runs scikit-learn KMeans(init="k-means++",
n_init=RESTARTS, algorithm="lloyd", tol=1e-4) and the CLI with the same k and restarts, then
recomputes the CLI's inertia from its labels with numpy. Needs python3-sklearn (benchmark
only, never a runtime dependency).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler


def main():
    binary = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    restarts = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    kind = sys.argv[5] if len(sys.argv) > 5 else "blobs"
    d = 8
    rng = np.random.default_rng(7)
    if kind == "uniform":
        x = rng.uniform(0, 1, size=(rows, d))
    else:
        centres = rng.uniform(-10, 10, size=(8, d))
        which = rng.integers(0, 8, size=rows)
        spread = 1.0 + (which % 3)
        x = centres[which] + rng.standard_normal((rows, d)) * spread[:, None]
    tmp = tempfile.mkdtemp(prefix="tp_kmeans_")
    data = os.path.join(tmp, "data.csv")
    cols = [f"f{j}" for j in range(d)]
    np.savetxt(data, x, delimiter=",", header=",".join(cols), comments="", fmt="%.6f")
    x = np.loadtxt(data, delimiter=",", skiprows=1)  # exactly what the CLI sees

    z = StandardScaler().fit_transform(x)
    t0 = time.perf_counter()
    sk = KMeans(n_clusters=k, init="k-means++", n_init=restarts, algorithm="lloyd", tol=1e-4,
                random_state=0).fit(z)
    sk_seconds = time.perf_counter() - t0

    labels_path = os.path.join(tmp, "labels.csv")
    t0 = time.perf_counter()
    out = subprocess.run([binary, "segment", "kmeans", "--data", data, "--features", ",".join(cols),
                          "--k", str(k), "--restarts", str(restarts), "--seed", "42",
                          "--out", labels_path], check=True, capture_output=True, text=True)
    tp_wall = time.perf_counter() - t0
    summary = json.loads(out.stdout)
    labels = np.loadtxt(labels_path, delimiter=",", skiprows=1, dtype=np.int64)[:, 1]
    recomputed = sum(((z[labels == c] - z[labels == c].mean(axis=0)) ** 2).sum()
                     for c in range(k) if (labels == c).any())
    print(f"data={kind} rows={rows} features={d} k={k} restarts={restarts}")
    print(f"scikit-learn {__import__('sklearn').__version__}: inertia={sk.inertia_:.1f} "
          f"iterations={sk.n_iter_} fit_seconds={sk_seconds:.2f}")
    print(f"touchpoint: inertia={summary['inertia']:.1f} (recomputed from labels {recomputed:.1f}) "
          f"iterations={summary['iterations']} cli_seconds={tp_wall:.2f} "
          f"(read+standardise+fit+write, {summary['seconds']:.2f} inside)")
    ratio = summary["inertia"] / sk.inertia_
    print(f"inertia ratio touchpoint/sklearn = {ratio:.5f} ({(ratio - 1) * 100:+.3f} %)")
    return 0 if abs(ratio - 1) <= 0.01 else 1


if __name__ == "__main__":
    sys.exit(main())
