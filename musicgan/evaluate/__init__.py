"""Judging melodies: numpy metrics, novelty, the two-sample classifier, baselines, the report and its chart."""
