#!/usr/bin/python3
"""Builds a daily order-count series from Online Retail: distinct invoices per calendar day
(cancellations, InvoiceNo starting with C, excluded), days without orders filled with 0
(the shop does not trade on Saturdays, and closes over Christmas). Standard library only.

usage: make_forecast_series.py [--data ../shared/data/online_retail/online_retail.csv.gz]
                               [--out series_orders.csv]     (default: stdout)
"""
import argparse
import csv
import datetime
import gzip
import io
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/online_retail/online_retail.csv.gz")
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    invoices = {}
    with gzip.open(a.data, "rt", newline="", encoding="utf-8", errors="replace") as f:
        r = csv.reader(f)
        header = next(r)
        inv, when = header.index("InvoiceNo"), header.index("InvoiceDate")
        for row in r:
            if not row or row[inv].startswith("C"):
                continue
            day = row[when][:10]
            invoices.setdefault(day, set()).add(row[inv])
    days = sorted(invoices)
    start = datetime.date.fromisoformat(days[0])
    end = datetime.date.fromisoformat(days[-1])
    out = sys.stdout if a.out == "-" else open(a.out, "w", newline="")
    out.write("date,orders\n")
    d = start
    while d <= end:
        out.write("%s,%d\n" % (d.isoformat(), len(invoices.get(d.isoformat(), ()))))
        d += datetime.timedelta(days=1)
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
