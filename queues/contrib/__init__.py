"""Optional integrations of the queue library with other frameworks (imported only on demand)."""
