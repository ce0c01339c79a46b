"""FRAME Explorer engine: fine-grained (clip-level) micro-video recommendation.

Modules: ``validation``/``logio`` (import), ``labels`` (clip labels), ``split`` (chronological
split), ``graphs`` (user–clip graphs), ``metrics``, ``workspace`` (datasets and runs on disk),
``synth`` (synthetic worlds), ``video`` (visual clip embeddings), the model and trainer, and
``cli``. This package never imports Streamlit.
"""

__version__ = "0.1.0"
