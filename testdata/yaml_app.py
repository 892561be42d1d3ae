# PyYAML's C extension (Debian's python3-yaml): built by Cython < 3.1, it loads in the first
# interpreter of a process that imports it and refuses every other one ("Interpreter change
# detected"). `import yaml` alone would hide that (PyYAML falls back to pure Python).
import yaml
import yaml._yaml


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("yaml %s libyaml %s\n" % (yaml.__version__, yaml._yaml.get_version_string())).encode()]
