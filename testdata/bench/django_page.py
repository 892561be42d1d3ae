"""Benchmark app (scripts/bench/peers.sh): a Django view rendering a template
(templates/django_page.html extending templates/django_base.html). A whole Django project in
one file, configured in code, with no database. Served as a script by every server
(callable `application`)."""

import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)  # for pagedata, whichever way the server loads this file

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.urls import path  # noqa: E402

import pagedata  # noqa: E402


def page(request):
    in_stock = sum(1 for p in pagedata.PRODUCTS if p["stock"] > 0)
    return render(
        request,
        "django_page.html",
        {
            "title": pagedata.TITLE,
            "nav": pagedata.NAV,
            "products": pagedata.PRODUCTS,
            "in_stock": in_stock,
        },
    )


class URLConf:
    """ROOT_URLCONF as an object rather than a module name: uWSGI and mod_wsgi load this
    file under a generated module name that Django could not import back."""

    urlpatterns = [path("", page)]


if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="pyhost-bench-not-secret",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=URLConf,
        INSTALLED_APPS=[],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [os.path.join(HERE, "templates")],
            }
        ],
        DATABASES={},
        USE_TZ=True,
    )
    django.setup(set_prefix=False)

application = get_wsgi_application()
