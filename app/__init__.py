"""The MetaLoRA Studio dashboard (Streamlit): the router ``main.py``, the pages in ``../pages/``.

Every module and page imports ``from app import ...`` so each name means one module. The package is
light on import (no Streamlit, no torch): the modules load what they need.
"""
