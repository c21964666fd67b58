"""Tests of mock_calcom, the Cal.com API v2 stand-in."""
