"""The queue as one page a rep can read: rank, account, why now, why a fit. Offline, escaped."""

from __future__ import annotations

from datetime import date

import jinja2
import pandas as pd

PAGE = jinja2.Template(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Work queue {{ as_of }}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem;
  color: #1d2430; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; } .meta { color: #5b6575; margin-bottom: 1.2rem; }
h2 { font-size: 1.1rem; margin-top: 1.6rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .45rem .6rem;
  border-bottom: 1px solid #e3e7ee; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: #5b6575; }
.tier { font-weight: 700; } .now { color: #0b5d1e; } .fit { color: #3b4556; font-size: .9rem; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
</style></head><body>
<h1>Who to call today</h1>
<p class="meta">As of {{ as_of }} &middot; top {{ capacity }}{{ " per owner" if per_owner else "" }}
&middot; ranked by priority = P(ideal fit) &times; P(new opportunity within the horizon)
{%- if by_value %} &times; the expected lifetime value of the account's fit tier{% endif %},
"in market" being the second
&middot; models {{ fit_model }} and {{ timing_model }}</p>
{% for owner, rows in groups %}
{% if per_owner %}<h2>{{ owner }}</h2>{% endif %}
<table><thead><tr><th class="num">#</th><th>Account</th><th>Fit</th><th>Why now</th>
<th>Why a fit</th><th class="num">In market</th>
{%- if by_value %}<th class="num">Expected LTV</th>{% endif %}
<th class="num">Priority</th></tr></thead><tbody>
{% for row in rows %}<tr>
<td class="num">{{ row.rank }}</td><td>{{ row.account_id }}</td>
<td><span class="tier">{{ row.fit_tier }}</span> ({{ row.fit_score }})</td>
<td class="now">{{ row.why_now }}</td>
<td class="fit">{% for reason in row.reasons %}{{ reason }}
{%- if not loop.last %}<br>{% endif %}{% endfor %}</td>
<td class="num">{{ "%.0f%%"|format(100 * row.timing_score) }}</td>
{%- if by_value %}<td class="num">{{ "{:,.0f}".format(row.expected_ltv) }}</td>{% endif %}
<td class="num">{{ "{:,.1f}".format(row.priority) if by_value
  else "%.3f"|format(row.priority) }}</td>
</tr>{% endfor %}
</tbody></table>
{% endfor %}
</body></html>
""",
    autoescape=True,
)


def queue_page(
    rows: pd.DataFrame, as_of: date, capacity: int, per_owner: bool, by_value: bool = False
) -> str:
    """The queue's rows as HTML: one table, or one per owner; every value escaped."""
    records = [
        {
            **row,
            "reasons": [
                str(row[c]) for c in ("reason_1", "reason_2", "reason_3") if _said(row.get(c))
            ],
        }
        for row in rows.to_dict("records")
    ]
    if per_owner:
        owners = list(dict.fromkeys(r["owner"] for r in records))
        groups = [(o, [r for r in records if r["owner"] == o]) for o in owners]
    else:
        groups = [("", records)]
    first = records[0] if records else {}
    return PAGE.render(
        as_of=as_of.isoformat(),
        capacity=capacity,
        per_owner=per_owner,
        by_value=by_value,
        groups=groups,
        fit_model=first.get("fit_model_version", ""),
        timing_model=first.get("timing_model_version", ""),
    )


def _said(value: object) -> bool:
    return value is not None and value == value and str(value) != ""
