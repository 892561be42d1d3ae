GREETING = "hello from --python-path"
