#!/usr/bin/python3
"""Writes basket files for `touchpoint rules mine` benchmarks.

  make_baskets.py retail OUT N   first N invoices of the UCI Online Retail file (basket format,
                                 StockCode items, cancellations and blank customers kept out)
  make_baskets.py synth OUT N    N synthetic baskets (seeded): Zipf item popularity, basket
                                 sizes 1..30 (mean ~8), 40 planted co-purchase patterns
"""
import csv
import gzip
import os
import random
import sys


def retail(out, n):
    path = os.path.join(os.path.dirname(__file__), "../../../shared/data/online_retail/online_retail.csv.gz")
    baskets = {}
    with gzip.open(path, "rt", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            inv = row["InvoiceNo"]
            if inv.startswith("C") or float(row["Quantity"]) <= 0:
                continue
            if inv not in baskets:
                if len(baskets) == n:
                    break
                baskets[inv] = []
            if row["StockCode"] not in baskets[inv]:
                baskets[inv].append(row["StockCode"])
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        for items in baskets.values():
            w.writerow(items)


def synth(out, n):
    rng = random.Random(42)
    items = [f"sku{i:04d}" for i in range(1000)]
    weights = [1.0 / (i + 1) ** 0.9 for i in range(len(items))]
    patterns = [rng.sample(items[:300], rng.randint(2, 5)) for _ in range(40)]
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        for _ in range(n):
            size = min(30, max(1, int(rng.expovariate(1 / 8))))
            basket = set(rng.choices(items, weights, k=size))
            if rng.random() < 0.3:
                basket.update(rng.choice(patterns))
            w.writerow(sorted(basket))


if __name__ == "__main__":
    kind, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    {"retail": retail, "synth": synth}[kind](out, n)
