#!/usr/bin/python3
"""TF-IDF + linear SVM baseline on Banking77 (benchmark only; needs apt python3-sklearn).

Splits /work/shared/data/banking77/train.csv 80/20 with a fixed seed, writes the two parts as
CSV (so `touchpoint text train/eval` can use the very same split) and prints the baseline's
accuracy and macro-F1 on the held-out part.

usage: banking77_baseline.py [TRAIN_CSV] [OUT_DIR]
"""
import csv
import os
import random
import sys
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.svm import LinearSVC

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "../../../shared/data/banking77/train.csv")
out_dir = sys.argv[2] if len(sys.argv) > 2 else "/tmp"
with open(src, newline="", encoding="utf-8") as f:
    rows = [(r["text"], r["category"]) for r in csv.DictReader(f)]
random.Random(7).shuffle(rows)
cut = len(rows) * 4 // 5
train, test = rows[:cut], rows[cut:]
for name, part in (("banking77_train80.csv", train), ("banking77_test20.csv", test)):
    with open(os.path.join(out_dir, name), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(part)
t0 = time.time()
vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
x_train = vec.fit_transform([t for t, _ in train])
clf = LinearSVC(C=1.0).fit(x_train, [l for _, l in train])
secs = time.time() - t0
pred = clf.predict(vec.transform([t for t, _ in test]))
gold = [l for _, l in test]
print(f"tfidf(1-2 word grams, sublinear)+LinearSVC(C=1): train {len(train)} test {len(test)} "
      f"accuracy {accuracy_score(gold, pred):.4f} macro_f1 "
      f"{f1_score(gold, pred, average='macro'):.4f} train_seconds {secs:.2f}")
