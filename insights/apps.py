from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """Learning from outcomes (README.md beside this file): outcomes in, conversion, calibration,
    what precedes buying, backtests and suggested rule versions. It reads every app below it
    (leads, scoring, routing) and nothing imports it."""

    name = "insights"
