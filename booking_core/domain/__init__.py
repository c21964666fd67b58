"""Pure booking rules: no I/O, testable without a database."""
