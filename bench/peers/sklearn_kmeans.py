"""The k-means peer for `npm run bench -- models`: scikit-learn's KMeans (k-means++ seeding, Lloyd, default tol) on
the same standardised points, read from a raw float64 file of n × d values. Usage: sklearn_kmeans.py FILE d k.
Prints fit times and inertias with one init and with four (best of four), as JSON.
"""
import json
import sys
import time

import numpy as np
from sklearn.cluster import KMeans

d, k = int(sys.argv[2]), int(sys.argv[3])
X = np.fromfile(sys.argv[1], dtype=np.float64).reshape(-1, d)
out = {}
for inits in (1, 4):
    start = time.perf_counter()
    km = KMeans(n_clusters=k, n_init=inits, random_state=0).fit(X)
    out[f"init{inits}"] = {"seconds": time.perf_counter() - start, "inertia": float(km.inertia_), "iterations": int(km.n_iter_)}
print(json.dumps(out))
