"""Benchmark app (scripts/bench/peers.sh): a Flask page rendered from a Jinja template
(templates/flask_page.html extending templates/flask_base.html) — a realistic small page,
not a hello world. Served as a script by every server (callable `application`)."""

import os
import sys

from flask import Flask, render_template

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)  # for pagedata, whichever way the server loads this file

import pagedata  # noqa: E402

# root_path given explicitly: uWSGI and mod_wsgi load the file under a generated module
# name that Flask could not map back to this folder.
app = Flask(__name__, root_path=HERE, template_folder="templates")


@app.get("/")
def page():
    in_stock = sum(1 for p in pagedata.PRODUCTS if p["stock"] > 0)
    return render_template(
        "flask_page.html",
        title=pagedata.TITLE,
        nav=pagedata.NAV,
        products=pagedata.PRODUCTS,
        in_stock=in_stock,
    )


application = app
