"""mock_calcom: a Cal.com API v2 stand-in that injects latency and failures, deterministically.

Entry points: `mock_calcom.app.create_app(settings)`, `mock_calcom.cli.mock_calcom_command` and
`python -m mock_calcom`. It imports nothing from the other callsim packages.
"""
