"""Use cases: one short handler per thing a caller can ask for."""
