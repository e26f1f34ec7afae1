"""The conversion funnel aggregated in PostgreSQL: one statement that returns one row per group,
one per cohort and one for the total, each with its counts per step and the median days of each
step (`percentile_cont`), instead of one row per lead for Python to tally.

The portable twin (SQLite, which has no percentile) is the per-lead pass in
insights.selectors.conversion; tests/insights/test_conversion_sql.py holds that both give the
same numbers. The definitions are the module notes there; how this statement meets them:

- The lead's moves (its stage changes to the funnel's stage and to the later steps, and its
  reps' acceptances) are read once, sorted by lead: a window gives each move the lead's first
  entry, so "the first time at or after the entry" is a filtered minimum per lead, with no join
  back to the stage changes (which cost a sort of the joined rows per entry).
- Only the entries matter before the range: a later step counts from the entry on, and the entry
  is in the range, so the other moves before its start are left out of the sort; and no entry
  after its end can be a first one in it.
- Days are the exact seconds between the two moments over 86400, as doubles, and
  `percentile_cont(0.5)` interpolates as insights.engine.stats.quantile does: the same floats.
"""

from datetime import datetime

from django.db import connection

from leads.models import Account, Campaign, Lead, Source, Stage, StageChange
from routing.models import Assignment

# A rep's acceptance, among the lead's moves (not a stage: any value the stages do not use).
REP_ACCEPTED = "rep-accepted"
LATER_STAGES = [stage.value for stage in (Stage.ACCEPTED, Stage.SQL, Stage.OPPORTUNITY, Stage.WON)]

# Per dimension: the group's key and label, and the join that brings them to the lead.
_GROUPS = {
    "source": (
        "lead.source_id",
        "source.name",
        f"LEFT JOIN {Source._meta.db_table} source ON source.id = lead.source_id",
    ),
    "campaign": (
        "lead.campaign_id",
        "campaign.name",
        f"LEFT JOIN {Campaign._meta.db_table} campaign ON campaign.id = lead.campaign_id",
    ),
    "campaign_type": (
        "campaign.type",
        "NULL::text",
        f"LEFT JOIN {Campaign._meta.db_table} campaign ON campaign.id = lead.campaign_id",
    ),
    "segment": (
        "account.segment",
        "NULL::text",
        f"LEFT JOIN {Account._meta.db_table} account ON account.id = lead.account_id",
    ),
    # The version's id as the portable twin reads it (int() of the evidence's text, else none).
    "rule_version": (
        r"CASE WHEN per_lead.version ~ '^\s*[-+]?[0-9]{1,18}\s*$' THEN trim(per_lead.version)::bigint END",
        "NULL::text",
        "",
    ),
}

_STATEMENT = """
WITH moves AS (
    SELECT lead_id, kind, moved_at, version, id,
        min(moved_at) FILTER (WHERE kind = %(funnel)s) OVER (PARTITION BY lead_id) AS entered_at
    FROM (
        SELECT lead_id, to_stage AS kind, changed_at AS moved_at, {version} AS version, id
        FROM {stage_changes}
        WHERE (to_stage = %(funnel)s AND changed_at < %(end)s)
            OR (to_stage = ANY(%(later)s) AND changed_at >= %(start)s)
        UNION ALL
        SELECT lead_id, %(rep_accepted)s, accepted_at, NULL, id
        FROM {assignments}
        WHERE accepted_at >= %(start)s
    ) AS every_move
),
per_lead AS (
    -- One entry per lead: grouped by the lead alone, the sort that the window made serves.
    SELECT lead_id, min(entered_at) AS entered_at,
        min(moved_at) FILTER (WHERE kind <> %(funnel)s AND moved_at >= entered_at) AS accepted_at,
        min(moved_at) FILTER (WHERE kind = ANY(%(from_sql)s) AND moved_at >= entered_at) AS sql_at,
        min(moved_at) FILTER (WHERE kind = ANY(%(from_opportunity)s) AND moved_at >= entered_at) AS opportunity_at,
        min(moved_at) FILTER (WHERE kind = %(won)s AND moved_at >= entered_at) AS won_at,
        {entry_version} AS version
    FROM moves
    WHERE entered_at >= %(start)s AND entered_at < %(end)s
    GROUP BY lead_id
),
times AS (
    SELECT key, label, cohort, {days}
    FROM (
        SELECT {key} AS key, {label} AS label,
            date_trunc(%(period)s, per_lead.entered_at AT TIME ZONE %(zone)s) AS cohort,
            per_lead.entered_at, per_lead.accepted_at, per_lead.sql_at, per_lead.opportunity_at,
            -- A win counts while it stands (the CRM may take it back).
            CASE WHEN lead.stage = %(won)s THEN per_lead.won_at END AS won_at
        FROM per_lead
        JOIN {leads} lead ON lead.id = per_lead.lead_id AND lead.merged_into_id IS NULL
        {join}
    ) AS moments
)
SELECT {grouping} AS grouping, {group_columns}, cohort, count(*), {counts}, {medians}
FROM times
GROUP BY GROUPING SETS ({group_set}(cohort), ())
"""

_STEP_COLUMNS = ("entered_at", "accepted_at", "sql_at", "opportunity_at", "won_at")
# The grouping sets, as GROUPING(key, label, cohort) tells them apart.
GROUP, COHORT, TOTAL = 0b001, 0b110, 0b111


# Each step's days from the one before, computed once per lead (a step is reached only when
# the one before is: its moment counts for the earlier steps).
_DAYS = ("accepted_days", "sql_days", "opportunity_days", "won_days")
_DAYS_SQL = ", ".join(
    f"extract(epoch FROM {now} - {before})::double precision / 86400 AS {days}"
    for before, now, days in zip(_STEP_COLUMNS, _STEP_COLUMNS[1:], _DAYS, strict=False)
)
_COUNTS_SQL = ", ".join(f"count({days})" for days in _DAYS)
_MEDIANS_SQL = ", ".join(f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {days})" for days in _DAYS)


def funnel_rows_postgresql(
    *, funnel: str, by: str, period: str, start_at: datetime, end_at: datetime, zone: str
) -> list[tuple]:
    """(grouping, key, label, cohort's first day, entered, the four steps' counts, their four
    median days) per group of `by` (none when by cohort), per cohort with leads, and the total."""
    key, label, join = _GROUPS.get(by, ("NULL::text", "NULL::text", ""))
    is_by_version = by == "rule_version"
    sql = _STATEMENT.format(
        version="evidence ->> 'rule_version_id'" if is_by_version else "NULL::text",
        entry_version=(
            "(array_agg(version ORDER BY moved_at, id) FILTER (WHERE kind = %(funnel)s))[1]"
            if is_by_version
            else "NULL::text"
        ),
        stage_changes=StageChange._meta.db_table,
        assignments=Assignment._meta.db_table,
        leads=Lead._meta.db_table,
        key=key,
        label=label,
        join=join,
        group_set="" if by == "cohort" else "(key, label), ",
        # By cohort, the groups are the cohorts: only two sets (the cohorts, the total).
        grouping=f"{COHORT} + GROUPING(cohort)" if by == "cohort" else "GROUPING(key, label, cohort)",
        group_columns="NULL, NULL" if by == "cohort" else "key, label",
        days=_DAYS_SQL,
        counts=_COUNTS_SQL,
        medians=_MEDIANS_SQL,
    )
    params = {
        "funnel": str(funnel),
        "later": LATER_STAGES,
        "from_sql": LATER_STAGES[1:],
        "from_opportunity": LATER_STAGES[2:],
        "won": Stage.WON.value,
        "rep_accepted": REP_ACCEPTED,
        "start": start_at,
        "end": end_at,
        "period": str(period),
        "zone": zone,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
