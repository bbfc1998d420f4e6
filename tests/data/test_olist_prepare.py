"""examples/olist/prepare.py on tiny Olist-shaped files written here (never the real data)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from icpfit.cli import app

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "olist" / "prepare.py"


def write_olist(source: Path) -> None:
    source.mkdir()
    pd.DataFrame(
        {
            "mql_id": ["m1", "m2", "m3"],
            "first_contact_date": ["2018-01-02", "2018-01-05", "2018-02-01"],
            "landing_page_id": ["p1", "p2", "p1"],
            "origin": ["organic_search", "paid_search", None],
        }
    ).to_csv(source / "olist_marketing_qualified_leads_dataset.csv", index=False)
    pd.DataFrame(
        {
            "mql_id": ["m1"],
            "seller_id": ["s1"],
            "sdr_id": ["x"],
            "sr_id": ["y"],
            "won_date": ["2018-01-20 10:00:00"],
            "business_segment": ["pet"],
            "lead_type": ["online"],
            "lead_behaviour_profile": ["cat"],
            "has_company": [None],
            "has_gtin": [None],
            "average_stock": [None],
            "business_type": ["reseller"],
            "declared_product_catalog_size": [None],
            "declared_monthly_revenue": [0.0],
        }
    ).to_csv(source / "olist_closed_deals_dataset.csv", index=False)
    pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3"],
            "order_item_id": [1, 1, 1],
            "product_id": ["p", "p", "p"],
            "seller_id": ["s1", "s1", "s9"],
            "shipping_limit_date": [
                "2018-02-03 00:00:00",
                "2018-02-20 00:00:00",
                "2018-02-01 00:00:00",
            ],
            "price": [10.0, 5.5, 99.0],
            "freight_value": [1.0, 1.0, 1.0],
        }
    ).to_csv(source / "olist_order_items_dataset.csv", index=False)
    pd.DataFrame(
        {
            "seller_id": ["s1"],
            "seller_zip_code_prefix": [1],
            "seller_city": ["x"],
            "seller_state": ["SP"],
        }
    ).to_csv(source / "olist_sellers_dataset.csv", index=False)


def test_prepare_maps_the_funnel_onto_the_contract_and_validates(tmp_path):
    write_olist(tmp_path / "olist")
    out = tmp_path / "out"
    subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "olist"), str(out)],
        check=True,
        capture_output=True,
    )
    opportunities = pd.read_csv(out / "opportunities.csv")
    assert dict(zip(opportunities["account_id"], opportunities["stage"], strict=True)) == {
        "m1": "won",
        "m2": "lost",
        "m3": "lost",
    }
    revenue = pd.read_csv(out / "revenue.csv")
    assert revenue.to_dict("records") == [{"account_id": "m1", "month": "2018-02-01", "mrr": 15.5}]
    accounts = pd.read_csv(out / "accounts.csv")
    assert len(accounts) == 3 and accounts.set_index("account_id").loc["m1", "seller_state"] == "SP"
    # these few orders end in 2018-02: a later cutoff would make m1 look churned (an error)
    command = ["validate", "--config", str(out / "icpfit.yaml"), "--as-of", "2018-02-28"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output


def test_missing_source_file_is_one_clear_line(tmp_path):
    write_olist(tmp_path / "olist")
    (tmp_path / "olist" / "olist_sellers_dataset.csv").unlink()
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "olist"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    assert "olist_sellers_dataset.csv" in run.stderr.strip().splitlines()[-1]
