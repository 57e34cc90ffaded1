"""Usage KPIs ("Wirkungsnachweise"): requests, features and bytes served, and distinct client
applications, per UTC day, tenant, profile and API.

The request path only adds to an in-process tally (middleware.py, tally.py); a background
flush writes it to a small SQLite file every worker shares (store.py), which also keeps
the days across restarts. Prometheus counters are per process (summed by multiprocess
mode); distinct clients come from the shared file, so they are right across workers.
"""
