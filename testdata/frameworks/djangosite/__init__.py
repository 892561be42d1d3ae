"""A small Django project for pyhost/frameworks_test.go, served as djangosite.wsgi:application
(with --chdir and --python-path testdata/frameworks). The sqlite database lives where the
environment variable PYHOST_DJANGO_DB says (the test makes it in a temporary directory)."""
