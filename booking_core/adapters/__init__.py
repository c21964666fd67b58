"""Everything outside the process: database, Cal.com, the lock."""
