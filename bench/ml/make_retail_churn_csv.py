#!/usr/bin/python3
"""Derives a churn table from Online Retail purchase gaps: one row per customer who bought
before the cut-off (default 2011-09-10, 90 days before the data ends), features as of the
cut-off, Churn = "yes" when the customer buys nothing in the 90 days after it. This is the
definition the store-backed job will use. Standard library only.

usage: make_retail_churn_csv.py [--data ../shared/data/online_retail/online_retail.csv.gz]
                                [--cutoff 2011-09-10] [--out FILE]   (default: stdout)
"""
import argparse
import csv
import datetime
import gzip
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/online_retail/online_retail.csv.gz")
    ap.add_argument("--cutoff", default="2011-09-10")
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    cutoff = datetime.datetime.fromisoformat(a.cutoff)
    horizon = cutoff + datetime.timedelta(days=90)
    cust = {}
    future = set()
    with gzip.open(a.data, "rt", newline="", encoding="utf-8", errors="replace") as f:
        r = csv.reader(f)
        h = next(r)
        ix = {n: i for i, n in enumerate(h)}
        for row in r:
            cid = row[ix["CustomerID"]].strip()
            if not cid:
                continue
            when = datetime.datetime.fromisoformat(row[ix["InvoiceDate"]])
            if when >= cutoff:
                if when < horizon and not row[ix["InvoiceNo"]].startswith("C"):
                    future.add(cid)
                continue
            c = cust.setdefault(cid, {"first": when, "last": when, "inv": set(), "ret": set(),
                                      "spend": 0.0, "items": set(), "country": row[ix["Country"]],
                                      "recent": set()})
            c["first"], c["last"] = min(c["first"], when), max(c["last"], when)
            inv = row[ix["InvoiceNo"]]
            if inv.startswith("C"):
                c["ret"].add(inv)
                continue
            c["inv"].add(inv)
            if (cutoff - when).days < 90:
                c["recent"].add(inv)
            c["spend"] += float(row[ix["Quantity"]]) * float(row[ix["UnitPrice"]])
            c["items"].add(row[ix["StockCode"]])
    out = sys.stdout if a.out == "-" else open(a.out, "w", newline="")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["CustomerID", "Country", "recency_days", "tenure_days", "orders",
                "orders_last_90d", "returns", "spend", "avg_order_value", "distinct_products",
                "Churn"])
    for cid in sorted(cust):
        c = cust[cid]
        if not c["inv"]:
            continue
        n = len(c["inv"])
        w.writerow([cid, c["country"], (cutoff - c["last"]).days, (cutoff - c["first"]).days, n,
                    len(c["recent"]), len(c["ret"]), "%.2f" % c["spend"],
                    "%.2f" % (c["spend"] / n), len(c["items"]),
                    "no" if cid in future else "yes"])
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
