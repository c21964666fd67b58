"""Fault injection: rules and their scope, named profiles, and the ASGI layer that applies them."""
