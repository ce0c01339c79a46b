"""Skip Explorer page (being built)."""

import streamlit as st

st.title("Skip Explorer")
st.info("This page is being built.")
