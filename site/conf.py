"""Sphinx configuration of the lessons' rendered site (`make site`).

The site is built from the notebooks' stored outputs, never by executing them
(`nb_execution_mode = "off"`): what nbval checks is what the site shows. It builds and
reads offline: no theme, font or script is fetched from the network (MyST's own CLI,
Jupyter Book 2, fetches its theme at build time, which fails on a closed network, so the
site uses Sphinx with MyST-NB, the engine of Jupyter Book 1). Cells tagged
``hide-input``/``hide-output`` (a lesson's reveals and solutions) render as collapsed
``<details>`` blocks; a panel's widgets cannot run without a kernel, so each lesson stores
its panel's default view as a figure right after the panel, and that figure is what the
site shows.
"""

project = "Serverless Lab"
author = "Serverless Lab contributors"
copyright = "Serverless Lab contributors, Apache-2.0"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "nbval_sanitize.cfg"]

nb_execution_mode = "off"
# No require.js or widget manager from a CDN: widget outputs have no kernel on a static
# page, and the stored figure after each panel stands in for them.
nb_ipywidgets_js = {}
# No dollarmath: the lessons write prices ("$0.50 per GB"), not TeX, and formulas in
# Unicode (1 − (1 − p)ⁿ), so no page needs MathJax, which would come from a CDN.
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = "Serverless Lab lessons"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
}
html_show_sourcelink = False
suppress_warnings = ["mystnb.unknown_mime_type"]
