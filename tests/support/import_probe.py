"""A module whose import is visible: the backend allowlist test checks it is never imported.

It also holds a valid backend subclass, so only the allowlist (not the subclass check) can
keep it out.
"""

from alerts.backends.locmem import LocmemBackend

#: Set at import time; the test looks for the module in ``sys.modules`` instead.
IMPORTED = True


class ProbeBackend(LocmemBackend):
    """A perfectly good backend that is simply not on the allowlist."""
