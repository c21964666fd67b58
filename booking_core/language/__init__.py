"""The German language: reading what callers say (services, days, times) and the sentences spoken back. Pure functions, no I/O."""
