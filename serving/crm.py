"""CRM-ready files: the scored columns under a CRM's field names, typed as the CRM imports them.

The mapping is data, one dict per CRM (our column -> field name, type, what it holds); the
README's tables of fields to create are generated from it (`field_table`) and a test holds them
to it. The account id keeps the export's column name, for the import to match records on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

Field = tuple[str, str, str]
"""(field name in the CRM, its type there, what it holds)"""

TIERS = "A, B, C, D, X"
SALESFORCE_FIELDS: dict[str, Field] = {
    "fit_score": ("ICP_Fit_Score__c", "Number(3, 0)", "0–100: the share of your accounts it beats"),
    "fit_tier": (
        "ICP_Fit_Tier__c",
        f"Picklist: {TIERS}",
        "A top 10%, B next 20%, C next 30%, D the rest; X disqualified",
    ),
    "fit_probability": (
        "ICP_Fit_Probability__c",
        "Percent(3, 2)",
        "calibrated chance of becoming an ideal customer, in percent (12.34 is 12.34%)",
    ),
    "disqualified_reason": (
        "ICP_Disqualified_Reason__c",
        "Text(255)",
        "the disqualifier that fired (tier X)",
    ),
    "data_coverage": (
        "ICP_Data_Coverage__c",
        "Percent(3, 0)",
        "share of the key inputs known, in percent",
    ),
    "reason_{k}": ("ICP_Reason_{k}__c", "Text(255)", "reason {k} for a fit, strongest first"),
    "risk_{k}": ("ICP_Risk_{k}__c", "Text(255)", "reason {k} against, strongest first"),
    "model_name": ("ICP_Model_Name__c", "Text(80)", "the registered model that scored it"),
    "model_version": ("ICP_Model_Version__c", "Text(20)", "its version"),
    "scored_at": (
        "ICP_Scored_At__c",
        "Date/Time",
        "when it was scored (UTC; 2026-12-05T10:00:00Z)",
    ),
    "error": ("ICP_Scoring_Error__c", "Text(255)", "why the row could not be scored"),
    "input_digest": ("ICP_Input_Digest__c", "Text(16)", "digest of the inputs scored (optional)"),
    "previous_tier": ("ICP_Previous_Tier__c", f"Picklist: {TIERS}", "the tier last run"),
    "tier_change": ("ICP_Tier_Change__c", "Picklist: up, down, new, same", "since last run"),
    "score_change": ("ICP_Score_Change__c", "Number(3, 0)", "fit score now minus last run's"),
    "change_cause": (
        "ICP_Change_Cause__c",
        "Picklist: model, data, model and data, unknown",
        "what moved the tier",
    ),
}
HUBSPOT_FIELDS: dict[str, Field] = {
    "fit_score": ("icp_fit_score", "Number", "0–100: the share of your accounts it beats"),
    "fit_tier": (
        "icp_fit_tier",
        f"Dropdown select: {TIERS}",
        "A top 10%, B next 20%, C next 30%, D the rest; X disqualified",
    ),
    "fit_probability": (
        "icp_fit_probability",
        "Number",
        "calibrated chance of becoming an ideal customer, in percent (12.34 is 12.34%)",
    ),
    "disqualified_reason": (
        "icp_disqualified_reason",
        "Single-line text",
        "the disqualifier that fired (tier X)",
    ),
    "data_coverage": ("icp_data_coverage", "Number", "share of the key inputs known, in percent"),
    "reason_{k}": ("icp_reason_{k}", "Single-line text", "reason {k} for a fit, strongest first"),
    "risk_{k}": ("icp_risk_{k}", "Single-line text", "reason {k} against, strongest first"),
    "model_name": ("icp_model_name", "Single-line text", "the registered model that scored it"),
    "model_version": ("icp_model_version", "Single-line text", "its version"),
    "scored_at": (
        "icp_scored_at",
        "Date and time picker",
        "when it was scored (Unix time in milliseconds)",
    ),
    "error": ("icp_scoring_error", "Single-line text", "why the row could not be scored"),
    "input_digest": (
        "icp_input_digest",
        "Single-line text",
        "digest of the inputs scored (optional)",
    ),
    "previous_tier": ("icp_previous_tier", f"Dropdown select: {TIERS}", "the tier last run"),
    "tier_change": ("icp_tier_change", "Dropdown select: up, down, new, same", "since last run"),
    "score_change": ("icp_score_change", "Number", "fit score now minus last run's"),
    "change_cause": (
        "icp_change_cause",
        "Dropdown select: model, data, model and data, unknown",
        "what moved the tier",
    ),
}


@dataclass(frozen=True)
class Crm:
    title: str
    record: str
    """The object the fields are created on."""
    fields: dict[str, Field]
    name_term: str
    """What the CRM calls a field's name in files and APIs."""
    text_limit: int | None
    """Characters a text field holds (Salesforce counts UTF-16 units); None: no practical limit."""
    timestamps: str
    """`iso` (2026-12-05T10:00:00Z) or `unix_ms` (milliseconds since 1970-01-01 UTC)."""

    def label(self, name: str) -> str:
        """The label to type when creating the field: the CRM derives `name` from it."""
        return " ".join(["ICP", *name.removesuffix("__c").split("_")[1:]])


CRMS = {
    "salesforce": Crm("Salesforce", "Account", SALESFORCE_FIELDS, "API name", 255, "iso"),
    "hubspot": Crm("HubSpot", "Company", HUBSPOT_FIELDS, "internal name", None, "unix_ms"),
}
ELLIPSIS = "…"


def crm_fields(crm: Crm, columns: list[str]) -> list[tuple[str, Field]]:
    """(our column, its field) for each of `columns` the CRM has a field for, in mapping order;
    reason_{k} and risk_{k} expand to the reasons present."""
    found = []
    for column, (name, kind, what) in crm.fields.items():
        if "{k}" not in column:
            found += [(column, (name, kind, what))] if column in columns else []
            continue
        pattern = re.compile(re.escape(column).replace(r"\{k\}", r"(\d+)") + "$")
        ks = sorted(int(m[1]) for c in columns if (m := pattern.match(c)))
        found += [(column.format(k=k), field_for(name, kind, what, k)) for k in ks]
    return found


def field_for(name: str, kind: str, what: str, k: int) -> Field:
    return name.format(k=k), kind, what.format(k=k)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else cut to fit with an ellipsis at the end."""
    if utf16_length(text) <= limit:
        return text
    cut = text[: limit - 1]
    while utf16_length(cut) > limit - 1:
        cut = cut[:-1]
    return cut.rstrip() + ELLIPSIS


def fit_text(values: pd.Series, limit: int | None) -> tuple[pd.Series, int]:
    """Text cells cut to `limit` (see `shorten`), and how many were cut."""
    text = values.astype(object).where(values.notna(), None)
    if limit is None:
        return text, 0
    lengths = values.astype("string").str.len().fillna(0).to_numpy()
    long = lengths > limit // 2  # a character is at most 2 UTF-16 units
    shortened = [shorten(t, limit) for t in text[long]]
    cut = sum(a != b for a, b in zip(shortened, text[long], strict=True))
    return text.mask(long, pd.Series(shortened, index=text.index[long], dtype=object)), cut


def timestamps(values: pd.Series, form: str) -> pd.Series:
    """ISO 8601 instants (our scored_at) as the CRM imports a date-time field."""
    moments = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    if form == "unix_ms":
        epoch = pd.Timestamp(0, tz="UTC")
        return ((moments - epoch) // pd.Timedelta(milliseconds=1)).astype("Int64")
    text = moments.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return text.astype(object).where(moments.notna(), None)


def crm_values(values: pd.Series, column: str, crm: Crm) -> tuple[pd.Series, int]:
    """One column's values as the CRM field takes them, and how many texts were cut."""
    numbers = pd.to_numeric(values, errors="coerce") if values.dtype == object else values
    if column == "fit_probability":
        return (numbers.astype(float) * 100).round(2), 0
    if column == "data_coverage":
        return (numbers.astype(float) * 100).round().astype("Int64"), 0
    if column in ("fit_score", "score_change"):
        return pd.to_numeric(values, errors="coerce").round().astype("Int64"), 0
    if column == "scored_at":
        return timestamps(values, crm.timestamps), 0
    return fit_text(values, crm.text_limit)


def to_crm(scored: pd.DataFrame, crm: Crm, id_name: str) -> tuple[pd.DataFrame, int]:
    """The scored rows as the CRM's import file: the account id under `id_name`, then each
    column with a field, under its name; and how many texts were cut to fit."""
    columns: dict[str, pd.Series] = {id_name: scored["account_id"]}
    cut = 0
    for column, (name, _, _) in crm_fields(crm, list(scored.columns)):
        columns[name], shortened = crm_values(scored[column], column, crm)
        cut += shortened
    return pd.DataFrame(columns, index=scored.index), cut


def field_table(crm: Crm, reasons: int = 3) -> str:
    """The README's table of the fields to create (field label, name, type, what it holds)."""
    columns = [c for c in crm.fields if "{k}" not in c]
    columns += [f"{kind}_{k}" for kind in ("reason", "risk") for k in range(1, reasons + 1)]
    lines = [
        f"| field label | {crm.name_term} | type | what it holds |",
        "| --- | --- | --- | --- |",
    ]
    for _, (name, kind, what) in crm_fields(crm, columns):
        lines.append(f"| {crm.label(name)} | `{name}` | {kind} | {what} |")
    return "\n".join(lines)


def previous_names() -> dict[str, str]:
    """Field name -> our column, for reading a CRM file back as the previous run."""
    return {
        name: column
        for crm in CRMS.values()
        for column, (name, _, _) in crm.fields.items()
        if "{k}" not in column
    }
