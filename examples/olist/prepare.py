"""Turn the public Olist marketing funnel into icpfit's CRM export contract.

Reads the four Olist CSVs (marketing-qualified leads, closed deals, order items, sellers) and
writes accounts.csv, opportunities.csv and revenue.csv, plus a copy of this folder's
icpfit.yaml, so that `icpfit validate --config OUT_DIR/icpfit.yaml` runs on the result.
See README.md in this folder for the mapping and why only `origin` and `landing_page_id` are
declared as features.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pandas as pd

SOURCES = {
    "leads": "olist_marketing_qualified_leads_dataset.csv",
    "deals": "olist_closed_deals_dataset.csv",
    "items": "olist_order_items_dataset.csv",
    "sellers": "olist_sellers_dataset.csv",
}
CONFIG = Path(__file__).resolve().parent / "icpfit.yaml"

LEAD_COLUMNS = ["first_contact_date", "origin", "landing_page_id"]
# Captured by the sales team when the deal closed: present for won leads only.
DEAL_COLUMNS = [
    "seller_id",
    "business_segment",
    "lead_type",
    "lead_behaviour_profile",
    "business_type",
    "has_company",
    "has_gtin",
    "average_stock",
    "declared_product_catalog_size",
    "declared_monthly_revenue",
]

EXAMPLE = """example:
  python examples/olist/prepare.py ../shared/datasets/olist /tmp/olist-out
  icpfit validate --config /tmp/olist-out/icpfit.yaml"""


class SourceError(Exception):
    """A source file that is missing or lacks a column the mapping needs."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Convert the Olist funnel CSVs into icpfit's accounts, opportunities and "
        "revenue tables (and copy icpfit.yaml next to them).",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source_dir", type=Path, help="folder holding the four Olist CSVs")
    parser.add_argument("out_dir", type=Path, help="folder to write the icpfit tables into")
    return parser.parse_args(argv)


def read_sources(source_dir: Path) -> dict[str, pd.DataFrame]:
    """The four Olist tables, read as text so ids and values stay exactly as exported."""
    if not source_dir.is_dir():
        raise SourceError(f"source folder not found: {source_dir}")
    missing = [name for name in SOURCES.values() if not (source_dir / name).is_file()]
    if missing:
        raise SourceError(f"missing in {source_dir}: {', '.join(missing)}")
    return {key: pd.read_csv(source_dir / name, dtype=str) for key, name in SOURCES.items()}


def require(frame: pd.DataFrame, columns: list[str], source: str) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise SourceError(f"{SOURCES[source]}: missing column {', '.join(absent)}")


def iso_date(values: pd.Series) -> pd.Series:
    """Timestamps as YYYY-MM-DD text (the time of day is dropped)."""
    return pd.to_datetime(values, format="ISO8601").dt.strftime("%Y-%m-%d")


def build_accounts(leads: pd.DataFrame, deals: pd.DataFrame, sellers: pd.DataFrame) -> pd.DataFrame:
    """One row per lead; closed-deal attributes and seller_state only for won leads."""
    require(leads, ["mql_id", *LEAD_COLUMNS], "leads")
    require(deals, ["mql_id", *DEAL_COLUMNS], "deals")
    require(sellers, ["seller_id", "seller_state"], "sellers")
    won = deals[["mql_id", *DEAL_COLUMNS]].merge(
        sellers[["seller_id", "seller_state"]], on="seller_id", how="left", validate="m:1"
    )
    accounts = leads[["mql_id", *LEAD_COLUMNS]].merge(won, on="mql_id", how="left", validate="1:1")
    return accounts.rename(columns={"mql_id": "account_id"})


def build_opportunities(leads: pd.DataFrame, deals: pd.DataFrame) -> pd.DataFrame:
    """One opportunity per lead: won on its won_date, otherwise lost at first contact."""
    require(leads, ["mql_id", "first_contact_date"], "leads")
    require(deals, ["mql_id", "won_date"], "deals")
    opps = leads[["mql_id", "first_contact_date"]].merge(
        deals[["mql_id", "won_date"]], on="mql_id", how="left", validate="1:1"
    )
    won = opps["won_date"].notna()
    created = iso_date(opps["first_contact_date"])
    close = created.copy()
    close[won] = iso_date(opps.loc[won, "won_date"])
    return pd.DataFrame(
        {
            "opportunity_id": opps["mql_id"],
            "account_id": opps["mql_id"],
            "stage": won.map({True: "won", False: "lost"}),
            "created_date": created,
            "close_date": close,
            "type": "new",
        }
    )


def build_revenue(deals: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Monthly sum of item prices of each won lead's seller, by month of shipping_limit_date."""
    require(deals, ["mql_id", "seller_id"], "deals")
    require(items, ["seller_id", "shipping_limit_date", "price"], "items")
    month = pd.to_datetime(items["shipping_limit_date"], format="ISO8601").dt.to_period("M")
    sold = items[["seller_id"]].assign(
        month=month.dt.to_timestamp().dt.strftime("%Y-%m-%d"),
        price=pd.to_numeric(items["price"], errors="raise"),
    )
    sold = sold.merge(deals[["mql_id", "seller_id"]], on="seller_id", how="inner")
    revenue = sold.groupby(["mql_id", "month"], as_index=False)["price"].sum()
    revenue["price"] = revenue["price"].round(2)
    revenue = revenue.rename(columns={"mql_id": "account_id", "price": "mrr"})
    return revenue.sort_values(["account_id", "month"], ignore_index=True)


def write_outputs(tables: dict[str, pd.DataFrame], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(out_dir / f"{name}.csv", index=False)
        print(f"wrote {out_dir / f'{name}.csv'}: {len(frame):,} rows")
    shutil.copyfile(CONFIG, out_dir / "icpfit.yaml")
    print(f"wrote {out_dir / 'icpfit.yaml'}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        sources = read_sources(args.source_dir)
        tables = {
            "accounts": build_accounts(sources["leads"], sources["deals"], sources["sellers"]),
            "opportunities": build_opportunities(sources["leads"], sources["deals"]),
            "revenue": build_revenue(sources["deals"], sources["items"]),
        }
    except SourceError as exc:
        print(f"prepare.py: error: {exc}", file=sys.stderr)
        return 1
    write_outputs(tables, args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
