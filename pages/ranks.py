"""Placeholder."""

import streamlit as st
from ui import page_title

page_title("page_ranks")
