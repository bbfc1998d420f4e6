"""Every error and warning of `icpfit validate`, with its message."""

from __future__ import annotations

import pandas as pd
import pytest

from icpfit.features.pipeline import prepare
from icpfit.features.problems import DataError, raise_on_errors
from icpfit.features.validate import validate_export
from tests.conftest import AS_OF, make_config, raw_tables, tiny_export


def problems_of(frames: dict[str, pd.DataFrame], config=None) -> list:
    _, problems = prepare(raw_tables(**frames), config or make_config(), AS_OF)
    return problems


def messages(frames, severity: str, config=None) -> list[str]:
    return [p.message for p in problems_of(frames, config) if p.severity == severity]


def one_error(frames, config=None) -> str:
    errors = messages(frames, "error", config)
    assert len(errors) == 1, errors
    return errors[0]


def test_clean_export_has_no_problems(export_frames):
    assert problems_of(export_frames) == []


def test_missing_required_column_names_file_column_and_mapping(export_frames):
    frames = {
        **export_frames,
        "opportunities": export_frames["opportunities"].drop(columns="close_date"),
    }
    message = one_error(frames)
    assert message.startswith("opportunities.csv: missing required column 'close_date'")
    assert "columns.opportunities.close_date in icpfit.yaml" in message


def test_unparseable_dates_name_lines_and_examples(export_frames):
    opps = export_frames["opportunities"].assign(close_date=["2026-01-15", "31/31/2026", "soon"])
    message = one_error({**export_frames, "opportunities": opps})
    assert "opportunities.csv: column 'close_date' has 2 unparseable dates at lines 3, 4" in message
    assert "'31/31/2026'" in message and "ISO dates" in message


@pytest.mark.parametrize(("table", "column"), [("revenue", "mrr"), ("opportunities", "amount")])
def test_non_numeric_money(export_frames, table, column):
    frame = export_frames[table].copy()
    frame.loc[1, column] = "$1,200"
    message = one_error({**export_frames, table: frame})
    assert message.startswith(f"{table}.csv: column '{column}' has 1 non-numeric values at line 3")
    assert "'$1,200'" in message and "plain numbers" in message


def test_unmapped_stage_value_lists_values_and_fix(export_frames):
    opps = export_frames["opportunities"].assign(stage=["won", "Negotiation", "Negotiation"])
    message = one_error({**export_frames, "opportunities": opps})
    assert "'Negotiation' (2)" in message and "lines 3, 4" in message
    assert "stages.won, stages.lost or stages.open in icpfit.yaml" in message


def test_stage_mapping_from_the_config_is_applied(export_frames):
    opps = export_frames["opportunities"].assign(stage=["Closed Won", "closed  won", "Closed Lost"])
    config = make_config(stages={"won": ["Closed Won"], "lost": ["Closed Lost"]})
    assert problems_of({**export_frames, "opportunities": opps}, config) == []


def test_conflicting_duplicate_accounts_list_the_ids(export_frames):
    accounts = pd.concat(
        [export_frames["accounts"], export_frames["accounts"].iloc[[0]].assign(employees="9999")]
    )
    message = one_error({**export_frames, "accounts": accounts})
    assert message.startswith("accounts.csv: 1 account ids appear on several rows")
    assert "'A1'" in message


def test_empty_account_id_is_an_error(export_frames):
    revenue = export_frames["revenue"].copy()
    revenue.loc[0, "account_id"] = None
    assert "revenue.csv: column 'account_id' is empty at line 2" in one_error(
        {**export_frames, "revenue": revenue}
    )


def test_won_deal_without_close_date_is_an_error(export_frames):
    opps = export_frames["opportunities"].assign(close_date=[None, "2026-02-10", "2026-03-01"])
    assert "'close_date' is empty for 1 won or lost opportunities at line 2" in one_error(
        {**export_frames, "opportunities": opps}
    )


def test_errors_raise_one_line_each(export_frames):
    opps = export_frames["opportunities"].assign(stage="maybe", amount="lots")
    with pytest.raises(DataError) as info:
        raise_on_errors(problems_of({**export_frames, "opportunities": opps}))
    assert len(str(info.value).splitlines()) == 2


def test_exact_duplicate_rows_are_collapsed_with_a_warning(export_frames):
    revenue = pd.concat([export_frames["revenue"], export_frames["revenue"].iloc[[0]]])
    prepared, problems = prepare(
        raw_tables(**{**export_frames, "revenue": revenue}), make_config(), AS_OF
    )
    assert [p.message for p in problems] == [
        "revenue.csv: 1 exact duplicate rows collapsed (line 8)"
    ]
    assert prepared.labels.loc["A1", "ltv"] == 320  # counted once


def test_rows_for_unknown_accounts_are_reported_and_left_out(export_frames):
    opps = pd.concat(
        [
            export_frames["opportunities"],
            pd.DataFrame(
                {
                    "opportunity_id": ["O9"],
                    "account_id": ["ZZ"],
                    "stage": ["won"],
                    "close_date": ["2026-01-01"],
                }
            ),
        ]
    )
    revenue = pd.concat(
        [
            export_frames["revenue"],
            pd.DataFrame(
                {
                    "account_id": ["ZZ", "ZZ"],
                    "month": ["2026-01-01", "2026-02-01"],
                    "mrr": ["1", "1"],
                }
            ),
        ]
    )
    warnings = messages({**export_frames, "opportunities": opps, "revenue": revenue}, "warning")
    assert (
        "opportunities.csv: 1 rows for 1 account ids not in the accounts table, left out: 'ZZ'"
    ) in warnings
    assert (
        "revenue.csv: 2 rows for 1 account ids not in the accounts table, left out: 'ZZ'"
        in warnings
    )


def test_negative_mrr_is_a_credit_note_warning(export_frames):
    revenue = pd.concat(
        [
            export_frames["revenue"],
            pd.DataFrame({"account_id": ["A1"], "month": ["2026-03-01"], "mrr": ["-20"]}),
        ]
    )
    warnings = messages({**export_frames, "revenue": revenue}, "warning")
    assert warnings == [
        "revenue.csv: 1 rows with negative mrr (credit notes) netted into their "
        "account's month (line 8)"
    ]


def test_revenue_before_acquisition_is_reported(export_frames):
    revenue = pd.concat(
        [
            export_frames["revenue"],
            pd.DataFrame({"account_id": ["A1"], "month": ["2025-11-01"], "mrr": ["30"]}),
        ]
    )
    warnings = messages({**export_frames, "revenue": revenue}, "warning")
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "revenue.csv: 1 revenue months of 1 customers fall before their "
        "acquisition month and are left out of LTV"
    )


def test_revenue_of_accounts_that_never_won_is_reported(export_frames):
    revenue = pd.concat(
        [
            export_frames["revenue"],
            pd.DataFrame({"account_id": ["A3"], "month": ["2026-05-01"], "mrr": ["30"]}),
        ]
    )
    warnings = messages({**export_frames, "revenue": revenue}, "warning")
    assert (
        len(warnings) == 1 and "1 revenue rows of 1 accounts that are not customers" in warnings[0]
    )


def test_dates_after_as_of_are_counted_per_table(export_frames):
    techs = pd.concat(
        [
            export_frames["technologies"],
            pd.DataFrame(
                {"account_id": ["A4"], "technology": ["Slack"], "first_seen": ["2027-01-01"]}
            ),
        ]
    )
    warnings = messages({**export_frames, "technologies": techs}, "warning")
    assert warnings == [
        "technologies.csv: 1 rows dated after as_of 2026-09-30 are ignored for this cutoff"
    ]


def test_declared_feature_missing_from_accounts(export_frames):
    config = make_config(features={"firmographic": {"numeric": ["employees", "headcount_growth"]}})
    message = one_error(export_frames, config)
    assert message.startswith(
        "accounts.csv: column 'headcount_growth' is used in icpfit.yaml but not in the file"
    )


def test_leaky_feature_recorded_only_for_customers_is_warned():
    n = 40
    frames = tiny_export()
    ids = [f"C{i}" for i in range(n)] + [f"L{i}" for i in range(n)]
    frames["accounts"] = pd.DataFrame(
        {"account_id": ids, "industry": ["SaaS"] * n + [None] * n, "employees": "50"}
    )
    frames["opportunities"] = pd.DataFrame(
        {
            "opportunity_id": ids,
            "account_id": ids,
            "stage": ["won"] * n + ["lost"] * n,
            "close_date": "2026-01-10",
        }
    )
    # paid in the last month of the data (a cutoff after it would be an error)
    frames["revenue"] = pd.DataFrame({"account_id": ids[:n], "month": "2026-09-01", "mrr": "10"})
    frames["technologies"] = frames["technologies"].iloc[:0]
    warnings = messages(frames, "warning")
    assert len(warnings) == 1
    assert (
        "column 'industry' is filled for 100% of customers but 0% of other accounts" in warnings[0]
    )


def test_validation_returns_typed_tables(export_frames):
    export, problems = validate_export(raw_tables(**export_frames), make_config(), AS_OF)
    assert problems == []
    assert export.opportunities["close_date"].dtype == "datetime64[ns]"
    assert export.revenue["mrr"].dtype == float
    assert export.accounts["employees"].dtype == float
