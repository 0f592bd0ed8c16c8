"""The scikit-learn peer for `npm run bench -- propensity`, with default settings as a data scientist would call them.

Modes (prints one JSON document):
- `telco CSV SPLITS_JSON`: the telco churn table read with pandas; customerID dropped, TotalCharges coerced to numbers
  (its blanks filled with 0: those customers have tenure 0), Churn Yes/No → 1/0, text columns one-hot encoded with
  pandas.get_dummies. For each split (a list of test row numbers) it fits LogisticRegression() behind a StandardScaler
  and HistGradientBoostingClassifier() on the other rows and prints the test AUCs.
- `synthetic CSV LABEL`: read time, and fit time of both models on all rows.
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def models():
    return {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression()),
        "hgb": HistGradientBoostingClassifier(),
    }


def telco(path, splits_path):
    df = pd.read_csv(path)
    df = df.drop(columns=["customerID"])
    df["TotalCharges"] = pd.to_numeric(df["TotalCharges"], errors="coerce").fillna(0)
    y = (df.pop("Churn") == "Yes").astype(int).to_numpy()
    X = pd.get_dummies(df).astype(float).to_numpy()
    splits = json.load(open(splits_path))
    out = {"logistic": [], "hgb": []}
    for test_rows in splits:
        test = np.zeros(len(y), dtype=bool)
        test[test_rows] = True
        for name, model in models().items():
            model.fit(X[~test], y[~test])
            out[name].append(roc_auc_score(y[test], model.predict_proba(X[test])[:, 1]))
    return out


def synthetic(path, label):
    start = time.perf_counter()
    df = pd.read_csv(path)
    y = df.pop(label).to_numpy()
    X = pd.get_dummies(df).astype(float).to_numpy()
    out = {"read": time.perf_counter() - start}
    for name, model in models().items():
        start = time.perf_counter()
        model.fit(X, y)
        out[name] = time.perf_counter() - start
    return out


if __name__ == "__main__":
    mode = sys.argv[1]
    result = telco(sys.argv[2], sys.argv[3]) if mode == "telco" else synthetic(sys.argv[2], sys.argv[3])
    print(json.dumps(result))
