"""`icpfit score` for a CRM sync (issue 14): what changed since the last run and why, only the
changed rows, CRM field names and types, and CSV for Excel; 200 accounts of the shared export,
the shared registry's v1 and v2."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from icpfit.serving.crm import CRMS, crm_fields
from tests.e2e.cli import invoke

INPUTS = ("--technologies", "data/technologies.csv", "--signals", "data/signals.csv")
AS_OF = ("--as-of", "2026-09-30")
LONG = "x" * 300  # a cell whose error message is longer than a Salesforce text field


@pytest.fixture
def rows(shared, tmp_path, monkeypatch) -> pd.DataFrame:
    """200 accounts of the shared export in before.csv, in the test's own folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").symlink_to(shared.data)
    frame = pd.read_csv(shared.data / "accounts.csv", dtype=str).head(200)
    frame.to_csv("before.csv", index=False)
    return frame


def score(source: str, output: str, *extra, code: int = 0):
    return invoke(
        "score", "--input", source, "--output", output, *INPUTS, *AS_OF, *extra, code=code
    )


def said(result) -> str:
    return " ".join(result.stdout.split())


def edited(rows: pd.DataFrame, first: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The next export: one account made B2C (disqualified: down), one B2C account made B2B
    (up), one with a headcount that is not a number (an error), the last one gone, a new one,
    and a column the model does not read (owner) filled in for everyone."""
    scored = first.set_index("account_id")
    b2b = rows["business_model"].eq("B2B") & rows["employees"].astype(float).ge(10)
    down = rows.loc[b2b & rows["account_id"].map(scored["fit_tier"]).isin(["A", "B"]), "account_id"]
    b2c = rows["account_id"].map(scored["disqualified_reason"]).eq("B2C business model")
    up = rows.loc[b2c & rows["employees"].astype(float).ge(10), "account_id"]
    accounts = {"down": down.iloc[0], "up": up.iloc[0], "error": down.iloc[1]}
    accounts |= {"dropped": rows["account_id"].iloc[-1], "new": "ACC-NEW-0001"}
    accounts["same"] = rows["account_id"][~rows["account_id"].isin(accounts.values())].iloc[0]
    nxt = rows.set_index("account_id").assign(owner="ana")
    nxt.loc[accounts["down"], "business_model"] = "B2C"
    nxt.loc[accounts["up"], "business_model"] = "B2B"
    nxt.loc[accounts["error"], "employees"] = LONG
    nxt = nxt.drop(index=accounts["dropped"])
    nxt.loc[accounts["new"]] = nxt.loc[accounts["same"]]
    return nxt.reset_index(), accounts


@pytest.fixture
def runs(rows):
    """Scored before.csv (first.csv), the edited export (after.csv), and the accounts edited."""
    score("before.csv", "first.csv")
    first = pd.read_csv("first.csv", dtype=str)
    nxt, accounts = edited(rows, first)
    nxt.to_csv("after.csv", index=False)
    return first, accounts


def test_changes_since_the_last_run_say_how_each_tier_moved_and_why(runs):
    first, accounts = runs
    result = score("after.csv", "second.csv", "--previous", "first.csv")
    out = pd.read_csv("second.csv", dtype=str).set_index("account_id")
    before = first.set_index("account_id")
    assert list(out.columns[-5:]) == [
        "input_digest",
        "previous_tier",
        "tier_change",
        "score_change",
        "change_cause",
    ]
    down, up = out.loc[accounts["down"]], out.loc[accounts["up"]]
    assert (down["fit_tier"], down["tier_change"], down["change_cause"]) == ("X", "down", "data")
    assert down["previous_tier"] == before.loc[accounts["down"], "fit_tier"]
    assert int(down["score_change"]) == -int(before.loc[accounts["down"], "fit_score"])
    assert (up["previous_tier"], up["tier_change"], up["change_cause"]) == ("X", "up", "data")
    assert int(up["score_change"]) == int(up["fit_score"]) > 0
    new = out.loc[accounts["new"]]
    assert new["tier_change"] == "new" and new[["score_change", "change_cause"]].isna().all()
    error = out.loc[accounts["error"]]
    assert error["error"].startswith("employees:") and pd.isna(error["tier_change"])
    assert accounts["dropped"] not in out.index
    same = out.drop(index=[accounts[k] for k in ("down", "up", "new", "error")])
    assert (same["tier_change"] == "same").all() and same["change_cause"].isna().all()
    assert (same["input_digest"] == before.loc[same.index, "input_digest"]).all(), (
        "a column the model does not read (owner) is not the account's data"
    )
    assert "Compared with the previous run in first.csv (200 accounts)" in said(result)
    assert "tier 1 up, 1 down, 1 new, 196 same" in said(result)
    assert "moved by: model 0, data 2" in said(result)
    assert "dropped since the last run: 1" in said(result)


def test_changed_only_writes_the_changed_rows_and_the_errors(runs):
    _, accounts = runs
    score("after.csv", "full.csv", "--previous", "first.csv")
    full = pd.read_csv("full.csv", dtype=str)
    result = score("after.csv", "delta.csv", "--previous", "first.csv", "--changed-only")
    delta = pd.read_csv("delta.csv", dtype=str)
    expected = full[full["tier_change"].isin(["up", "down", "new"]) | full["error"].notna()]
    assert len(delta) == len(expected) == 4
    assert set(delta["account_id"]) == {accounts[k] for k in ("down", "up", "new", "error")}
    assert "Wrote delta.csv: 4 of 200 rows (tier up, down or new, or an error)" in said(result)
    refused = score("after.csv", "delta2.csv", "--changed-only", code=1)
    assert "--changed-only needs --previous FILE" in refused.stderr
    assert not Path("delta2.csv").exists()


def test_another_model_version_is_the_cause_and_the_output_is_the_default_previous(rows):
    score("before.csv", "scored.csv", "--model", "models:/icp-fit/1")
    first = pd.read_csv("scored.csv", dtype=str)
    result = score("before.csv", "scored.csv", "--model", "models:/icp-fit/2")
    out = pd.read_csv("scored.csv", dtype=str)
    assert len(out) == 200 and set(out["model_version"]) == {"2"}
    assert list(out["previous_tier"]) == list(first["fit_tier"])  # read before it was replaced
    moved = out[out["tier_change"].isin(["up", "down"])]
    assert len(moved) and (moved["change_cause"] == "model").all()
    assert out.loc[out["tier_change"] == "same", "change_cause"].isna().all()
    assert "Compared with the previous run in scored.csv" in said(result)
    # a previous file from before input_digest: the version moved, so still the model
    first.drop(columns="input_digest").to_parquet("old.parquet")
    score("before.csv", "again.csv", "--model", "models:/icp-fit/2", "--previous", "old.parquet")
    again = pd.read_csv("again.csv", dtype=str)
    assert (again.loc[again["tier_change"].isin(["up", "down"]), "change_cause"] == "model").all()


def test_salesforce_file_has_the_mapped_fields_typed_as_documented(runs):
    _, accounts = runs
    result = score(
        "after.csv", "sf.csv", "--previous", "first.csv", "--changed-only", "--crm", "salesforce"
    )
    score("after.csv", "plain.csv", "--previous", "first.csv")
    plain = pd.read_csv("plain.csv", dtype=str).set_index("account_id")
    sf = pd.read_csv("sf.csv", dtype=str, keep_default_na=False)
    fields = [name for _, (name, _, _) in crm_fields(CRMS["salesforce"], list(plain.columns))]
    assert list(sf.columns) == ["account_id", *fields]
    assert fields[:3] == ["ICP_Fit_Score__c", "ICP_Fit_Tier__c", "ICP_Fit_Probability__c"]
    assert {"ICP_Scored_At__c", "ICP_Tier_Change__c", "ICP_Change_Cause__c"} <= set(fields)
    scored = sf[sf["ICP_Scoring_Error__c"] == ""].set_index("account_id")
    assert scored["ICP_Fit_Score__c"].str.fullmatch(r"\d{1,3}").all()
    assert scored["ICP_Fit_Tier__c"].isin(list("ABCDX")).all()
    assert scored["ICP_Scored_At__c"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    probability = plain.loc[scored.index, "fit_probability"].astype(float)
    percent = scored["ICP_Fit_Probability__c"].astype(float)
    assert (percent - (probability * 100).round(2)).abs().max() < 1e-9
    assert scored["ICP_Data_Coverage__c"].str.fullmatch(r"\d{1,3}").all()
    error = sf.set_index("account_id").loc[accounts["error"], "ICP_Scoring_Error__c"]
    assert len(error) == 255 and error.endswith("…") and LONG[:100] in error
    assert (sf.drop(columns="account_id").map(len) <= 255).all().all()
    assert "Columns named as Salesforce Account fields; records match on account_id" in said(result)
    assert "1 text longer than 255 characters was cut to 255, ending in …" in said(result)
    # a CRM file of ours is a previous file too: its field names are read back
    score("before.csv", "sf_full.csv", "--crm", "salesforce")
    back = score("before.csv", "next.csv", "--previous", "sf_full.csv")
    assert set(pd.read_csv("next.csv")["tier_change"]) == {"same"}
    assert "tier 0 up, 0 down, 0 new, 200 same" in said(back)


def test_hubspot_file_has_the_mapped_properties_typed_as_documented(rows):
    start = datetime.now(timezone.utc).timestamp() * 1000
    score("before.csv", "hs.csv", "--crm", "hubspot")
    score("before.csv", "hs.parquet", "--crm", "hubspot")
    hs = pd.read_csv("hs.csv", dtype=str)
    names = [n for _, (n, _, _) in crm_fields(CRMS["hubspot"], ["fit_score", *hs_columns()])]
    assert list(hs.columns) == ["account_id", *names]
    assert names[:2] == ["icp_fit_score", "icp_fit_tier"] and "icp_reason_3" in names
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names)
    assert hs["icp_fit_score"].str.fullmatch(r"\d{1,3}").all()
    moments = hs["icp_scored_at"].astype("int64")
    assert moments.between(start - 1000, start + 600_000).all()
    schema = pq.read_schema("hs.parquet")
    assert str(schema.field("icp_fit_score").type) == "int64"
    assert str(schema.field("icp_scored_at").type) == "int64"
    assert str(schema.field("icp_fit_probability").type) == "double"


def hs_columns() -> list[str]:
    """The plain scored columns of a run with 3 reasons and no previous file."""
    reasons = [f"{kind}_{k}" for kind in ("reason", "risk") for k in (1, 2, 3)]
    return [
        "fit_tier",
        "fit_probability",
        "disqualified_reason",
        "data_coverage",
        *reasons,
        "model_name",
        "model_version",
        "scored_at",
        "error",
        "input_digest",
    ]


def test_excel_csv_starts_with_a_bom_and_keeps_non_ascii_names(rows):
    name = "Société Générale Ünïcode"
    rows.assign(account_id=[name, *rows["account_id"][1:]]).to_csv("names.csv", index=False)
    result = score("names.csv", "excel.csv", "--excel")
    assert Path("excel.csv").read_bytes().startswith(b"\xef\xbb\xbfaccount_id,")
    back = pd.read_csv("excel.csv", encoding="utf-8-sig")
    assert back.columns[0] == "account_id" and back["account_id"][0] == name
    assert "UTF-8 with a byte-order mark" in said(result)
    score("names.csv", "plain.csv")
    assert Path("plain.csv").read_bytes().startswith(b"account_id,")
    refused = score("names.csv", "excel.parquet", "--excel", code=1)
    assert "--excel writes a CSV for Excel" in refused.stderr
    assert not Path("excel.parquet").exists()


def test_score_help_explains_each_new_option_with_an_example(shared):
    text = " ".join(invoke("score", "--help").stdout.replace("│", " ").split())
    for flag in ("--previous", "--changed-only", "--crm", "--excel"):
        assert flag in text
    assert "Example: --previous scored_2026-09.parquet" in text
    assert "Example: --crm salesforce" in text
    assert "Example: --output scored.csv --excel" in text
    assert "Example: --previous scored.csv --changed-only" in text
