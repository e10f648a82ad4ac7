"""The writing wing: from a prompt to a score (style, form, harmony, melody, bass, drums,
arrangement, feel, lyrics and the sung line). It never imports the sound wing."""
