"""The naive reference design's own poll handlers, frozen with it (bench/reference.py).

The project replaced its poll loops with a watcher and dropped these two thin handlers; the naive design still
polls, so the benchmark keeps them, exactly as they were (2026-11-29), over the project's own logic functions.
"""
