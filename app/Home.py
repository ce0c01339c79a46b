"""FRAME Explorer: the router. ``streamlit run app/Home.py`` starts the app.

Pages live in ``app/app_pages/`` (one file each) and are routed with ``st.navigation``;
shared widgets and data access live in ``app/components/``. Pages stay thin: the work is done
by ``frame_core``.
"""

import os
import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/Home.py` puts app/ first, not the repo root
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # bad files are reported on the page instead
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

st.set_page_config(page_title="FRAME Explorer", page_icon=":material/movie:", layout="wide")

from app.components import warmup  # noqa: E402 - needs the repo root on sys.path (above)

warmup.start()  # heavy imports in the background, once per server process

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/data.py", title="Data", icon=":material/upload_file:"),
    st.Page("app_pages/skip_explorer.py", title="Skip Explorer", icon=":material/timeline:"),
    st.Page("app_pages/graph_inspector.py", title="Graph Inspector", icon=":material/hub:"),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/leaderboard:"),
    st.Page("app_pages/recommend.py", title="Recommend", icon=":material/recommend:"),
    st.Page("app_pages/simulate.py", title="Simulate", icon=":material/science:"),
    st.Page("app_pages/learn.py", title="Learn", icon=":material/school:"),
]

st.navigation(PAGES).run()
