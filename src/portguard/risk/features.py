"""The declaration view rules are written against (`expr.COLUMNS`), built from the store as an Arrow table.

One row per declaration: its own fields, those of its first goods item, counts, its consignee and consignor, and
the consignee's history *up to the declaration's lodging time*: earlier declarations, and control results
recorded before it (irregularities, seizures). History is what makes a rule like "new consignee with no record"
or "consignee with an earlier seizure" possible, and computing it strictly from the past is what keeps a backtest
honest (no control result from the future leaks into the past; at equal times the declaration comes first).

The consignee is identified by EORI when given, else by its name in upper case without punctuation or spaces: the
same company written "Fresh Fruit Imports B.V." and "FRESH FRUIT IMPORTS BV" is one key. Proper entity resolution
(`network/`) will replace this key later. Only what the actor may see is read, through the access policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portguard.controls.models import ControlResult
from portguard.core.policy import Action, Principal, visible_filter
from portguard.declarations.models import Container, Declaration, GoodsItem, Party
from portguard.network import service as network
from portguard.risk.expr import COLUMNS
from portguard.substances import service as substances

CONSIGNEE_ROLES = ("consignee", "importer")  # the first one present names the consignee
CONSIGNOR_ROLES = ("consignor", "seller")

_ASSEMBLE = """
WITH
  goods AS (
    SELECT declaration_id, hs_code, description, gross_mass_kg, net_mass_kg, value, currency, country_of_origin,
           count(*) OVER (PARTITION BY declaration_id) AS goods_items,
           row_number() OVER (PARTITION BY declaration_id ORDER BY seq) AS rn
    FROM goods_raw
  ),
  ranked_parties AS (
    SELECT *, row_number() OVER (PARTITION BY declaration_id, side ORDER BY role_rank, seq) AS rn FROM parties_raw
  ),
  consignee AS (SELECT * FROM ranked_parties WHERE side = 'consignee' AND rn = 1),
  consignor AS (SELECT * FROM ranked_parties WHERE side = 'consignor' AND rn = 1),
  base AS (
    SELECT d.id AS declaration_id, d.ref, d.type, d.office, d.lodged_at, d.transport_mode, d.port_of_loading,
           d.port_of_discharge, d.country_of_departure AS departure, d.route_countries,
           g.country_of_origin AS origin, g.hs_code[1:6] AS hs6, g.hs_code[1:4] AS hs4, g.hs_code[1:2] AS hs_chapter,
           g.description, g.gross_mass_kg, g.net_mass_kg, g.value, g.currency,
           CASE WHEN coalesce(g.net_mass_kg, g.gross_mass_kg) > 0
                THEN g.value / coalesce(g.net_mass_kg, g.gross_mass_kg) END AS value_per_kg,
           coalesce(g.goods_items, 0) AS goods_items, coalesce(c.containers, 0) AS containers,
           ce.name AS consignee, ce.country AS consignee_country,
           coalesce(ce.eori, nullif(regexp_replace(upper(ce.name), '[^A-Z0-9]', '', 'g'), '')) AS consignee_key,
           co.name AS consignor, co.country AS consignor_country
    FROM declarations_raw d
    LEFT JOIN goods g ON g.declaration_id = d.id AND g.rn = 1
    LEFT JOIN containers_raw c ON c.declaration_id = d.id
    LEFT JOIN consignee ce ON ce.declaration_id = d.id
    LEFT JOIN consignor co ON co.declaration_id = d.id
  ),
  events AS (
    SELECT consignee_key AS k, lodged_at AS t, 0 AS tie, declaration_id, 1 AS is_decl,
           0 AS ctl, 0 AS irr, 0 AS sei
    FROM base WHERE consignee_key IS NOT NULL
    UNION ALL
    SELECT b.consignee_key, r.recorded_at, 1, NULL, 0, 1,
           CASE WHEN r.outcome IN ('irregularity', 'seizure') THEN 1 ELSE 0 END,
           CASE WHEN r.outcome = 'seizure' THEN 1 ELSE 0 END
    FROM results_raw r JOIN base b USING (declaration_id) WHERE b.consignee_key IS NOT NULL
  ),
  history AS (
    SELECT declaration_id, is_decl,
           date_diff('day', min(t) FILTER (WHERE is_decl = 1) OVER (PARTITION BY k), t) AS consignee_age_days,
           coalesce(sum(is_decl) OVER w, 0) AS consignee_declarations,
           coalesce(sum(ctl) OVER w, 0) AS consignee_controls,
           coalesce(sum(irr) OVER w, 0) AS consignee_irregularities,
           coalesce(sum(sei) OVER w, 0) AS consignee_seizures
    FROM events
    WINDOW w AS (PARTITION BY k ORDER BY t, tie, declaration_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
  )
SELECT b.* EXCLUDE (consignee_key),
       h.consignee_age_days::INTEGER AS consignee_age_days,
       coalesce(h.consignee_declarations, 0)::INTEGER AS consignee_declarations,
       coalesce(h.consignee_controls, 0)::INTEGER AS consignee_controls,
       coalesce(h.consignee_irregularities, 0)::INTEGER AS consignee_irregularities,
       coalesce(h.consignee_seizures, 0)::INTEGER AS consignee_seizures,
       coalesce(n.party_network_risk, 0.0)::DOUBLE AS party_network_risk,
       coalesce(p.precursor_hit, 0.0)::DOUBLE AS precursor_hit,
       p.precursor_category
FROM base b LEFT JOIN history h ON h.declaration_id = b.declaration_id AND h.is_decl = 1
LEFT JOIN network_raw n ON n.declaration_id = b.declaration_id
LEFT JOIN precursor_raw p ON p.declaration_id = b.declaration_id
WHERE b.lodged_at >= $start AND b.lodged_at < $end
ORDER BY b.lodged_at, b.declaration_id
"""


def _arrow(session: Session, query: object, names: list[str]) -> pa.Table:
    rows = session.execute(query).all()  # type: ignore[call-overload]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    return pa.table(
        {
            name: pa.array(list(values)) if values else pa.array([], pa.null())
            for name, values in zip(names, columns, strict=True)
        }
    )


@dataclass(frozen=True)
class Raw:
    """The store's rows behind the view, as Arrow tables (see `read_raw`): read once, assembled as often as needed
    (the model assembles the same rows with control results cut off at its training date)."""

    declarations: pa.Table
    goods: pa.Table
    containers: pa.Table
    parties: pa.Table  # every role; the view uses the consignee and consignor roles
    results: pa.Table
    network: pa.Table | None = None  # declaration_id, party_network_risk (only declarations with a risky party)
    precursors: pa.Table | None = None  # declaration_id, precursor_hit, precursor_category (declarations with a hit)

    def results_before(self, cutoff: datetime | None) -> pa.Table:
        """The control results recorded before `cutoff` (all when None)."""
        if cutoff is None:
            return self.results
        results = _typed(self.results, RESULT_TYPES)
        return results.filter(pc.less(results.column("recorded_at"), pa.scalar(cutoff, TS)))


def read_raw(
    session: Session,
    *,
    actor: Principal | None,
    end: datetime,
    justification: str = "risk rules",
    roles: tuple[str, ...] | None = None,
) -> Raw:
    """The declarations lodged before `end` that `actor` may read, with their goods, containers, parties (of
    `roles`; default the consignee and consignor roles) and the control results `actor` may read."""
    visible = select(Declaration.id).where(Declaration.lodged_at < end)
    if actor is not None:
        visible = visible.where(visible_filter(actor, Declaration, action=Action.READ, justification=justification))
    ids = visible.subquery()
    decl_cols = [
        Declaration.id,
        Declaration.ref,
        Declaration.type,
        Declaration.office,
        Declaration.lodged_at,
        Declaration.transport_mode,
        Declaration.port_of_loading,
        Declaration.port_of_discharge,
        Declaration.country_of_departure,
        Declaration.route_countries,
    ]
    declarations = _arrow(
        session, select(*decl_cols).where(Declaration.id.in_(select(ids.c.id))), [c.key for c in decl_cols]
    )
    goods_cols = [
        GoodsItem.declaration_id,
        GoodsItem.seq,
        GoodsItem.hs_code,
        GoodsItem.description,
        GoodsItem.gross_mass_kg,
        GoodsItem.net_mass_kg,
        GoodsItem.value,
        GoodsItem.currency,
        GoodsItem.country_of_origin,
    ]
    goods = _arrow(
        session, select(*goods_cols).where(GoodsItem.declaration_id.in_(select(ids.c.id))), [c.key for c in goods_cols]
    )
    containers = _arrow(
        session,
        select(Container.declaration_id, func.count())
        .where(Container.declaration_id.in_(select(ids.c.id)))
        .group_by(Container.declaration_id),
        ["declaration_id", "containers"],
    )
    party_cols = [Party.declaration_id, Party.seq, Party.role, Party.name, Party.eori, Party.country]
    parties = _arrow(
        session,
        select(*party_cols).where(
            Party.declaration_id.in_(select(ids.c.id)), Party.role.in_(roles or (*CONSIGNEE_ROLES, *CONSIGNOR_ROLES))
        ),
        [c.key for c in party_cols],
    )
    results_query = select(
        ControlResult.declaration_id, ControlResult.outcome, ControlResult.recorded_at, ControlResult.critical
    ).where(ControlResult.declaration_id.in_(select(ids.c.id)))
    if actor is not None:
        results_query = results_query.where(
            visible_filter(actor, ControlResult, action=Action.READ, justification=justification)
        )
    results = _arrow(session, results_query, ["declaration_id", "outcome", "recorded_at", "critical"])

    def all_parties() -> list[tuple[object, ...]]:
        columns = [getattr(Party, c) for c in network.RISK_PARTY_COLUMNS]
        query = select(Party.declaration_id, *columns).where(
            Party.declaration_id.in_(select(ids.c.id)), Party.role.in_(network.TRADE_ROLES)
        )
        return [tuple(r) for r in session.execute(query)]

    risk = network.declaration_risk(
        session,
        actor=actor,
        declarations=list(
            zip(declarations.column("id").to_pylist(), declarations.column("lodged_at").to_pylist(), strict=True)
        ),
        parties=all_parties,
    )
    network_table = pa.table(
        {
            "declaration_id": pa.array(list(risk), pa.string()),
            "party_network_risk": pa.array(list(risk.values()), pa.float64()),
        }
    )
    strength = substances.declaration_strength(
        session, actor=actor, declaration_ids=declarations.column("id").to_pylist()
    )
    precursor_table = pa.table(
        {
            "declaration_id": pa.array(list(strength), pa.string()),
            "precursor_hit": pa.array([v.hit for v in strength.values()], pa.float64()),
            "precursor_category": pa.array([v.category for v in strength.values()], pa.string()),
        }
    )
    return Raw(declarations, goods, containers, parties, results, network_table, precursor_table)


def declaration_view(
    session: Session,
    *,
    actor: Principal | None,
    start: datetime,
    end: datetime,
    justification: str = "risk rules",
) -> pa.Table:
    """The view (columns `expr.COLUMNS`) for the declarations lodged in [start, end) that `actor` may read.

    History counts use every visible declaration and control result before each declaration, also before `start`.
    `actor=None` is the system (the CLI): everything."""
    raw = read_raw(session, actor=actor, end=end, justification=justification)
    return assemble(
        raw.declarations,
        raw.goods,
        raw.containers,
        raw.parties,
        raw.results,
        start=start,
        end=end,
        network=raw.network,
        precursors=raw.precursors,
    )


def assemble(
    declarations: pa.Table,
    goods: pa.Table,
    containers: pa.Table,
    parties: pa.Table,
    results: pa.Table,
    *,
    start: datetime,
    end: datetime,
    network: pa.Table | None = None,
    precursors: pa.Table | None = None,
) -> pa.Table:
    """The view from raw tables (as read from the store); see `declaration_view`. `network` holds the network risk
    of the declarations that have some (`party_network_risk`; 0 for the others), `precursors` the strongest
    precursor-screening hit of those that have one (`precursor_hit`; 0 for the others) and the most controlled EU
    category among their hits (`precursor_category`; NULL for the others)."""
    con = duckdb.connect()
    try:
        con.register("declarations_raw", _typed(declarations, DECLARATION_TYPES))
        con.register("goods_raw", _typed(goods, GOODS_TYPES))
        con.register("containers_raw", _typed(containers, {"declaration_id": pa.string(), "containers": pa.int64()}))
        parties = _typed(parties, PARTY_TYPES)
        parties = parties.filter(pc.is_in(parties.column("role"), pa.array([*CONSIGNEE_ROLES, *CONSIGNOR_ROLES])))
        side = ["consignee" if r in CONSIGNEE_ROLES else "consignor" for r in parties.column("role").to_pylist()]
        rank = [(CONSIGNEE_ROLES + CONSIGNOR_ROLES).index(r) for r in parties.column("role").to_pylist()]
        parties = _typed(parties, PARTY_TYPES).append_column("side", pa.array(side, pa.string()))
        con.register("parties_raw", parties.append_column("role_rank", pa.array(rank, pa.int64())))
        con.register("results_raw", _typed(results, RESULT_TYPES))
        if network is None:
            network = pa.table(
                {"declaration_id": pa.array([], pa.string()), "party_network_risk": pa.array([], pa.float64())}
            )
        con.register("network_raw", _typed(network, NETWORK_TYPES))
        if precursors is None:
            precursors = pa.table(
                {
                    "declaration_id": pa.array([], pa.string()),
                    "precursor_hit": pa.array([], pa.float64()),
                    "precursor_category": pa.array([], pa.string()),
                }
            )
        con.register("precursor_raw", _typed(precursors, PRECURSOR_TYPES))
        view = con.sql(_ASSEMBLE, params={"start": start, "end": end}).to_arrow_table()
    finally:
        con.close()
    return view.select(list(COLUMNS))  # the documented order; a missing column raises here


TS = pa.timestamp("us", tz="UTC")
DECLARATION_TYPES = {
    "id": pa.string(),
    "ref": pa.string(),
    "type": pa.string(),
    "office": pa.string(),
    "lodged_at": TS,
    "transport_mode": pa.string(),
    "port_of_loading": pa.string(),
    "port_of_discharge": pa.string(),
    "country_of_departure": pa.string(),
    "route_countries": pa.list_(pa.string()),
}
GOODS_TYPES = {
    "declaration_id": pa.string(),
    "seq": pa.int64(),
    "hs_code": pa.string(),
    "description": pa.string(),
    "gross_mass_kg": pa.float64(),
    "net_mass_kg": pa.float64(),
    "value": pa.float64(),
    "currency": pa.string(),
    "country_of_origin": pa.string(),
}
PARTY_TYPES = {
    "declaration_id": pa.string(),
    "seq": pa.int64(),
    "role": pa.string(),
    "name": pa.string(),
    "eori": pa.string(),
    "country": pa.string(),
}
NETWORK_TYPES = {"declaration_id": pa.string(), "party_network_risk": pa.float64()}
PRECURSOR_TYPES = {"declaration_id": pa.string(), "precursor_hit": pa.float64(), "precursor_category": pa.string()}
RESULT_TYPES = {"declaration_id": pa.string(), "outcome": pa.string(), "recorded_at": TS, "critical": pa.bool_()}


def _typed(table: pa.Table, types: dict[str, pa.DataType]) -> pa.Table:
    """`table` with the given column types (empty and all-NULL columns come without a usable type)."""
    arrays = []
    for name, kind in types.items():
        column = table.column(name)
        if pa.types.is_null(column.type) or column.type != kind:
            values = column.to_pylist()
            if kind in (pa.float64(),):
                values = [None if v is None else float(v) for v in values]
            column = pa.array(values, kind)
        arrays.append(column)
    return pa.table(arrays, names=list(types))
