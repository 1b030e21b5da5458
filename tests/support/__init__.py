"""Test harness: real redis-server processes (single, Cluster, Sentinel), the live web stack,
worker processes the chaos tests kill, and helpers that put real data into Redis. No tests here."""
