"""Fit x timing (issue 16): the timing model a train registers beside the fit, and `icpfit queue`
on the session's registry (real MLflow store, real models, real files)."""

from __future__ import annotations

import re

import mlflow
import pandas as pd
import pytest

from icpfit.serving.queue import MIN_TIER_CUSTOMERS, NO_TRIGGER, QUEUE_COLUMNS, WHY_NOW_DAYS
from tests.e2e.cli import invoke

TIMING = "icp-timing"


def _timing_versions(client) -> dict[str, dict]:
    aliases = client.get_registered_model(TIMING).aliases  # search results do not carry them
    return {
        str(v.version): {
            "tags": dict(v.tags),
            "aliases": sorted(a for a, named in aliases.items() if str(named) == str(v.version)),
            "run": v.run_id,
        }
        for v in client.search_model_versions(f"name='{TIMING}'")
    }


def test_train_registers_a_timing_model_beside_each_fit_version(shared):
    client = shared.client()
    timing = _timing_versions(client)
    assert set(timing) == {"1", "2"}
    fit_runs = {str(v.version): v.run_id for v in client.search_model_versions("name='icp-fit'")}
    for version in ("1", "2"):  # one run registers both, and the timing names its fit version
        assert timing[version]["run"] == fit_runs[version]
        assert timing[version]["tags"]["fit_model"] == f"icp-fit/{version}"
    assert timing["1"]["aliases"] == ["champion"]
    assert timing["2"]["aliases"] == ["challenger"]  # --promote never applies to both
    # the train said what the timing model is worth, with intervals and sizes
    text = " ".join(shared.first.split())
    held = re.search(r"Held out: ([\d, -]+); ([\d,]+) snapshots of ([\d,]+) accounts", text)
    assert held, shared.first
    assert re.search(
        r"fit alone: [\d.]+ opportunities per 100 worked \[95% CI [\d.]+, [\d.]+\]", text
    )
    assert f"Registered {TIMING} v1 as" in text
    run = client.get_run(timing["1"]["run"])
    metrics = run.data.metrics
    assert metrics["timing_gain_vs_fit_low"] <= metrics["timing_gain_vs_fit"]
    assert metrics["timing_gain_vs_fit"] <= metrics["timing_gain_vs_fit_high"]
    assert run.data.params["timing_horizon_days"] == "90"


def test_priority_beats_fit_alone_on_the_held_out_months(shared):
    """The generator's signals really bring opportunities forward (truth/drivers.json), so
    ranking by fit x timing must work more new opportunities than fit alone, in both runs."""
    client = shared.client()
    for version in _timing_versions(client).values():
        metrics = client.get_run(version["run"]).data.metrics
        assert metrics["timing_priority_per_100"] > metrics["timing_fit_per_100"]
        assert metrics["timing_gain_vs_fit"] > 0
        # and a trigger alone, without fit, is the weakest ranking
        assert metrics["timing_trigger_per_100"] < metrics["timing_priority_per_100"]


@pytest.fixture
def queue(shared, tmp_path):
    out = tmp_path / "queue.csv"
    result = invoke(
        "queue",
        "--config",
        shared.config,
        "--capacity",
        "40",
        "--output",
        out,
        "--html",
        tmp_path / "queue.html",
    )
    return result, pd.read_csv(out, dtype={"account_id": str}), tmp_path


def test_queue_lists_the_top_accounts_not_yet_customers_with_why_now(shared, queue):
    result, rows, folder = queue
    assert list(rows.columns) == [c for c in QUEUE_COLUMNS if c not in ("owner", "expected_ltv")]
    assert len(rows) == 40 and rows["rank"].tolist() == list(range(1, 41))
    assert rows["priority"].is_monotonic_decreasing
    assert (rows["fit_model_version"] == "icp-fit/1").all()  # the champions
    assert (rows["timing_model_version"] == f"{TIMING}/1").all()
    assert rows["as_of"].eq("2026-09-30").all()  # the export's latest date
    assert not rows["fit_tier"].eq("X").any() and rows["reason_1"].notna().all()
    # nobody who is a customer or has an open deal on the day
    deals = pd.read_csv(
        shared.data / "opportunities.csv", parse_dates=["created_date", "close_date"]
    )
    day = pd.Timestamp("2026-09-30")
    won = deals[deals["stage"].eq("won") & (deals["close_date"] <= day)]["account_id"]
    open_now = deals[(deals["created_date"] <= day) & ~(deals["close_date"] <= day)]["account_id"]
    assert not rows["account_id"].isin(won).any()
    assert not rows["account_id"].isin(open_now).any()
    # why now is the account's own recent events: present exactly when it had a trigger
    signals = pd.read_csv(shared.data / "signals.csv", parse_dates=["date"])
    recent = signals[(signals["date"] <= day) & (signals["date"] > day - pd.Timedelta(days=91))]
    had = rows["account_id"].isin(recent["account_id"])
    assert (rows["why_now"].ne(NO_TRIGGER) == had).all()
    assert had.any()
    for row in rows[had].itertuples():
        mine = recent[recent["account_id"].eq(row.account_id)]
        newest = int((day - mine["date"].max()).days)
        assert newest <= WHY_NOW_DAYS
        said = "today" if newest == 0 else "yesterday" if newest == 1 else f"{newest} days ago"
        assert row.why_now.split(";")[0].endswith(said), (row.why_now, newest)
    page = (folder / "queue.html").read_text()
    assert rows["account_id"].iloc[0] in page and "Who to call today" in page
    assert "Queue written to" in result.stdout


def test_queue_per_owner_ranks_within_each_owner(shared, queue, tmp_path):
    _, overall, _ = queue
    accounts = pd.read_csv(shared.data / "accounts.csv", dtype={"account_id": str})
    owners = accounts[["account_id"]].assign(owner=[f"rep-{i % 3}" for i in range(len(accounts))])
    owners.to_csv(tmp_path / "owners.csv", index=False)
    out = tmp_path / "mine.parquet"
    invoke(
        "queue",
        "--config",
        shared.config,
        "--capacity",
        "5",
        "--owners",
        tmp_path / "owners.csv",
        "--output",
        out,
    )
    rows = pd.read_parquet(out)
    assert rows.groupby("owner")["rank"].apply(list).to_dict() == {
        f"rep-{i}": [1, 2, 3, 4, 5] for i in range(3)
    }
    # each owner's first account is that owner's best in the overall ranking
    for owner, mine in rows.groupby("owner"):
        theirs = overall[
            overall["account_id"].map(owners.set_index("account_id")["owner"]) == owner
        ]
        if len(theirs):
            assert mine.iloc[0]["account_id"] == theirs.iloc[0]["account_id"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--capacity", "0"), 2, "Invalid value for '--capacity'"),
        (("--capacity", "5", "--owners", "missing.csv"), 1, "missing.csv: input file not found"),
        (("--capacity", "5", "--timing-model", "models:/nope@champion"), 1, "nope"),
        (("--capacity", "5", "--output", "q.txt"), 1, "use a .csv or .parquet file"),
        (("--capacity", "5", "--output", "data/signals.csv"), 1, "is the signals table"),
        (("--capacity", "5", "--html", "q.csv"), 1, "use a .html file"),
        (("--capacity", "5", "--timing-model", "models:/icp-fit@champion"), 1, "not a timing"),
        (("--capacity", "5", "--fit-model", "models:/icp-timing@champion"), 1, "not a fit model"),
    ],
)
def test_queue_refuses_bad_requests_with_a_message(shared, tmp_path, args, code, message):
    before = (shared.data / "signals.csv").read_bytes()
    output = () if "--output" in args else ("--output", tmp_path / "q.csv")
    result = invoke("queue", "--config", shared.config, *output, *args, code=code)
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "q.csv").exists()
    assert (shared.data / "signals.csv").read_bytes() == before


def test_promote_and_rollback_move_the_timing_model_with_its_fit_model(store_copy):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=store_copy, registry_uri=store_copy)
    promoted = invoke("promote", "2")
    assert f"{TIMING} v2, registered with it, is champion (was: 1)" in promoted.stdout
    assert str(client.get_registered_model(TIMING).aliases["champion"]) == "2"
    back = invoke("rollback")
    assert "icp-fit: champion moved back from v2 to v1" in back.stdout
    assert f"{TIMING} v1, registered with it, is champion (was: 2)" in back.stdout
    assert str(client.get_registered_model(TIMING).aliases["champion"]) == "1"


def test_an_owners_file_with_blank_ids_is_refused_before_any_scoring(shared, tmp_path):
    owners = tmp_path / "owners.csv"
    owners.write_text("account_id,owner\nACC-000001,ann\n,bob\n,cy\n")
    result = invoke(
        "queue", "--config", shared.config, "--capacity", "5", "--owners", owners,
        "--output", tmp_path / "q.csv", code=1,
    )  # fmt: skip
    assert "owners.csv: 2 rows without an account_id" in result.output
    assert "Scoring" not in result.output and not (tmp_path / "q.csv").exists()


def test_by_value_multiplies_priority_by_the_expected_ltv_of_the_fit_tier(shared, tmp_path):
    out = tmp_path / "valued.csv"
    args = ("queue", "--config", shared.config, "--capacity", "30", "--output", out)
    result = invoke(*args, "--value", "ltv")
    rows = pd.read_csv(out, dtype={"account_id": str})
    model = mlflow.pyfunc.load_model("models:/icp-fit@champion").unwrap_python_model()
    value = model.bundle["tier_value"]
    # the generator's ideal customers are its most valuable: tier A is worth more than D
    assert value["A"]["mean_ltv"] > value["D"]["mean_ltv"] and value["all"]["customers"] > 0
    assert len(rows) == 30 and rows["expected_ltv"].notna().all()
    overall = value["all"]["mean_ltv"]
    for row in rows.itertuples():
        n, mean = value[row.fit_tier]["customers"], value[row.fit_tier]["mean_ltv"] or 0.0
        shrunk = (n * mean + MIN_TIER_CUSTOMERS * overall) / (n + MIN_TIER_CUSTOMERS)
        assert row.expected_ltv == pytest.approx(shrunk)
    assert rows["priority"].is_monotonic_decreasing and list(rows["rank"]) == list(range(1, 31))
    assert rows["priority"].max() > 1, "priority is now in money, not a probability"
    assert "expected lifetime value" in result.output
    refused = invoke(*args, "--value", "revenue", code=2)
    assert "the one value is 'ltv'" in refused.output
