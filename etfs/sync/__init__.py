"""Sync services: one function per job, the bulk upserts, and the SyncRun bookkeeping."""
