# pyhost's Python-side helpers, executed once in every interpreter pyhost serves from (as the
# module "_pyhost"). The hot path is in C; what lives here is either run once per interpreter
# (loading the app) or rare (formatting a traceback, the file_wrapper fallback iteration).
import _thread
import io
import os
import sys
import zlib  # loaded here so `pyhost check` does not count it as the app's


def _python_executable():
    """sys.executable is pyhost's own binary (it is the program); code that starts Python
    subprocesses with it (multiprocessing's spawn, subprocess.run([sys.executable, ...]))
    needs the interpreter of this installation instead."""
    if os.path.basename(sys.executable).startswith("python"):
        return
    name = "python%d.%d%s" % (sys.version_info[0], sys.version_info[1], getattr(sys, "abiflags", ""))
    candidate = os.path.join(sys.exec_prefix, "bin", name)
    if os.access(candidate, os.X_OK):
        sys.executable = candidate
        if hasattr(sys, "_base_executable"):
            sys._base_executable = candidate


_python_executable()


class FileWrapper:
    """wsgi.file_wrapper: pyhost sends a real file with sendfile(2); this iteration is only the
    fallback for file-likes without a usable fileno()."""

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration


class _RequestBody(io.RawIOBase):
    """Raw stream over the request body; reads go to Go with the thread state detached."""

    def __init__(self, reader):
        self._reader = reader

    def readable(self):
        return True

    def readinto(self, b):
        return self._reader.readinto(b)


def make_input(reader):
    return io.BufferedReader(_RequestBody(reader), 65536)


def empty_input():
    return io.BytesIO()


class RequestTimeout(TimeoutError):
    """Raised inside a request that passed pyhost's --request-timeout: pyhost has answered 504
    and drops whatever the request does next. Let it propagate (clean up in `finally`); a
    request that swallows it runs on, holding its request thread, until it returns."""

    def __init__(self, *args):
        super().__init__(*(args or ("the request passed --request-timeout; pyhost answered 504 "
                                    "and interrupted it here",)))


RequestTimeout.__module__ = "pyhost"


class AppStream(io.TextIOBase):
    """wsgi.errors (stream 0) and sys.stderr (stream 1): what is written here becomes records
    of pyhost's log, with the id of the request whose thread wrote it (applog.c). A write that
    ends a line ends a record, so a line printed in pieces is one record and so is a write of
    several lines; a record of the logging module, written by one of its handlers, is one
    record at its level, with its logger's name; a traceback printed by the traceback module
    is one record. One object serves every request of the interpreter; closing it does
    nothing, as closing sys.stderr would hurt every request."""

    encoding = "utf-8"
    errors = "backslashreplace"

    def __init__(self, stream, name):
        self._stream = stream
        self.name = name

    def writable(self):
        return True

    def isatty(self):
        return False  # the log is no terminal: no colours in it

    def write(self, s):
        if s == "" and type(s) is str:  # print(end=""), which the traceback module uses
            return 0
        try:
            found = _writer(sys._getframe(1))
        except Exception:  # noqa: BLE001 - how a write is logged must never fail the write
            found = None
        if found is None:
            return _log_write(self._stream, s)  # noqa: F821 - defined in C before this runs
        kind, frame, record = found
        if kind == "traceback":
            return _traceback_write(self._stream, frame, s)
        try:
            level, level_name, name = int(record.levelno), str(record.levelname), str(record.name)
        except Exception:  # noqa: BLE001 - a record tampered with: logged as a plain write
            return _log_write(self._stream, s)  # noqa: F821
        return _log_record(self._stream, s, level, level_name, name)  # noqa: F821

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        _log_flush()  # noqa: F821

    def close(self):
        pass


class _StderrBytes(io.RawIOBase):
    """sys.stderr.buffer: bytes written there are logged as sys.stderr's text is."""

    def __init__(self, text):
        self._text = text

    def writable(self):
        return True

    def write(self, b):
        self._text.write(bytes(b).decode("utf-8", "backslashreplace"))
        return len(b)

    def flush(self):
        self._text.flush()

    def fileno(self):
        return self._text.fileno()

    def close(self):
        pass


class _Stderr(AppStream):
    """sys.stderr. fileno() is the process's stderr, for code that writes there itself
    (faulthandler): such output is not a record."""

    def __init__(self):
        super().__init__(1, "<stderr>")
        self.buffer = _StderrBytes(self)

    def fileno(self):
        real = sys.__stderr__
        if real is None:
            raise io.UnsupportedOperation("fileno")
        return real.fileno()


def _writer(frame):
    """What is writing to an AppStream, from the frames of the write's callers: ("record",
    frame, LogRecord) in a logging handler's emit(), ("traceback", frame, None) in the
    traceback module's print functions, or None."""
    for _ in range(8):
        if frame is None:
            return None
        code = frame.f_code
        if code.co_name == "emit":
            record = frame.f_locals.get("record")
            logging = sys.modules.get("logging")
            if logging is not None and isinstance(record, logging.LogRecord):
                return "record", frame, record
        elif code.co_name in ("print", "print_list") and \
                frame.f_globals.get("__name__") == "traceback":
            return "traceback", frame, None
        frame = frame.f_back
    return None


_tb_state = _thread._local()


def _traceback_text(frame):
    """All that the traceback module's print function in frame writes, computed afresh from
    its arguments (they write it a frame at a time)."""
    local = frame.f_locals
    if frame.f_code.co_name == "print_list":
        summary = frame.f_globals["StackSummary"].from_list(local["extracted_list"])
        return "".join(summary.format())
    kwargs = {"chain": local.get("chain", True)}
    if "colorize" in local:
        kwargs["colorize"] = local["colorize"]
    return "".join(local["self"].format(**kwargs))


def _traceback_write(stream, frame, s):
    """A write of the traceback module's print functions: the first logs all they will write
    as one record, the rest (the same text, in order) are dropped."""
    st = _tb_state
    if getattr(st, "frame", None) is frame:
        if st.text.startswith(s, st.pos):
            st.pos += len(s)
            if st.pos >= len(st.text):
                st.frame = st.text = None
            return len(s)
        st.frame = st.text = None  # not what was expected: logged as it comes
        return _log_write(stream, s)  # noqa: F821
    st.frame = st.text = None
    try:
        text = _traceback_text(frame)
    except Exception:  # noqa: BLE001 - then it is logged as written
        text = ""
    if len(text) <= len(s) or not text.startswith(s):
        return _log_write(stream, s)  # noqa: F821
    _log_write(stream, text)  # noqa: F821
    st.frame, st.text, st.pos = frame, text, len(s)
    return len(s)


errors = AppStream(0, "wsgi.errors")
sys.stderr = _Stderr()


def _unraisable(u):
    """sys.unraisablehook: an exception Python could not raise (in __del__, a generator's
    cleanup) is logged as one record, with the request id when a request's thread hit it."""
    try:
        import traceback
        message = u.err_msg or "Exception ignored in"
        if u.object is not None:
            try:
                message += ": %r" % (u.object,)
            except BaseException:  # noqa: BLE001 - a failing repr must not hide the error
                message += ": <object repr() failed>"
        tb = "".join(traceback.format_exception(u.exc_type, u.exc_value, u.exc_traceback))
        _log_exception(message, tb)  # noqa: F821
    except BaseException:  # noqa: BLE001 - the hook must never raise; Python's own then
        sys.__unraisablehook__(u)


sys.unraisablehook = _unraisable


def _thread_exception(args):
    """threading.excepthook: a thread of the app that dies of an exception is one record."""
    if args.exc_type is SystemExit:
        return
    try:
        import traceback
        name = getattr(args.thread, "name", None)
        tb = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
        _log_exception("uncaught exception in thread %r of the app" % (name,), tb)  # noqa: F821
    except BaseException:  # noqa: BLE001 - the hook must never raise; Python's own then
        _python_thread_hook(args)


# threading copies its excepthook from _thread when an app imports it: set there, it costs no
# import of threading in interpreters whose apps never use it.
_python_thread_hook = getattr(_thread, "_excepthook", None)
if _python_thread_hook is not None:
    _thread._excepthook = _thread_exception
    if "threading" in sys.modules:
        sys.modules["threading"].excepthook = _thread_exception

# Before 3.13, threading takes the thread that first imports it for the main thread: its
# _MainThread's lock joins the locks that threading._shutdown() waits for, and only the end of
# that thread's thread state releases it. Imported first by a request (logging,
# concurrent.futures and http.server import it on first use), the "main thread" is a request
# thread whose thread state lives until after finalisation, so _shutdown() - run by
# Py_FinalizeEx and by pyhost before ending a sub-interpreter, on this thread - waits for ever
# and every stop runs into --shutdown-timeout. This code runs on the thread that will end the
# interpreter, so importing threading here makes that thread the main one, as in a normal
# Python process. 3.13 asks the runtime for the main thread instead: nothing to do there.
if sys.version_info < (3, 13):
    import threading  # noqa: E402,F401


def format_exception(exc):
    import traceback  # imported on first use: it costs every interpreter memory otherwise
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _import_target(target, callable_name):
    """'path/to/app.py' (callable_name, default 'application') or 'pkg.module:attr' (gunicorn
    style; 'attr()' calls a factory)."""
    if target.endswith((".py", ".wsgi")) or os.sep in target:
        path = os.path.abspath(target)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"WSGI script {path} does not exist")
        folder = os.path.dirname(path)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        import importlib.machinery
        import importlib.util
        name = "_pyhost_app_%08x" % zlib.crc32(path.encode())
        # An explicit source loader: mod_wsgi's scripts end in .wsgi, a suffix importlib would
        # not recognise (spec_from_file_location would return None).
        loader = importlib.machinery.SourceFileLoader(name, path)
        spec = importlib.util.spec_from_file_location(name, path, loader=loader)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        attr = callable_name or "application"
        where = path
    else:
        import importlib
        modname, _, attr = target.partition(":")
        attr = attr or callable_name or "application"
        cwd = os.getcwd()
        if cwd not in sys.path:
            sys.path.insert(0, cwd)
        module = importlib.import_module(modname)
        where = modname
    factory = attr.endswith("()")
    obj = module
    for part in attr.removesuffix("()").split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AttributeError(f"{where} has no attribute {attr.removesuffix('()')!r}; "
                                 f"name the WSGI callable with --callable") from None
    if factory:
        obj = obj()
    if not callable(obj):
        raise TypeError(f"{where}:{attr} is {type(obj).__name__}, not a WSGI callable")
    return obj


def load_app(target, callable_name, paths, chdir, forget=True):
    if chdir:
        os.chdir(chdir)
    for p in reversed([p for p in paths.split("\n") if p]):
        if p not in sys.path:
            sys.path.insert(0, p)
    # pyhost tries a failed import again later: files created since the last try must be
    # found (the path finders cache directory listings)...
    import importlib
    importlib.invalidate_caches()
    before = set(sys.modules)
    try:
        return _import_target(target, callable_name)
    except BaseException:
        # ...and the app's modules that imported fine before the failure must be imported
        # afresh then, not served from sys.modules as they were (the fix may be in them).
        # (check_app keeps them: its interpreter is thrown away, and it lists them.)
        if forget:
            _forget_app_modules(before)
        raise


def _forget_app_modules(before):
    """Removes from sys.modules the modules imported since `before` that are the app's own
    code. Library modules (the standard library, site- and dist-packages) stay: importing
    them twice would give the process two copies of their state (threading, logging)."""
    import site
    import sysconfig
    libs = {sysconfig.get_path(n) for n in ("stdlib", "platstdlib", "purelib", "platlib")}
    libs.update(site.getsitepackages() if hasattr(site, "getsitepackages") else ())
    libs = tuple(os.path.join(os.path.realpath(p), "") for p in libs if p)
    for name in set(sys.modules) - before:
        module = sys.modules.get(name)
        where = getattr(module, "__file__", None)
        if where is None:  # a namespace package: where its folders are
            where = next(iter(getattr(module, "__path__", ()) or ()), None)
        if where and not os.path.realpath(where).startswith(libs):
            del sys.modules[name]


# Free-threaded builds: an extension module that does not declare free-threading support
# (Py_mod_gil, or PyUnstable_Module_SetGIL for single-phase init) switches its interpreter's GIL
# back on for good while it is created, in _imp.create_dynamic (or create_builtin). CPython
# says so with a RuntimeWarning, which the app's warnings filters may hide ("ignore") or turn
# into an ImportError ("error", the GIL on all the same), so pyhost does not read the warning:
# it wraps the two creators and compares sys._is_gil_enabled() before and after.
#
# Every build: some extension modules load in one interpreter per process only, whatever they
# declare (Cython < 3.1's "Interpreter change detected", NumPy 2's "cannot load module more
# than once per process", PyO3's "do not yet support subinterpreters"), and their ImportError
# does not name them. The wrappers of create_dynamic and exec_dynamic add the module's name to
# such an error's message, which pyhost reads (subinterp/oneinterp.go). Imports of other
# modules cost nothing; the wrappers only run for extension modules.
gil_enabled_by = []
_ONE_INTERPRETER = ("Interpreter change detected", "more than once per process",
                    "do not yet support subinterpreters")
_NAMED = " [pyhost: raised by extension module %s]"


def _name_one_interpreter_error(e, name):
    msg = getattr(e, "msg", None)
    if isinstance(msg, str) and "[pyhost: raised by" not in msg and any(
            p in msg for p in _ONE_INTERPRETER):
        e.msg = msg + _NAMED % name  # str(e) and the traceback show it; e.args stay
        if e.name is None:
            e.name = name


def _watch_create(create):
    watch_gil = hasattr(sys, "_is_gil_enabled")

    def create_watched(spec, *args):
        was_on = watch_gil and sys._is_gil_enabled()
        try:
            return create(spec, *args)
        except ImportError as e:
            _name_one_interpreter_error(e, getattr(spec, "name", "?"))
            raise
        finally:
            if (watch_gil and not was_on and sys._is_gil_enabled()
                    and len(gil_enabled_by) < 16):
                gil_enabled_by.append(getattr(spec, "name", "?"))
    create_watched.__wrapped__ = create
    return create_watched


def _watch_exec(exec_dynamic):
    def exec_watched(module):
        try:
            return exec_dynamic(module)
        except ImportError as e:
            _name_one_interpreter_error(e, getattr(module, "__name__", "?"))
            raise
    exec_watched.__wrapped__ = exec_dynamic
    return exec_watched


def _wrap_imp():
    import _imp
    for name, wrap in (("create_dynamic", _watch_create), ("create_builtin", _watch_create),
                       ("exec_dynamic", _watch_exec)):
        if name == "create_builtin" and not hasattr(sys, "_is_gil_enabled"):
            continue
        fn = getattr(_imp, name, None)
        if fn is not None and not hasattr(fn, "__wrapped__"):
            setattr(_imp, name, wrap(fn))


_wrap_imp()
if hasattr(sys, "_is_gil_enabled"):
    # Already on before pyhost could watch: PYTHON_GIL=1 (-X gil=1), or an extension imported
    # by site (a .pth file, sitecustomize) before this module ran.
    if sys._is_gil_enabled():
        if os.environ.get("PYTHON_GIL") == "1":
            gil_enabled_by.append("PYTHON_GIL=1")
        elif getattr(sys.flags, "gil", None) == 1:
            gil_enabled_by.append("the interpreter's configuration (enable_gil=1)")
        else:
            gil_enabled_by.append("an extension module imported before pyhost's bootstrap "
                                  "(site, a .pth file or sitecustomize)")


def gil_report():
    enabled = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
    return "%d\t%s" % (enabled, "\x1f".join(gil_enabled_by))


def _extension_modules():
    import importlib.machinery
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    found = {}
    for name, mod in list(sys.modules.items()):
        origin = getattr(getattr(mod, "__spec__", None), "origin", None) or ""
        if origin.endswith(suffixes):
            found[name] = origin
    return found


def check_app(target, callable_name, paths, chdir):
    """Imports the app here and reports, as JSON, the extension modules it loaded, the one
    that failed (if any) and what happened to the GIL."""
    import json
    before = set(_extension_modules())
    report = {"ok": True, "error": None, "failed_module": None}
    try:
        load_app(target, callable_name, paths, chdir, forget=False)
    except BaseException as e:  # noqa: BLE001 - the report is the point
        report["ok"] = False
        import traceback
        report["error"] = "".join(traceback.format_exception_only(type(e), e)).strip()
        # A module that cannot load in a sub-interpreter is named by pyhost from the message.
        report["failed_module"] = getattr(e, "name", None)
    loaded = _extension_modules()
    report["extensions"] = _declarations({n: f for n, f in loaded.items() if n not in before})
    report["gil_enabled"] = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
    report["gil_enabled_by"] = list(gil_enabled_by)
    return json.dumps(report)


def extension_modules():
    """Every extension module in sys.modules with what its PyModuleDef declares (extmodule.c),
    as JSON for cgo.ExtModule."""
    import json
    return json.dumps(_declarations(_extension_modules()))


def _declarations(found):
    out = []
    for name, origin in sorted(found.items()):
        entry = {"name": name, "file": origin, "init": "no-def", "state_size": None,
                 "multiple_interpreters": "", "gil": ""}
        decl = _module_def(sys.modules.get(name))  # noqa: F821 - defined in C (extmodule.c)
        if decl is None and _exports(origin, "PyInit_" + name.rpartition(".")[2]):  # noqa: F821
            # PyInit_ returned a module, not a def: single-phase. CPython makes the module of
            # every import after the first from a copy of the first one's dict, without a def.
            entry["init"] = "single-phase"
            entry["copied"] = True
        if decl is not None:
            multi_phase, size, multi, gil = decl
            entry["init"] = "multi-phase" if multi_phase else "single-phase"
            entry["state_size"] = size
            entry["multiple_interpreters"] = _MULTI_INTERP.get(multi, "" if multi is None else str(multi))
            entry["gil"] = _MOD_GIL.get(gil, "" if gil is None else str(gil))
        out.append(entry)
    return out


_MULTI_INTERP = {0: "not_supported", 1: "supported", 2: "per_interpreter_gil_supported"}
_MOD_GIL = {0: "used", 1: "not_used"}


def load_again(modules, _unused1="", _unused2="", _unused3=""):
    """Creates and runs again here, outside sys.modules, each extension module of `modules`
    ("name\\tfile" lines) that another interpreter of this process loaded, and reports as JSON
    {name: message} those that refused with a one-interpreter-per-process ImportError. A module
    this interpreter has in sys.modules already loaded here too; other failures say nothing."""
    import importlib.machinery
    import importlib.util
    import json
    refused = {}
    for line in modules.split("\n"):
        name, _, origin = line.partition("\t")
        if not name or not origin or name in sys.modules:
            continue
        loader = importlib.machinery.ExtensionFileLoader(name, origin)
        spec = importlib.util.spec_from_file_location(name, origin, loader=loader)
        try:
            loader.exec_module(loader.create_module(spec))
        except ImportError as e:
            # Its own refusal, not one of a module its init imported (named otherwise).
            text = str(e)
            if any(p in text for p in _ONE_INTERPRETER) and (
                    "[pyhost: raised by" not in text or text.endswith(_NAMED % name)):
                refused[name] = text
        except BaseException:  # noqa: BLE001 - only the one refusal is the question here
            pass
    return json.dumps(refused)
