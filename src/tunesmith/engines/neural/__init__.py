"""Open-weights music models run from local folders through diffusers (the ``neural`` extra).

    catalog.py         what each pipeline can do and why a model cannot run here (no torch)
    pipelines.py       loading a folder and calling its pipeline: inputs, steps, the audio out
    engine.py          NeuralEngine: the contract mapped onto one loaded model
    finish.py          to 44.1 kHz stereo, cut to the exact length, mastered, encoded
    composer_parts.py  the lyricist and the master, borrowed from the composer (one place)
    random_weights.py  each pipeline built with random weights, tiny or at published size

Only ``catalog`` is imported outside a worker that holds a model: listing models never
imports torch.
"""
