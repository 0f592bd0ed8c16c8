"""The peer for `npm run bench -- models`: BG/NBD fitted the way the Python `lifetimes` library (0.11.3) fits it.

The negative log-likelihood below is lifetimes' BetaGeoFitter._negative_log_likelihood (mean over people, times
scaled so the longest T is 10, log-parameters, start at zeros), minimised by scipy.optimize.minimize with BFGS as
lifetimes does. lifetimes takes the gradient from autograd; autograd is not installed here, so scipy approximates it
by finite differences (one more objective evaluation per parameter). Reads "x tx T [weight]" lines on stdin; prints JSON.
"""
import json
import sys
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln


def main():
    data = np.loadtxt(sys.stdin, ndmin=2)
    freq, rec, age = data[:, 0], data[:, 1], data[:, 2]
    # An optional fourth column is lifetimes' `weights` (people per identical history).
    weights = data[:, 3] if data.shape[1] > 3 else np.ones_like(freq)
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        scale = 10.0 / age.max()
        srec, sage = rec * scale, age * scale

        def nll(log_params):
            r, alpha, a, b = np.exp(log_params)
            a1 = gammaln(r + freq) - gammaln(r) + r * np.log(alpha)
            a2 = gammaln(a + b) + gammaln(b + freq) - gammaln(b) - gammaln(a + b + freq)
            a3 = -(r + freq) * np.log(alpha + sage)
            a4 = np.log(a) - np.log(b + np.maximum(freq, 1) - 1) - (r + freq) * np.log(srec + alpha)
            ll = weights * (a1 + a2 + np.log(np.exp(a3) + np.exp(a4) * (freq > 0)))
            return -ll.sum() / weights.sum()

        res = minimize(nll, np.zeros(4), method="BFGS", tol=1e-7)
        params = np.exp(res.x)
        params[1] /= scale
        times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": sorted(times)[len(times) // 2], "params": params.tolist(), "nfev": int(res.nfev)}))


if __name__ == "__main__":
    main()
