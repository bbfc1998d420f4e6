"""Validation with `labels.mode: bookings`: amounts are required, the revenue table is not."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from icpfit.config import ConfigError, config_from_dict, load_config
from icpfit.features.pipeline import prepare
from icpfit.usecases import validate
from tests.conftest import AS_OF, make_config, raw_tables

DATA = {
    "accounts": "accounts.csv",
    "opportunities": "opportunities.csv",
    "technologies": "technologies.csv",
}
LABELS = {"mode": "bookings", "window_months": 3, "top_ltv_share": 0.2, "min_expansion": 1.0}


def bookings_config(**data):
    return make_config(data={**DATA, **data}, labels=LABELS)


@pytest.fixture
def frames(export_frames) -> dict[str, pd.DataFrame]:
    """The tiny export without its revenue table: A1 and A2 won, A3 lost."""
    return {name: frame for name, frame in export_frames.items() if name != "revenue"}


def through_the_cutoff(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The export with a deal lost in September, so its closed deals run up to AS_OF: a cutoff
    after the last closed deal is an error (customers would look as if they never reordered)."""
    lost = pd.DataFrame(
        {
            "opportunity_id": ["O9"],
            "account_id": ["A4"],
            "stage": ["lost"],
            "created_date": ["2026-08-01"],
            "close_date": ["2026-09-15"],
            "amount": ["300"],
        }
    )
    return {**frames, "opportunities": pd.concat([frames["opportunities"], lost])}


def problems(frames, config=None, severity: str = "error") -> list[str]:
    _, found = prepare(raw_tables(**frames), config or bookings_config(), AS_OF)
    return [p.message for p in found if p.severity == severity]


def test_an_export_without_revenue_validates_and_labels_from_amounts(frames):
    prepared, found = prepare(raw_tables(**through_the_cutoff(frames)), bookings_config(), AS_OF)
    assert found == []
    assert prepared.labels.loc["A1", "ltv"] == 1000
    assert prepared.labels.loc["A1", "cohort"] == "churned"  # one order, no repeat
    assert len(prepared.export.revenue) == 0


def test_missing_amount_column_names_file_column_and_both_fixes(frames):
    opps = frames["opportunities"].drop(columns="amount")
    errors = problems({**frames, "opportunities": opps})
    assert len(errors) == 1, errors
    assert errors[0].startswith(
        "opportunities.csv: missing column 'amount', which labels.mode: bookings needs"
    )
    assert "map it under columns.opportunities.amount" in errors[0]
    assert "or set labels.mode: subscription in icpfit.yaml with a revenue table" in errors[0]


def test_amount_stays_optional_for_subscription_labels(export_frames):
    opps = export_frames["opportunities"].drop(columns="amount")
    assert problems({**export_frames, "opportunities": opps}, make_config()) == []


def test_non_numeric_amounts_are_an_error(frames):
    opps = frames["opportunities"].assign(amount=["1000", "$500", "700"])
    errors = problems({**frames, "opportunities": opps})
    assert len(errors) == 1, errors
    assert errors[0].startswith(
        "opportunities.csv: column 'amount' has 1 non-numeric values at line 3"
    )
    assert "'$500'" in errors[0] and "plain numbers" in errors[0]


def test_a_won_deal_without_amount_is_an_error_and_a_lost_one_is_not(frames):
    opps = frames["opportunities"].assign(amount=[None, "500", None])
    errors = problems({**frames, "opportunities": opps})
    assert errors == [
        "opportunities.csv: column 'amount' is empty for 1 won opportunities at line 2; fix: "
        "labels.mode: bookings adds up what won orders are worth, so fill them in, or set "
        "labels.mode: subscription in icpfit.yaml with a revenue table"
    ]


def test_negative_won_amounts_are_netted_with_a_warning(frames):
    extra = pd.DataFrame(
        {
            "opportunity_id": ["O4"],
            "account_id": ["A1"],
            "stage": ["won"],
            "created_date": ["2026-01-20"],
            "close_date": ["2026-02-01"],
            "amount": ["-100"],
        }
    )
    opps = pd.concat([frames["opportunities"], extra], ignore_index=True)
    warnings = problems({**frames, "opportunities": opps}, severity="warning")
    assert warnings == [
        "opportunities.csv: 1 won opportunities with a negative amount (credit notes) netted "
        "into their account's LTV and that day's order (line 5)"
    ]


def test_a_configured_revenue_table_is_ignored_with_a_warning(export_frames):
    revenue = export_frames["revenue"].assign(mrr="not a number")
    config = bookings_config(revenue="revenue.csv")
    frames = through_the_cutoff({**export_frames, "revenue": revenue})
    _, found = prepare(raw_tables(**frames), config, AS_OF)
    assert [p.severity for p in found] == ["warning"]
    assert found[0].message.startswith(
        "revenue.csv: not read: labels.mode is bookings in icpfit.yaml, so LTV, retention and "
        "expansion come from won opportunity amounts"
    )
    assert "fix: remove data.revenue, or set labels.mode: subscription" in found[0].message


def test_subscription_labels_need_a_revenue_table_in_the_config():
    with pytest.raises(ConfigError) as info:
        config_from_dict({"data": DATA})
    assert str(info.value).startswith(
        "config: data.revenue: required when labels.mode is subscription (the default)"
    )
    assert "set labels.mode: bookings" in str(info.value)
    assert config_from_dict({"data": DATA, "labels": {"mode": "bookings"}}).data.revenue is None


def test_unknown_label_mode_names_the_allowed_ones(tmp_path):
    path = tmp_path / "icpfit.yaml"
    path.write_text(yaml.safe_dump({"data": DATA, "labels": {"mode": "orders"}}))
    with pytest.raises(ConfigError, match="labels.mode: Input should be 'subscription' or "):
        load_config(path)


def test_validate_does_not_read_a_missing_revenue_file_in_bookings_mode(tmp_path, frames):
    for name, frame in through_the_cutoff(frames).items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    text = {"data": {**DATA, "revenue": "billing.csv"}, "labels": LABELS}
    (tmp_path / "icpfit.yaml").write_text(yaml.safe_dump(text))
    report = validate(load_config(tmp_path / "icpfit.yaml"), AS_OF).report
    assert report.errors == []
    assert [p.message.split(":")[0] for p in report.warnings] == ["billing.csv"]
    assert set(report.tables["table"]) == {"accounts", "opportunities", "technologies"}
    assert report.label_mode == "bookings" and report.cohorts["churned"] == 2
