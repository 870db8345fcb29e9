"""Throughput benchmark of the dealer catalog against a fresh PostgreSQL database.

`make bench` runs `python -m bench.run`; `python -m bench.profiling` profiles one request
path in-process against the database the last bench run left behind.
"""
