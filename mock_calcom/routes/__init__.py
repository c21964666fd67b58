"""HTTP routes: the Cal.com v2 subset and the mock's control API."""
