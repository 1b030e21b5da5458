"""Time to drain and time to breach, from the lag's regression line over the trend window.

The net rate is the slope of lag against time (dashboard.monitor.trend.fit): smoothed over
the whole window, so a batch consumer's saw-tooth or one quiet poll does not swing a
forecast from a minute to an hour, and in/out rates that are equal give no forecast at all
instead of a drain in hours beside a breach "now". Its confidence is stated as a spread:
two standard errors of the slope, as a share of it (the forecast's ± share). A forecast
whose spread is wider than ``MAX_SPREAD`` is withheld and marked unstable. Lag that moves
less than the noise floor across the window forecasts nothing (a lag of 1 never
"breaches in 2 days"), and a shrinking lag never forecasts a breach.

Pure: no Django, no Redis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dashboard.monitor.trend import Fit

#: Forecasts whose ± share (two standard errors of the slope) is wider are withheld.
MAX_SPREAD = 0.5


@dataclass(frozen=True)
class Forecast:
    drain_seconds: float | None  # 0: drained; None: not at current rates (or withheld)
    breach_seconds: float | None  # 0: over the threshold now; None: not at current rates
    spread: float | None  # the ± share of the forecast; None without a fit or a movement
    unstable: bool = False  # rates swing too much: forecasts withheld


#: The forecasts without a line to extrapolate (most groups, every cycle): made once.
_NONE = Forecast(None, None, None)
_NO_LINE = {
    (drain is None, breach is None): Forecast(drain, breach, None)
    for drain in (0.0, None)
    for breach in (0.0, None)
}


def forecast(*, lag: int | None, limit: float | None, line: Fit | None, noise: float) -> Forecast:
    """Forecasts for a group at ``lag`` with alert threshold ``limit`` (None: none), from
    its lag regression ``line``; ``noise``: messages across the window that are no trend."""
    if lag is None:
        return _NONE
    drain = 0.0 if lag == 0 else None
    breach = 0.0 if limit is not None and lag >= limit else None
    if line is None or abs(line.growth) < noise or (lag == 0 and line.slope < 0):
        return _NO_LINE[drain is None, breach is None]
    spread = 2 * line.stderr / abs(line.slope)
    if not math.isfinite(spread) or spread > MAX_SPREAD:
        return Forecast(drain, breach, round(spread, 3) if math.isfinite(spread) else None, True)
    level = max(0.0, line.fitted_lag)
    if drain is None and line.slope < 0:
        drain = level / -line.slope
    if breach is None and limit is not None and line.slope > 0:
        breach = max(0.0, limit - level) / line.slope
    return Forecast(drain, breach, round(spread, 3))
