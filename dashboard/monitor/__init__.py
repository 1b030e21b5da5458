"""The monitor: polls every watched queue through the library, classifies, stores, publishes.

Runs in its own process (`manage.py monitor`), never inside web workers.
"""
