"""Record a call to vcrpy cassettes and replay it offline against the current core.

`callsim record` / `callsim replay`: the core runs under a cassette (`serve`, `cassette`, `session`),
the caller side is recorded through a proxy (`proxy`), and a replay is compared answer by answer
(`play`, `diff`). The cassette format is defined once, here (`files`, `filters`).
"""
