"""The spine (customer facts, monthly period metrics, cohorts, CRR, RFM) in pandas, for
comparing wall time and memory with our pipeline on the same files (scripts/compare/run.sh).

Usage: /usr/bin/python3 pandas_spine.py <data dir> <out dir>
Debian bookworm has python3-pandas but neither pyarrow nor fastparquet, so the tables are
written as CSV (customer_metrics.csv, period_metrics.csv, cohort_retention.csv).
"""
import os
import sys

import numpy as np
import pandas as pd

W = 365  # activity window in days: active at d = bought in [d-W, d)
COUNTED = {"completed", "partially_refunded"}
KNOWN = COUNTED | {"cancelled", "refunded"}


def month_start_day(m):
    """Days since epoch of the first day of month index m (months since 1970-01)."""
    return np.asarray(m, dtype="int64").astype("datetime64[M]").astype("datetime64[D]").astype("int64")


def main(data_dir, out_dir):
    raw = pd.read_csv(f"{data_dir}/orders.csv", dtype=str, keep_default_na=False,
                      on_bad_lines="skip", engine="c")
    o = pd.DataFrame({
        "order_id": raw["order_id"].str.strip(),
        "customer_id": raw["customer_id"].str.strip(),
        "status": raw["status"].str.strip().str.lower(),
        "currency": raw["currency"].str.strip().str.upper(),
    })
    ts = pd.to_datetime(raw["ordered_at"].str.strip(), utc=True, errors="coerce")
    amount = pd.to_numeric(raw["amount"].str.replace(" ", "", regex=False).str.replace(",", ".", regex=False),
                           errors="coerce")
    del raw
    ok = (ts.notna() & amount.notna() & (amount >= 0) & (o["order_id"] != "") & (o["customer_id"] != "")
          & o["status"].isin(KNOWN) & o["currency"].str.fullmatch("[A-Z]{3}"))
    o = o[ok]
    o["day"] = ts[ok].dt.tz_localize(None).values.astype("datetime64[D]").astype("int64")
    o["amount"] = np.round(amount[ok].to_numpy() * 10000).astype("int64")  # 1/10000 fixed point
    as_of = int(o["day"].max()) + 1

    # Counted orders, numbered per customer (first: earliest day, ties by smallest order id).
    c = o[o["status"].isin(COUNTED)].sort_values(["customer_id", "currency", "day", "order_id"], ignore_index=True)
    del o
    key = c["customer_id"] + "\x00" + c["currency"]
    c["cust"] = pd.factorize(key)[0]  # sorted, so codes ascend
    c["n"] = c.groupby("cust").cumcount() + 1
    c["month"] = c["day"].to_numpy().astype("datetime64[D]").astype("datetime64[M]").astype("int64")

    g = c.groupby("cust", sort=True)
    cust = pd.DataFrame({
        "customer_id": g["customer_id"].first(), "currency": g["currency"].first(),
        "first_day": g["day"].min(), "last_day": g["day"].max(),
        "orders": g["day"].size(), "revenue": g["amount"].sum() / 1e4,
    })
    cust["cohort_month"] = c["month"].to_numpy()[c["n"].to_numpy() == 1]
    cust["aov"] = cust["revenue"] / cust["orders"]
    cust["recency_days"] = as_of - cust["last_day"]
    cust["tenure_days"] = as_of - cust["first_day"]

    # RFM 5-bin scores (5 = best) by quantiles within the currency: bin = 1 + floor(5 x
    # (rank - 1) / n), ties share the lowest rank and so the score. Frequency and monetary
    # count the orders of the look-back window [as_of - LB, as_of), or of all history when
    # LB is 0 (RFM_LOOKBACK: rfm.lookback_days of scripts/bench-spine.yaml).
    lb = int(os.environ.get("RFM_LOOKBACK", "0"))
    recent = c[((c["day"] >= as_of - lb) if lb > 0 else True) & (c["day"] < as_of)].groupby("cust")["amount"]
    cust["rfm_frequency"] = recent.size().reindex(cust.index, fill_value=0)
    cust["rfm_monetary"] = recent.sum().reindex(cust.index, fill_value=0) / 1e4

    def score(s, ascending=True):
        r = s.groupby(cust["currency"]).rank(method="min", ascending=ascending) - 1
        size = cust.groupby("currency")["orders"].transform("size")
        return (r * 5 // size + 1).astype("int64")

    cust["rfm_r"] = 6 - score(cust["recency_days"])  # binned ascending, most recent get 5
    cust["rfm_f"] = score(cust["rfm_frequency"])
    cust["rfm_m"] = score(cust["rfm_monetary"])
    out = cust.assign(first_order_date=cust["first_day"].to_numpy().astype("datetime64[D]"),
                      last_order_date=cust["last_day"].to_numpy().astype("datetime64[D]"))
    out.drop(columns=["first_day", "last_day", "cohort_month"]).to_csv(f"{out_dir}/customer_metrics.csv", index=False)

    # Monthly period metrics (complete months only).
    first = c["n"] == 1
    c["rev_first"] = np.where(first, c["amount"], 0)
    c["first"] = first.astype("int64")
    pm = c.groupby(["currency", "month"]).agg(orders=("amount", "size"), revenue=("amount", "sum"),
                                              buyers=("cust", "nunique"), first_orders=("first", "sum"),
                                              revenue_first=("rev_first", "sum"))
    cust_first = cust["first_day"].to_numpy()[c["cust"].to_numpy()]
    rep = c[cust_first < month_start_day(c["month"])]
    pm["repeat_buyers"] = rep.groupby(["currency", "month"])["cust"].nunique()
    pm = pm.fillna({"repeat_buyers": 0})

    # Activity islands: purchase day p covers (p, p+W]; days closer than W+1 merge.
    d = c[["cust", "day"]].drop_duplicates()
    brk = (d["cust"].diff() != 0) | (d["day"].diff() > W)
    isl = d.groupby(brk.cumsum().to_numpy()).agg(cust=("cust", "first"), s=("day", "min"), e=("day", "max"))
    isl_s, isl_e, isl_c = isl["s"].to_numpy() + 1, isl["e"].to_numpy() + W, isl["cust"].to_numpy()
    cur_of = cust["currency"].to_numpy()

    rows = []
    for cur in sorted(set(cur_of)):
        in_cur = cur_of[isl_c] == cur
        months = np.arange(c.loc[c["currency"] == cur, "month"].min(), 1_000_000)
        months = months[: np.searchsorted(month_start_day(months + 1), as_of, side="right")]
        cov = {}
        for b in month_start_day(np.append(months, months[-1] + 1)):
            cov[b] = isl_c[in_cur & (isl_s <= b) & (isl_e >= b)]
        to_date = rev_to_date = 0
        for m in months:
            ps, pe1 = month_start_day([m, m + 1])
            r = pm.loc[(cur, m)] if (cur, m) in pm.index else None
            orders = int(r["orders"]) if r is not None else 0
            rev = r["revenue"] / 1e4 if r is not None else 0.0
            fo = int(r["first_orders"]) if r is not None else 0
            rf = r["revenue_first"] / 1e4 if r is not None else 0.0
            buyers = int(r["buyers"]) if r is not None else 0
            rb = int(r["repeat_buyers"]) if r is not None else 0
            s, e = len(cov[ps]), len(cov[pe1])
            to_date += fo
            rev_to_date += rev
            rows.append({
                "run_date": np.datetime64(as_of, "D"), "period": str(np.datetime64(int(m), "M")),
                "period_start": np.datetime64(int(ps), "D"), "period_end": np.datetime64(int(pe1) - 1, "D"),
                "currency": cur, "orders": orders, "revenue": rev, "buyers": buyers,
                "new_customers": fo, "first_orders": fo, "repeat_orders": orders - fo,
                "revenue_first": rf, "revenue_repeat": rev - rf,
                "aov": rev / orders if orders else None, "aov_first": rf / fo if fo else None,
                "aov_repeat": (rev - rf) / (orders - fo) if orders > fo else None,
                "active_start": s, "active_end": e,
                "crr": (e - fo) * 100 / s if s else None, "churn_rate": 100 - (e - fo) * 100 / s if s else None,
                "churned": int(np.isin(cov[ps], cov[pe1], assume_unique=True, invert=True).sum()),
                "repeat_buyers": rb, "rpr": rb * 100 / buyers if buyers else None,
                "customers_to_date": to_date, "ltv_avg": rev_to_date / to_date if to_date else None,
            })
    per = pd.DataFrame(rows)
    sp = pd.read_csv(f"{data_dir}/spend.csv", dtype=str, keep_default_na=False, on_bad_lines="skip")
    sp = pd.DataFrame({"period": sp["period"].str.strip(), "currency": sp["currency"].str.strip().str.upper(),
                       "spend": pd.to_numeric(sp["amount"], errors="coerce")})
    per = per.merge(sp.groupby(["period", "currency"], as_index=False)["spend"].sum(), how="left")
    per["cac"] = per["spend"] / per["new_customers"].where(per["new_customers"] > 0)
    per.to_csv(f"{out_dir}/period_metrics.csv", index=False)

    # Cohort retention: first-order month x month offset.
    c["cohort"] = cust["cohort_month"].to_numpy()[c["cust"].to_numpy()]
    coh = c.groupby(["currency", "cohort", "month"]).agg(active_customers=("cust", "nunique"),
                                                         orders=("amount", "size"), revenue=("amount", "sum"))
    coh = coh.reset_index()
    coh["revenue"] /= 1e4
    size = cust.groupby(["currency", "cohort_month"]).size().rename("cohort_size")
    coh = coh.merge(size, left_on=["currency", "cohort"], right_index=True)
    coh["period_offset"] = coh["month"] - coh["cohort"]
    coh["retention_pct"] = coh["active_customers"] * 100 / coh["cohort_size"]
    coh["cum_revenue_per_customer"] = coh.groupby(["currency", "cohort"])["revenue"].cumsum() / coh["cohort_size"]
    coh["cohort"] = coh["cohort"].to_numpy().astype("datetime64[M]").astype(str)
    coh.drop(columns=["month"]).to_csv(f"{out_dir}/cohort_retention.csv", index=False)
    print(f"pandas: as_of {np.datetime64(as_of, 'D')}, tables in {out_dir}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: pandas_spine.py <data dir> <out dir>")
    main(sys.argv[1], sys.argv[2])
