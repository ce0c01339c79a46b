"""Graph Inspector page (being built)."""

import streamlit as st

st.title("Graph Inspector")
st.info("This page is being built.")
