#!/usr/bin/python3
"""Deterministic generator of a telco-like churn CSV (the shape of IBM's Telco Customer Churn
set: 7,043 rows, customerID, demographics, services, Contract, PaymentMethod, tenure,
MonthlyCharges, TotalCharges with " " blanks for brand-new customers, Churn Yes/No).

The churn label comes from a hidden logistic score with a few interactions (fibre +
month-to-month, short tenure + electronic check), so both linear and tree models have
something to learn. Standard library only.

usage: make_churn_csv.py [--rows 7043] [--seed 2024] [--out FILE]   (default: stdout)
"""
import argparse
import csv
import math
import random
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=7043)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--out", default="-")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    out = sys.stdout if args.out == "-" else open(args.out, "w", newline="")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["customerID", "gender", "SeniorCitizen", "Partner", "Dependents", "tenure",
                "PhoneService", "MultipleLines", "InternetService", "OnlineSecurity",
                "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV",
                "StreamingMovies", "Contract", "PaperlessBilling", "PaymentMethod",
                "MonthlyCharges", "TotalCharges", "Churn"])
    yn = lambda p: "Yes" if rng.random() < p else "No"
    for i in range(args.rows):
        cid = "%04d-%s" % (rng.randrange(10000),
                           "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(5)))
        cid = "%s%d" % (cid, i)  # unique
        gender = rng.choice(["Female", "Male"])
        senior = 1 if rng.random() < 0.16 else 0
        partner = yn(0.48)
        dependents = yn(0.45 if partner == "Yes" else 0.15)
        contract = rng.choices(["Month-to-month", "One year", "Two year"], [0.55, 0.21, 0.24])[0]
        if rng.random() < 0.0016:
            tenure = 0
        elif contract == "Month-to-month":
            tenure = min(72, max(1, int(rng.expovariate(1 / 18.0)) + 1))
        elif contract == "One year":
            tenure = rng.randint(1, 72)
        else:
            tenure = min(72, max(1, int(72 - rng.expovariate(1 / 18.0))))
        phone = yn(0.9)
        multiple = ("No phone service" if phone == "No" else yn(0.47))
        internet = rng.choices(["DSL", "Fiber optic", "No"], [0.34, 0.44, 0.22])[0]

        def addon(p):
            return "No internet service" if internet == "No" else yn(p)

        security = addon(0.37 if contract != "Month-to-month" else 0.22)
        backup = addon(0.44)
        protection = addon(0.44)
        support = addon(0.37 if contract != "Month-to-month" else 0.2)
        tv = addon(0.5)
        movies = addon(0.5)
        paperless = yn(0.59)
        payment = rng.choices(["Electronic check", "Mailed check", "Bank transfer (automatic)",
                               "Credit card (automatic)"], [0.34, 0.23, 0.22, 0.21])[0]
        monthly = 20.0
        if phone == "Yes":
            monthly += 5 + (5 if multiple == "Yes" else 0)
        if internet == "DSL":
            monthly += 25
        elif internet == "Fiber optic":
            monthly += 50
        for a in (security, backup, protection, support, tv, movies):
            if a == "Yes":
                monthly += 5 + (5 if a in (tv, movies) and internet == "Fiber optic" else 0)
        monthly = round(monthly + rng.gauss(0, 2.0), 2)
        total = " " if tenure == 0 else "%.2f" % (monthly * tenure * rng.uniform(0.95, 1.05))

        z = -1.2
        z += {"Month-to-month": 0.9, "One year": -0.6, "Two year": -1.6}[contract]
        z += -0.9 * math.log1p(tenure) + 1.6
        z += {"DSL": -0.2, "Fiber optic": 0.55, "No": -0.9}[internet]
        z += 0.5 if (internet == "Fiber optic" and contract == "Month-to-month") else 0.0
        z += 0.45 if payment == "Electronic check" else 0.0
        z += 0.4 if (payment == "Electronic check" and tenure < 6) else 0.0
        z += -0.45 if security == "Yes" else 0.0
        z += -0.4 if support == "Yes" else 0.0
        z += 0.25 if paperless == "Yes" else 0.0
        z += 0.3 * senior
        z += -0.15 if dependents == "Yes" else 0.0
        z += 0.012 * (monthly - 65)
        churn = "Yes" if rng.random() < 1 / (1 + math.exp(-z)) else "No"
        w.writerow([cid, gender, senior, partner, dependents, tenure, phone, multiple, internet,
                    security, backup, protection, support, tv, movies, contract, paperless,
                    payment, "%.2f" % monthly, total, churn])
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
