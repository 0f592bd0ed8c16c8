"""The whole-process peer for `npm run bench -- models`: what a Python user runs to get BG/NBD and Gamma-Gamma on the
CDNOW log with the real `lifetimes` (from ../shared/peers/python): read the file with pandas, build the calibration
summaries (weeks, calibration to 1997-09-30) with lifetimes.utils, fit BetaGeoFitter and GammaGammaFitter on repeat
customers. Usage: lifetimes_process.py CDNOW_master.txt. Prints the fitted parameters as JSON.
"""
import json
import sys

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

df = pd.read_csv(sys.argv[1], sep=r"\s+", header=0, names=["customer_id", "date", "cds", "value"], dtype={"date": str})
df["date"] = pd.to_datetime(df["date"], format="%Y%m%d")
df = df[df["date"] <= "1997-09-30"]
s = summary_data_from_transaction_data(
    df, "customer_id", "date", monetary_value_col="value", observation_period_end="1997-09-30", freq="W"
)
bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
repeat = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
gg = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
print(json.dumps({"bgnbd": bg.params_.to_dict(), "gammagamma": gg.params_.to_dict(), "people": len(s)}))
