"""The sound wing: from a score to audio (synths, drum kits, SoundFont, singing voice, vocal
stems, mix, master). It never imports the writing wing or the engine."""
