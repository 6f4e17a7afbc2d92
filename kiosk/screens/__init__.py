"""Kiosk screens: one Python module and one .kv file per screen."""
