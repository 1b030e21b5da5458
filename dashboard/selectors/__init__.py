"""Reads for pages and the API, by concern. Views call these; nothing here writes.

- ``live``: live polls of queues, enriched like the monitor's (``REDIS_ERRORS``)
- ``monitor``: what the monitor last reported (``monitor_state``, ``monitor_fresh``)
- ``overview``: the overview's rows and pages
- ``detail``: one queue's page, its claim storms and trim risk
- ``pending``: pending entries and where one entry is now
- ``dead_letters``: dead letters, paged
- ``history``: chart series
- ``audit``: the audit log
- ``find``: where one message is, across queues, and the alerts naming it
"""

from dashboard.selectors.audit import (
    AUDIT_PAGE_SIZE,
    AuditChoices,
    AuditFilters,
    audit_as_json,
    audit_choices,
    audit_entries,
    audit_log,
)
from dashboard.selectors.dead_letters import (
    MAX_DEAD_SCAN,
    PREVIEW_CHARS,
    DeadLetterPage,
    DeadLetterRow,
    dead_letter_page,
    dead_letters,
)
from dashboard.selectors.detail import (
    ClaimSummary,
    GroupClaims,
    QueueDetail,
    ThresholdRow,
    claim_summary,
    queue_detail,
    queue_get,
    trim_risk,
)
from dashboard.selectors.find import (
    SEARCH_ALL_MAX,
    FindResult,
    QueueFinding,
    find_message,
    is_entry_id,
)
from dashboard.selectors.history import (
    MAX_POINTS,
    RANGES,
    HistoryPoint,
    QueueHistory,
    queue_history,
)
from dashboard.selectors.live import REDIS_ERRORS, live_snapshots
from dashboard.selectors.monitor import LeaseView, MonitorStatus, monitor_fresh, monitor_state
from dashboard.selectors.overview import (
    OVERVIEW_MAX_PER_PAGE,
    OVERVIEW_PER_PAGE,
    SPARK_POINTS,
    STATUSES,
    OverviewPage,
    QueueRow,
    overview_page,
    queue_overview,
    rows_as_json,
)
from dashboard.selectors.pending import (
    EntryLocation,
    PendingEntry,
    PendingIn,
    locate_entry,
    pending_entries,
    top_deliveries,
)

__all__ = [
    "SEARCH_ALL_MAX",
    "FindResult",
    "QueueFinding",
    "find_message",
    "is_entry_id",
    "AUDIT_PAGE_SIZE",
    "MAX_DEAD_SCAN",
    "MAX_POINTS",
    "OVERVIEW_MAX_PER_PAGE",
    "OVERVIEW_PER_PAGE",
    "PREVIEW_CHARS",
    "RANGES",
    "REDIS_ERRORS",
    "SPARK_POINTS",
    "STATUSES",
    "AuditChoices",
    "AuditFilters",
    "ClaimSummary",
    "DeadLetterPage",
    "DeadLetterRow",
    "EntryLocation",
    "GroupClaims",
    "HistoryPoint",
    "LeaseView",
    "MonitorStatus",
    "OverviewPage",
    "PendingEntry",
    "PendingIn",
    "QueueDetail",
    "QueueHistory",
    "QueueRow",
    "ThresholdRow",
    "audit_as_json",
    "audit_choices",
    "audit_entries",
    "audit_log",
    "claim_summary",
    "dead_letter_page",
    "dead_letters",
    "live_snapshots",
    "locate_entry",
    "monitor_fresh",
    "monitor_state",
    "overview_page",
    "pending_entries",
    "queue_detail",
    "queue_get",
    "queue_history",
    "queue_overview",
    "rows_as_json",
    "top_deliveries",
    "trim_risk",
]
