"""Learned targeting: model features without leakage, a LightGBM model with calibrated probabilities, explanations.

Why a model next to the rules: rules say what analysts know; a model learns from every control result what they
have not written down (DATE, KDD 2020; the KCS data-set paper, arXiv:2208.02484). Labels exist only for
controlled declarations, so the model is trained on those alone — which is also why selection keeps a share of
its capacity for exploration (`targeting.select`): a model that only learns from its own picks goes blind when
fraud moves.

**No leakage.** Every history feature counts control results recorded strictly before the declaration was lodged
*and* before the model's label cutoff. Training rows see only their own past; rows scored later see what was known
when the model was trained. That is how the public set's official split is evaluated (train 2020, valid 2021-Q1,
test 2021-Q2, cutoff 2021-01-01), and in production the cutoff of a scoring run is "now". Medians of value per kg
come from declarations before the cutoff (no labels involved).

**Features** (`FEATURES`), one row per declaration, built from the rules' declaration view (`features.py`) and the
parties of every role:

* categorical: office, transport mode, HS6/HS4/chapter, origin, departure, currency;
* numeric: net and gross mass, value, value per kg and its log-deviation from the median of its HS6 and currency,
  goods items, containers, consignee age and earlier declarations, the published rules' score and hit count;
* history, for the importer (consignee), declarant, seller (consignor), the HS6, HS6 × origin, importer × HS6, and
  the goods' HS6 × mass × value and its parts: controls before, irregularity rate smoothed towards the prior
  (`(k + prior·5) / (n + 5)`), and for parties the smoothed rate of critical findings (seizures, critical fraud).

`MASS_VALUE` names the features that use mass or value; `model evaluate` also reports the model without them (on
the public set most test rows repeat an HS6 + mass + price triple seen in training, so that variant shows what the
model learns beyond recognising a shipment it has seen).

Pure functions over Arrow and pandas: the store is read by `targeting.py`.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from portguard.risk import engine
from portguard.risk import features as view_features

CONSIGNEE = ("consignee", "importer")  # first present role names the importer key
CONSIGNOR = ("consignor", "seller")
PARTY_ROLES = ("consignee", "importer", "consignor", "seller", "declarant", "carrier")

CATEGORICAL = ("office", "transport_mode", "hs6", "hs4", "hs_chapter", "origin", "departure", "currency")
NUMERIC = (
    "net_mass_kg",
    "gross_mass_kg",
    "value",
    "value_per_kg",
    "value_per_kg_dev",
    "goods_items",
    "containers",
    "consignee_age_days",
    "consignee_declarations",
    "rule_score",
    "rule_hits",
    "party_network_risk",
    "precursor_hit",
)
# history groups: name -> key columns of the model frame; parties also get a critical-finding rate
HISTORY: dict[str, tuple[str, ...]] = {
    "importer": ("importer",),
    "declarant": ("declarant",),
    "seller": ("seller",),
    "hs6": ("hs6",),
    "hs6_origin": ("hs6", "origin"),
    "importer_hs6": ("importer", "hs6"),
    "goods": ("hs6", "net_mass_kg", "value"),
    "mass_value": ("net_mass_kg", "value"),
    "hs6_value": ("hs6", "value"),
    "hs6_mass": ("hs6", "net_mass_kg"),
}
PARTY_HISTORY = ("importer", "declarant", "seller")
SMOOTHING = 5.0  # pseudo-controls at the prior rate


def _history_names(name: str) -> list[str]:
    names = [f"h_{name}_n", f"h_{name}_rate"]
    return [*names, f"h_{name}_critical"] if name in PARTY_HISTORY else names


FEATURES: tuple[str, ...] = (
    *CATEGORICAL,
    *NUMERIC,
    *(f for name in HISTORY for f in _history_names(name)),
)
_MASS_VALUE_BASE = {"net_mass_kg", "gross_mass_kg", "value", "value_per_kg", "value_per_kg_dev"}
MASS_VALUE: frozenset[str] = frozenset(
    _MASS_VALUE_BASE
    | {f for name, keys in HISTORY.items() if set(keys) & _MASS_VALUE_BASE for f in _history_names(name)}
)

LABEL_OUTCOMES = ("irregularity", "seizure")


@dataclass
class Frame:
    """Model rows: the declarations of a period with their features, and labels where they were controlled."""

    ids: list[str]
    lodged_at: np.ndarray  # datetime64[us], UTC
    office: np.ndarray  # object: office of lodgement (selection works per office)
    X: pd.DataFrame  # columns FEATURES, categoricals as strings (typed by `Model`)
    controlled: np.ndarray  # bool
    y: np.ndarray  # 1 irregularity or seizure, 0 no finding; meaningful where controlled
    critical: np.ndarray  # bool: a seizure or a critical finding
    rule_ids: list[list[str]] = field(default_factory=list)  # the published rules each declaration hits
    lanes: list[str | None] = field(default_factory=list)  # the most demanding lane of those hits (engine's)
    medians: dict[str, float] = field(default_factory=dict)  # "hs6|currency" -> median value per kg used

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, mask: np.ndarray) -> Frame:
        """The rows where `mask` is true."""
        idx = np.flatnonzero(mask)
        return Frame(
            ids=[self.ids[i] for i in idx],
            lodged_at=self.lodged_at[idx],
            office=self.office[idx],
            X=self.X.iloc[idx].reset_index(drop=True),
            controlled=self.controlled[idx],
            y=self.y[idx],
            critical=self.critical[idx],
            rule_ids=[self.rule_ids[i] for i in idx] if self.rule_ids else [],
            lanes=[self.lanes[i] for i in idx] if self.lanes else [],
            medians=self.medians,
        )


def _party_keys(parties: pa.Table) -> pa.Table:
    """declaration_id -> importer, declarant, seller, carrier keys (EORI, else the upper-cased name without
    punctuation: the same stand-in for entity resolution as the rules' consignee key)."""
    con = duckdb.connect()
    try:
        con.register("p", view_features._typed(parties, view_features.PARTY_TYPES))
        return con.sql(
            """
            WITH k AS (
              SELECT declaration_id, role, seq,
                     coalesce(eori, nullif(regexp_replace(upper(name), '[^A-Z0-9]', '', 'g'), '')) AS key
              FROM p)
            SELECT declaration_id,
                   arg_min(key, (CASE role WHEN 'consignee' THEN 0 ELSE 1 END, seq))
                     FILTER (WHERE role IN ('consignee', 'importer')) AS importer,
                   arg_min(key, seq) FILTER (WHERE role = 'declarant') AS declarant,
                   arg_min(key, (CASE role WHEN 'consignor' THEN 0 ELSE 1 END, seq))
                     FILTER (WHERE role IN ('consignor', 'seller')) AS seller,
                   arg_min(key, seq) FILTER (WHERE role = 'carrier') AS carrier
            FROM k GROUP BY declaration_id
            """
        ).to_arrow_table()
    finally:
        con.close()


def _labels(results: pa.Table) -> pa.Table:
    """declaration_id -> controlled, fraud, critical, first recorded_at (several results: any finding counts)."""
    con = duckdb.connect()
    try:
        con.register("r", view_features._typed(results, view_features.RESULT_TYPES))
        return con.sql(
            f"""
            SELECT declaration_id, true AS controlled,
                   max(CASE WHEN outcome IN {LABEL_OUTCOMES} THEN 1 ELSE 0 END)::INTEGER AS fraud,
                   max(CASE WHEN outcome = 'seizure' OR coalesce(critical, false) THEN 1 ELSE 0 END)::INTEGER
                     AS critical,
                   min(recorded_at) AS recorded_at
            FROM r GROUP BY declaration_id
            """  # noqa: S608 - LABEL_OUTCOMES is a constant tuple
        ).to_arrow_table()
    finally:
        con.close()


# History of one key group: labels are events at their recording time, declarations look back from their lodging
# time; at equal times the declaration comes first, so a label counts only when recorded strictly before.
_HISTORY_SQL = """
WITH ev AS (
  SELECT {keys}, recorded_at AS t, 1 AS is_label, fraud, critical, NULL::VARCHAR AS declaration_id
  FROM all_rows WHERE controlled AND recorded_at < $cutoff AND {not_null}
  UNION ALL
  SELECT {keys}, lodged_at, 0, 0, 0, declaration_id FROM all_rows
  WHERE lodged_at >= $start AND lodged_at < $end AND {not_null}
),
w AS (
  SELECT declaration_id, is_label,
         coalesce(sum(is_label) OVER win, 0) AS n,
         coalesce(sum(fraud) OVER win, 0) AS k,
         coalesce(sum(critical) OVER win, 0) AS c
  FROM ev
  WINDOW win AS (PARTITION BY {keys} ORDER BY t, is_label ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
)
SELECT declaration_id, n, k, c FROM w WHERE is_label = 0
"""


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def build_frame(
    raw: view_features.Raw,
    *,
    start: datetime,
    end: datetime,
    label_cutoff: datetime,
    rules: Sequence[engine.ActiveRule] = (),
    watch_lists: Mapping[str, Sequence[str]] | None = None,
    medians: Mapping[str, float] | None = None,
) -> Frame:
    """The model rows for the declarations lodged in [start, end) of `raw`, history cut off at `label_cutoff`.

    `rules` (published rules, with their watch lists) give the rule score and hit count features. `medians`
    (value per kg by "hs6|currency") are computed from the declarations before the cutoff unless given (a trained
    model brings its own)."""
    known = raw.results_before(label_cutoff)
    full = view_features.assemble(
        raw.declarations,
        raw.goods,
        raw.containers,
        raw.parties,
        known,
        start=EPOCH,
        end=end,
        network=raw.network,
        precursors=raw.precursors,
    )
    con = duckdb.connect()
    try:
        con.register("v", full)
        con.register("keys", _party_keys(raw.parties))
        con.register("labels", _labels(raw.results))
        con.execute(
            """
            CREATE TEMP TABLE all_rows AS
            SELECT v.*, keys.importer, keys.declarant, keys.seller, keys.carrier,
                   coalesce(labels.controlled, false) AS controlled, coalesce(labels.fraud, 0) AS fraud,
                   coalesce(labels.critical, 0) AS critical, labels.recorded_at
            FROM v LEFT JOIN keys USING (declaration_id) LEFT JOIN labels USING (declaration_id)
            """
        )
        params = {"start": start, "end": end, "cutoff": label_cutoff}
        prior, prior_critical = con.sql(
            "SELECT avg(fraud), avg(critical) FROM all_rows WHERE controlled AND recorded_at < $cutoff",
            params={"cutoff": label_cutoff},
        ).fetchall()[0]
        if medians is None:
            medians = {
                f"{hs6}|{currency}": float(m)
                for hs6, currency, m in con.sql(
                    "SELECT hs6, currency, median(value_per_kg) FROM all_rows "
                    "WHERE value_per_kg > 0 AND hs6 IS NOT NULL AND lodged_at < $cutoff GROUP BY hs6, currency",
                    params={"cutoff": label_cutoff},
                ).fetchall()
                if m is not None
            }
        rows = con.sql(
            "SELECT * FROM all_rows WHERE lodged_at >= $start AND lodged_at < $end ORDER BY lodged_at, declaration_id",
            params={"start": start, "end": end},
        ).to_arrow_table()
        history: dict[str, pa.Table] = {}
        for name, keys in HISTORY.items():
            sql = _HISTORY_SQL.format(keys=", ".join(keys), not_null=" AND ".join(f"{k} IS NOT NULL" for k in keys))
            history[name] = con.sql(sql, params=params).to_arrow_table()
    finally:
        con.close()
    frame = _frame(
        rows,
        history,
        prior=float(prior) if prior is not None else 0.0,
        prior_critical=float(prior_critical) if prior_critical is not None else 0.0,
        medians=dict(medians),
    )
    if rules:
        view = rows.select(list(view_features.COLUMNS))
        result = engine.run(view, rules, watch_lists=watch_lists or {})
        scores = {r["declaration_id"]: r for r in result.scores.to_pylist()}
        frame.X["rule_score"] = [float(scores[i]["score"]) if i in scores else 0.0 for i in frame.ids]
        frame.X["rule_hits"] = [float(len(scores[i]["rules"])) if i in scores else 0.0 for i in frame.ids]
        frame.rule_ids = [list(scores[i]["rules"]) if i in scores else [] for i in frame.ids]
        frame.lanes = [scores[i]["lane"] if i in scores else None for i in frame.ids]
    else:
        frame.rule_ids = [[] for _ in frame.ids]
        frame.lanes = [None for _ in frame.ids]
    return frame


def _frame(
    rows: pa.Table, history: Mapping[str, pa.Table], *, prior: float, prior_critical: float, medians: dict[str, float]
) -> Frame:
    data = rows.to_pandas(types_mapper=None)
    n = len(data)
    X = pd.DataFrame(index=range(n))
    for name in CATEGORICAL:
        X[name] = data[name].astype(object).where(data[name].notna(), None)
    for name in ("net_mass_kg", "gross_mass_kg", "value", "value_per_kg", "goods_items", "containers",
                 "consignee_age_days", "consignee_declarations", "party_network_risk", "precursor_hit"):  # fmt: skip
        X[name] = pd.to_numeric(data[name], errors="coerce").astype("float64")
    median = np.array(
        [medians.get(f"{h}|{c}", np.nan) for h, c in zip(data["hs6"], data["currency"], strict=True)], dtype="float64"
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.log(X["value_per_kg"].to_numpy() / median)
    X["value_per_kg_dev"] = np.where(np.isfinite(dev), dev, np.nan)
    X["rule_score"] = 0.0
    X["rule_hits"] = 0.0
    position = {d: i for i, d in enumerate(data["declaration_id"])}
    for name in HISTORY:
        counts = np.zeros(n)
        k = np.zeros(n)
        c = np.zeros(n)
        table = history[name]
        if table.num_rows:
            idx = np.array([position[d] for d in table.column("declaration_id").to_pylist()])
            counts[idx] = table.column("n").to_numpy(zero_copy_only=False)
            k[idx] = table.column("k").to_numpy(zero_copy_only=False)
            c[idx] = table.column("c").to_numpy(zero_copy_only=False)
        X[f"h_{name}_n"] = counts
        X[f"h_{name}_rate"] = (k + prior * SMOOTHING) / (counts + SMOOTHING)
        if name in PARTY_HISTORY:
            X[f"h_{name}_critical"] = (c + prior_critical * SMOOTHING) / (counts + SMOOTHING)
    X = X[list(FEATURES)]
    lodged = rows.column("lodged_at").to_numpy(zero_copy_only=False).astype("datetime64[us]")
    return Frame(
        ids=list(data["declaration_id"]),
        lodged_at=lodged,
        office=data["office"].to_numpy(dtype=object),
        X=X,
        controlled=data["controlled"].to_numpy(dtype=bool),
        y=data["fraud"].to_numpy(dtype="int64"),
        critical=data["critical"].to_numpy(dtype=bool),
        medians=medians,
    )


# ---------------------------------------------------------------------------------------------------- the model

PARAMS: dict[str, Any] = {  # tuned on the public set's validation quarter (2021-Q1), never on its test quarter
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 63,
    "min_child_samples": 20,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.7,
    "cat_smooth": 10,
    "verbose": -1,
}
MAX_ROUNDS = 3000
EARLY_STOPPING = 100


@dataclass(frozen=True)
class Contribution:
    """One feature's share of a score, in log-odds (LightGBM's `pred_contrib`), with the value it had."""

    feature: str
    value: Any
    contribution: float


@dataclass
class Model:
    """A trained booster with its feature list, categories, calibration and the medians its features used."""

    booster: Any  # lightgbm.Booster
    features: list[str]
    categories: dict[str, list[str]]
    calibration_x: list[float]
    calibration_y: list[float]
    medians: dict[str, float]
    best_iteration: int = 0

    def matrix(self, X: pd.DataFrame) -> pd.DataFrame:
        """`X` with the model's columns, categoricals typed with the training categories (unseen -> missing)."""
        out = X[self.features].copy()
        for name, cats in self.categories.items():
            if name in out:
                known = out[name].isin(cats)  # an unseen category is missing (pandas will refuse it in the dtype)
                out[name] = pd.Categorical(out[name].where(known, None), categories=cats)
        return out

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """The booster's probability before calibration."""
        return np.asarray(self.booster.predict(self.matrix(X), num_iteration=self.best_iteration or None))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of an irregularity or seizure if the declaration is controlled."""
        raw = self.raw_score(X)
        if not self.calibration_x:
            return raw
        return np.interp(raw, self.calibration_x, self.calibration_y)

    def explain(self, X: pd.DataFrame, *, top: int = 5) -> list[list[Contribution]]:
        """Per row, the `top` features that moved the score most (by absolute log-odds contribution)."""
        matrix = self.matrix(X)
        contrib = np.asarray(
            self.booster.predict(matrix, num_iteration=self.best_iteration or None, pred_contrib=True)
        )[:, :-1]  # the last column is the bias
        out = []
        for i in range(len(matrix)):
            order = np.argsort(-np.abs(contrib[i]))[:top]
            out.append(
                [
                    Contribution(self.features[j], _plain(matrix.iat[i, j]), round(float(contrib[i, j]), 4))
                    for j in order
                    if contrib[i, j] != 0
                ]
            )
        return out

    def importance(self) -> list[tuple[str, float]]:
        """Features by total gain, largest first."""
        gains = self.booster.feature_importance(importance_type="gain", iteration=self.best_iteration or None)
        return sorted(zip(self.features, (float(g) for g in gains), strict=True), key=lambda fg: -fg[1])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form (the booster as LightGBM's own text format) for the model registry."""
        text = self.booster.model_to_string(num_iteration=self.best_iteration or None)
        return {
            "booster": base64.b64encode(text.encode()).decode(),
            "features": self.features,
            "categories": self.categories,
            "calibration": [self.calibration_x, self.calibration_y],
            "medians": self.medians,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Model:
        """The model `to_dict` wrote."""
        import lightgbm as lgb

        booster = lgb.Booster(model_str=base64.b64decode(data["booster"]).decode())
        cx, cy = data["calibration"]
        return cls(booster, list(data["features"]), dict(data["categories"]), list(cx), list(cy), dict(data["medians"]))


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def fit(
    train: Frame,
    valid: Frame,
    *,
    seed: int = 0,
    exclude: frozenset[str] = frozenset(),
    params: Mapping[str, Any] | None = None,
) -> Model:
    """Train on the controlled rows of `train`, stop early and calibrate (isotonic) on the controlled rows of `valid`.

    `exclude` leaves features out (for example `MASS_VALUE`)."""
    import lightgbm as lgb
    from sklearn.isotonic import IsotonicRegression

    tr, va = train.take(train.controlled), valid.take(valid.controlled)
    if len(tr) < 10 or len(set(tr.y.tolist())) < 2:
        raise ValueError("training needs controlled declarations with both outcomes (found "
                         f"{len(tr)} controlled, {int(tr.y.sum())} with a finding)")  # fmt: skip
    names = [f for f in FEATURES if f not in exclude]
    categories = {name: sorted({v for v in tr.X[name] if v is not None}) for name in CATEGORICAL if name in names}
    model = Model(None, names, categories, [], [], train.medians)
    options = {**PARAMS, **(params or {}), "seed": seed}
    train_set = lgb.Dataset(model.matrix(tr.X), label=tr.y, free_raw_data=False)
    callbacks = []
    valid_sets = []
    has_valid = len(va) >= 10 and len(set(va.y.tolist())) == 2
    if has_valid:
        valid_sets = [lgb.Dataset(model.matrix(va.X), label=va.y, reference=train_set)]
        callbacks = [lgb.early_stopping(EARLY_STOPPING, verbose=False)]
        options["metric"] = "auc"
    booster = lgb.train(
        options,
        train_set,
        num_boost_round=MAX_ROUNDS if has_valid else 300,
        valid_sets=valid_sets,
        callbacks=callbacks,
    )
    model.booster = booster
    model.best_iteration = booster.best_iteration if has_valid else 0
    if has_valid:
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(model.raw_score(va.X), va.y)
        model.calibration_x = [float(x) for x in iso.X_thresholds_]
        model.calibration_y = [float(y) for y in iso.y_thresholds_]
    return model


# ---------------------------------------------------------------------------------------------------- measures

SHARES = (0.01, 0.02, 0.05, 0.10)


def top_n(score: np.ndarray, share: float) -> np.ndarray:
    """Indices of the `share` highest scores (at least one; ties broken by position)."""
    n = max(1, round(len(score) * share))
    return np.argsort(-score, kind="stable")[:n]


def measures(y: np.ndarray, critical: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """Precision, recall and critical-finding recall of the top 1/2/5/10 %, and ROC-AUC."""
    from sklearn.metrics import roc_auc_score

    out: dict[str, Any] = {"n": len(y), "positives": int(y.sum()), "critical": int(critical.sum())}
    for share in SHARES:
        idx = top_n(score, share)
        tag = f"{round(share * 100)}%"
        out[f"precision@{tag}"] = float(y[idx].mean())
        out[f"recall@{tag}"] = float(y[idx].sum() / y.sum()) if y.sum() else None
        out[f"critical_recall@{tag}"] = float(critical[idx].sum() / critical.sum()) if critical.sum() else None
    out["roc_auc"] = float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else None
    return out


def precision_curve(y: np.ndarray, score: np.ndarray, *, points: int = 50) -> list[dict[str, float]]:
    """Precision and recall of the top n % for n = 1..points (the model page draws it)."""
    order = np.argsort(-score, kind="stable")
    hits = np.cumsum(y[order])
    total = max(1, int(y.sum()))
    curve = []
    for pct in range(1, points + 1):
        n = max(1, round(len(y) * pct / 100))
        curve.append({"share": pct / 100, "precision": float(hits[n - 1] / n), "recall": float(hits[n - 1] / total)})
    return curve


def dumps(data: Any) -> str:
    """JSON for the registry (numpy values as plain numbers)."""
    return json.dumps(data, default=_plain)
