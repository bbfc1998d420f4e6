"""The ICP filter's SQL selects exactly the accounts its rules select (issue 17): its view and
WHERE clauses run in SQLite on the export's own files, hostile values included, and its words
and its SQL state the same thresholds."""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icpfit.config import IcpConfig, config_from_dict
from icpfit.features.frame import FeatureFrame, build_feature_frame
from icpfit.features.problems import RawTable, errors_of
from icpfit.features.sample import generate_sample
from icpfit.features.validate import validate_export
from icpfit.io import read_export
from icpfit.training.icp_filter import Condition, IcpFilter, filter_document
from icpfit.training.icp_filter_sql import VIEW, ExportLayout, condition_sql, view_sql

AS_OF = date(2026, 9, 30)
ACCOUNTS = 800
INDUSTRIES = {"O'Reilly": 0.35, "Software": 0.2, "Retail": 0.2, "100%_Pure": 0.2, "Rare Co": 0.05}
# raw cells that clean to another value or to nothing: padding, case, blanks, missing words
INDUSTRY_NOISE = [" O'Reilly ", "software", "", "   ", "N/A", "nan"]
TECHNOLOGIES = {
    "Hub": 0.3,  # a substring of HubSpot
    "HubSpot": 0.5,
    "Net_Suite%": 0.4,  # LIKE wildcards in a name
    "NetXSuite": 0.3,  # what 'Net_Suite%' matches as an unescaped LIKE pattern
    "Net_Suite%Pro": 0.2,
    "Snowflake": 0.3,
}
EXPORT_NAMES = {
    "account_id": "Account ID",
    "industry": "Industry",
    "employees": "Employee Count",
    "founded_year": "Founded",
    "revenue_musd": 'Revenue "M$"',
}
STACK = 'Tech "Stack"'
FEATURES = {
    "firmographic": {
        "categorical": ["industry"],
        "numeric": ["employees", "founded_year", "revenue_musd"],
    },
    "technographic": {"technologies": True, "categories": {"Hub": "CRM", "HubSpot": "CRM"}},
    "behavioral": {"signals": False},
}


def account_cells(rng: np.random.Generator) -> pd.DataFrame:
    """Accounts as text cells under the export's own names: padded ids and numbers, blanks,
    missing words, a level with a quote, levels that differ only in case or padding."""
    n = ACCOUNTS
    industry = rng.choice(list(INDUSTRIES), n, p=list(INDUSTRIES.values())).astype(object)
    noisy = rng.random(n) < 0.15
    industry[noisy] = rng.choice(INDUSTRY_NOISE, noisy.sum())
    employees = np.round(np.exp(rng.uniform(0, 8.5, n))).astype(int).astype(str).astype(object)
    employees[rng.random(n) < 0.1] = rng.choice(["", " ", "N/A", "NA"])
    employees[rng.random(n) < 0.05] = " 250 "
    founded = rng.integers(1985, 2025, n).astype(str).astype(object)
    founded[rng.random(n) < 0.1] = ""
    revenue = np.round(rng.lognormal(2.5, 1.0, n), 2).astype(str).astype(object)
    revenue[rng.random(n) < 0.1] = ""
    ids = np.array([f"ACC-{i:04d}" for i in range(n)], dtype=object)
    padded = rng.random(n) < 0.05
    ids[padded] = [f" {i} " for i in ids[padded]]
    return pd.DataFrame(
        {
            EXPORT_NAMES["account_id"]: ids,
            EXPORT_NAMES["industry"]: industry,
            EXPORT_NAMES["employees"]: employees,
            EXPORT_NAMES["founded_year"]: founded,
            EXPORT_NAMES["revenue_musd"]: revenue,
        }
    )


def stacks(rng: np.random.Generator, n: int) -> list[list[str]]:
    """Each account's technologies as written: some in other case or padded, some listed
    twice; an empty list is an unknown stack."""
    chosen = [[t for t, share in TECHNOLOGIES.items() if rng.random() < share] for _ in range(n)]
    for techs in chosen:
        if "HubSpot" in techs and rng.random() < 0.3:
            techs[techs.index("HubSpot")] = "HUBSPOT"
        if techs and rng.random() < 0.1:
            techs.append(f"  {techs[0]} ")
    unknown = rng.random(n) < 0.1
    return [[] if u else techs for techs, u in zip(chosen, unknown, strict=True)]


def stack_cells(rng: np.random.Generator, entries: list[list[str]]) -> list[str]:
    unknown = ["", "N/A", ";;", " ; "]
    return [
        rng.choice([";", " ; ", ";  "]).join(techs) if techs else str(rng.choice(unknown))
        for techs in entries
    ]


def technology_rows(
    rng: np.random.Generator, ids: pd.Series, entries: list[list[str]]
) -> pd.DataFrame:
    """The long table, ids padded as in the accounts, a row with a blank name (no technology)."""
    rows = [
        {"Acct": account, "Tech Name": tech, "first_seen": str(rng.choice(["", "2024-03-01"]))}
        for account, techs in zip(ids, entries, strict=True)
        for tech in techs
    ]
    return pd.DataFrame([*rows, {"Acct": ids.iloc[0], "Tech Name": " ", "first_seen": ""}])


def write_export(folder: Path, long_table: bool) -> IcpConfig:
    """The export's files in `folder` and its config: technologies as a delimited column of the
    accounts (`long_table` False) or as their own table, both under the export's own names."""
    rng = np.random.default_rng(17)
    accounts = account_cells(rng)
    entries = stacks(rng, len(accounts))
    data = {
        "accounts": "accounts.csv",
        "opportunities": "opportunities.csv",
        "revenue": "revenue.csv",
    }
    columns = {"accounts": dict(EXPORT_NAMES)}
    sections: dict = {}
    first = accounts[EXPORT_NAMES["account_id"]].iloc[0].strip()
    if long_table:
        data["technologies"] = "technologies.csv"
        columns["technologies"] = {"account_id": "Acct", "technology": "Tech Name"}
        ids = accounts[EXPORT_NAMES["account_id"]]
        technology_rows(rng, ids, entries).to_csv(folder / "technologies.csv", index=False)
    else:
        accounts = accounts.assign(**{STACK: stack_cells(rng, entries)})
        columns["accounts"]["tech_stack"] = STACK
        sections["tech_stack"] = {"column": "tech_stack", "separator": ";"}
    accounts.to_csv(folder / "accounts.csv", index=False)
    deal = {"opportunity_id": "O1", "account_id": first, "stage": "won", "close_date": "2025-01-15"}
    pd.DataFrame([deal]).to_csv(folder / "opportunities.csv", index=False)
    paid = {"account_id": first, "month": "2025-02-01", "mrr": "100"}
    pd.DataFrame([paid]).to_csv(folder / "revenue.csv", index=False)
    raw = {"data": data, "columns": columns, "as_of": AS_OF.isoformat(), "features": FEATURES}
    return config_from_dict({**raw, **sections}, source=folder / "icpfit.yaml")


def features_of(config: IcpConfig, raw: dict[str, RawTable] | None = None) -> FeatureFrame:
    """The feature frame icpfit builds from the export's files (or `raw`), every account as of
    AS_OF."""
    if raw is None:
        raw, problems = read_export(config)
        assert not errors_of(problems), problems
    export, problems = validate_export(raw, config, AS_OF)
    assert export is not None and not errors_of(problems), problems
    ids = pd.Index(export.accounts["account_id"])
    reference = pd.Series(pd.Timestamp(AS_OF), index=ids)
    return build_feature_frame(
        export.accounts, export.technologies, export.signals, config.features, reference
    )


def planted_scores(X: pd.DataFrame) -> tuple[np.ndarray, pd.Series]:
    """A score the tree can only follow by splitting on a level, technologies and numbers."""
    oreilly = X["industry"].astype(object).eq("O'Reilly").to_numpy()
    hub = X["tech_hub"].eq(1).to_numpy()
    net = X["tech_net_suite"].eq(1).to_numpy()
    recent = X["founded_year"].ge(2016).to_numpy()
    large = X["revenue_musd"].ge(X["revenue_musd"].quantile(0.6)).to_numpy()  # a decimal cut
    score = np.where(oreilly, 0.5 + 0.3 * hub + 0.1 * recent, 0.05 + 0.2 * net + 0.08 * large)
    return score, pd.Series((score >= 0.6).astype(int), index=X.index)


def sqlite_of(folder: Path) -> sqlite3.Connection:
    """Each export file as a table named like its config key, every cell as its text."""
    tables = {
        p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in folder.glob("*.csv")
    }
    return sqlite_with(tables)


def sqlite_with(tables: dict[str, pd.DataFrame]) -> sqlite3.Connection:
    """The tables in an in-memory SQLite database, under their own column names, as text."""
    db = sqlite3.connect(":memory:")
    for name, frame in tables.items():
        frame.astype("string").to_sql(name, db, index=False)
    return db


def assert_view_reads_every_feature(
    db: sqlite3.Connection, features: FeatureFrame, config: IcpConfig
) -> None:
    """The view with every feature, against the feature frame: each column's values, and for
    each technology the accounts that use it and those known not to."""
    specs, X = features.specs, features.frame
    layout = ExportLayout.of(config)
    flags = [s for s in specs if s.kind == "flag"]
    db.executescript(view_sql(list(specs), flags, layout))
    db.execute(f"CREATE TABLE viewed AS SELECT * FROM {VIEW}")  # the view computed once
    view = pd.read_sql("SELECT * FROM viewed", db).set_index("account_id").reindex(X.index)
    for spec in specs:
        if spec.kind == "flag":
            for op, value in ((">", 1.0), ("<=", 0.0)):
                where = condition_sql(
                    Condition(spec.name, op, 0.5, False),
                    {s.name: s for s in specs},
                    layout.stack_name,
                    layout.separator,
                )
                selected = {
                    a for (a,) in db.execute(f"SELECT account_id FROM viewed WHERE {where}")
                }
                assert selected == set(X.index[X[spec.name] == value]), (spec.name, op)
        elif spec.kind == "categorical":
            text = view[spec.name].astype(object).where(view[spec.name].notna(), None)
            expected = X[spec.name].astype(object).where(X[spec.name].notna(), None)
            assert text.tolist() == expected.tolist(), spec.name
        else:
            np.testing.assert_array_equal(view[spec.name].astype(float), X[spec.name], spec.name)


WORD_NUMBER = re.compile(r"[≥<]\s*(-?[\d,]+(?:\.\d+)?)|(-?[\d,]+(?:\.\d+)?)\s*≤")
SQL_NUMBER = re.compile(r"(?:>=|<)\s*(-?[\d.]+)")


def thresholds_in_words(rules: list[str]) -> list[float]:
    found = [a or b for rule in rules for a, b in WORD_NUMBER.findall(rule)]
    return sorted(float(n.replace(",", "")) for n in found)


def thresholds_in_sql(where: str) -> list[float]:
    without_text = re.sub(r"'(?:[^']|'')*'", "''", where)
    return sorted(float(n) for n in SQL_NUMBER.findall(without_text))


@pytest.fixture(scope="module", params=[False, True], ids=["stack_column", "technologies_table"])
def fitted(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    config = write_export(folder, long_table=request.param)
    features = features_of(config)
    score, target = planted_scores(features.frame)
    icp = IcpFilter(features.specs).fit(features.frame, score, target)
    return folder, config, features, icp


def test_the_tree_splits_on_a_level_technologies_and_whole_and_decimal_numbers(fitted):
    _, _, _, icp = fitted
    split = {c.column: c for s in icp.segments_ for c in s.conditions}
    assert "industry=O'Reilly" in split
    assert {"tech_hub", "tech_net_suite"} <= set(split)
    assert split["founded_year"].threshold == 2016
    assert not float(split["revenue_musd"].threshold).is_integer()
    kinds = {s.kind for s in icp.segments_}
    assert {"icp", "anti_icp"} <= kinds


def test_the_sql_on_the_export_selects_exactly_the_accounts_of_the_rules(fitted):
    folder, config, features, icp = fitted
    document = filter_document(icp, config)
    db = sqlite_of(folder)
    db.executescript(document["sql"]["view"])
    leaves = pd.Series(icp.leaves(features.frame), index=features.frame.index)
    for kind in ("icp", "anti_icp"):
        inside = [s.leaf for s in icp.segments_ if s.kind == kind]
        expected = set(leaves.index[leaves.isin(inside)])
        selected = {account for (account,) in db.execute(document["sql"]["query"][kind])}
        assert expected and selected == expected, (kind, document["sql"][kind])
    everyone = {account for (account,) in db.execute('SELECT "account_id" FROM icp_accounts')}
    assert everyone == set(features.frame.index)


def test_the_words_and_the_sql_state_the_same_thresholds(fitted):
    _, config, _, icp = fitted
    document = filter_document(icp, config)
    for kind in ("icp", "anti_icp"):
        rules = [entry["rule"] for entry in document[kind]]
        assert thresholds_in_words(rules) == thresholds_in_sql(document["sql"][kind]), kind
    rules = " ".join(e["rule"] for e in document["icp"] + document["anti_icp"])
    sql = document["sql"]["icp"] + document["sql"]["anti_icp"]
    assert re.search(r"founded_year [≥<] 2,016", rules)  # a whole-number column: whole cuts
    assert re.search(r'"founded_year" (>=|<) 2016\b', sql)


def test_technologies_match_whole_names_and_literals_are_escaped(fitted):
    _, config, _, icp = fitted
    sql = filter_document(icp, config)["sql"]
    where = sql["icp"] + sql["anti_icp"]
    assert "LIKE LOWER('%;Hub;%') ESCAPE '!'" in where
    assert "LIKE LOWER('%;Net!_Suite!%;%') ESCAPE '!'" in where
    assert "'O''Reilly'" in where
    assert 'a."Founded"' in sql["view"] and 'a."Revenue ""M$"""' in sql["view"]
    if config.tech_stack is not None:
        assert '"Tech ""Stack"""' in sql["view"]


def test_the_view_reads_every_feature_of_the_export_as_the_pipeline_does(fitted):
    folder, config, features, _ = fitted
    assert_view_reads_every_feature(sqlite_of(folder), features, config)


def test_the_view_counts_technologies_categories_and_signals_from_their_tables():
    """The sample export: a technologies table with first_seen, technology categories, and
    signals counted over the 365 days up to as_of, exact duplicate rows once."""
    sample = generate_sample(accounts=1500, seed=5, as_of=AS_OF)
    config = config_from_dict(sample.config)
    raw = {
        n: RawTable(n, f"{n}.csv", f.astype("string").reset_index(drop=True))
        for n, f in sample.tables.items()
    }
    features = features_of(config, raw)
    counted = {s.name for s in features.specs if s.kind == "count"}
    assert {"tech_count", "techcat_crm"} <= counted
    assert any(c.startswith("signals_") for c in counted)
    assert_view_reads_every_feature(sqlite_with(sample.tables), features, config)
