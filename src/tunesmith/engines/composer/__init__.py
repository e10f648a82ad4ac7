"""The built-in composer: the writing wing makes a score, the sound wing plays it (see score.py)."""
