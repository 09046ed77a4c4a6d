"""The model loader of `jetbase make-migrations`.

jetbase runs this once, as `python3 -c <this file> <args-json>` (the script is embedded in the
binary, so it must not rely on a file of its own), to learn the schema that a project's
SQLAlchemy models describe. argv[1] is a JSON object:

    {"paths": ["/abs/app/models.py", "/abs/app/models", ...],
     "dialect": "sqlite" | "postgresql" | "mysql" | "mariadb",
     "project_dir": "/abs/project"}

It imports the model files, finds every MetaData reachable from their globals, and prints ONE
JSON object on stdout: the DDL that `MetaData.create_all()` emits for the dialect (jetbase runs
it on a scratch database and introspects that natively), plus a description of every table as
SQLAlchemy sees it, compiled for the dialect. Failures are a JSON object too,
`{"error": ..., "file": ..., "line": ...}`, with exit status 0: the exit status only says
whether this script itself ran.

Standard library and SQLAlchemy (1.4 or 2.x) only; Python 3.7 syntax.
"""

import importlib
import importlib.machinery
import importlib.util
import inspect
import json
import keyword
import os
import re
import sys
import sysconfig
import traceback
import warnings

DIALECT_URLS = {
    "sqlite": "sqlite://",
    "postgresql": "postgresql://",
    "mysql": "mysql://",
    # SQLAlchemy 1.4 and 2.x both resolve this to the MySQL dialect with is_mariadb set.
    "mariadb": "mariadb://",
}

# Folder walks skip these directory names (besides hidden ones and virtualenvs).
SKIP_DIRS = ("__pycache__", "tests", "node_modules", "site-packages")


class LoaderError(Exception):
    """A failure to report as `{"error", "file", "line"}` (message already worded for users)."""

    def __init__(self, message, file=None, line=None):
        Exception.__init__(self, message)
        self.message = message
        self.file = file
        self.line = line


def real(path):
    return os.path.realpath(os.path.abspath(path))


def is_under(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


# ---------------------------------------------------------------------------------------------
# Finding and importing the model files


def skip_dir(parent, name):
    if name.startswith(".") or name in SKIP_DIRS:
        return True
    # A virtualenv inside the models' folder holds other people's code.
    return os.path.isfile(os.path.join(parent, name, "pyvenv.cfg"))


def skip_file(name):
    """Test files are not models; importing them could need pytest or a database."""
    return (
        not name.endswith(".py")
        or name.startswith(".")
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def collect_files(paths):
    """The .py files that `paths` name, in a stable order (a package's `__init__.py` before
    its modules, then by name), each once."""
    files = []
    seen = set()

    def add(path):
        key = real(path)
        if key not in seen:
            seen.add(key)
            files.append(os.path.abspath(path))

    for path in paths:
        if os.path.isdir(path):
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not skip_dir(root, d))
                py = sorted(n for n in names if not skip_file(n))
                if "__init__.py" in py:
                    py.remove("__init__.py")
                    py.insert(0, "__init__.py")
                for name in py:
                    add(os.path.join(root, name))
        elif os.path.isfile(path):
            if not path.endswith(".py"):
                raise LoaderError("not a Python file: %s" % path)
            add(path)
        else:
            raise LoaderError("model path not found: %s" % path)
    return files


def identifier(name):
    return name.isidentifier() and not keyword.iskeyword(name)


def dotted_name(path):
    """(sys.path entry, dotted module name) for a file: a module of a regular package is named
    from its top package (walking up while the folder has an `__init__.py`), so relative imports
    and packages importing each other work as they do in the application; a plain file is a
    top-level module of its own folder. The name is None when a part is not an identifier."""
    folder, base = os.path.split(os.path.abspath(path))
    stem = base[:-3]
    parts = []
    if stem == "__init__":
        stem = os.path.basename(folder)
        folder = os.path.dirname(folder)
    if not identifier(stem):
        return folder, None
    parts.append(stem)
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        name = os.path.basename(folder)
        if not identifier(name):
            break
        parts.insert(0, name)
        folder = os.path.dirname(folder)
    return folder, ".".join(parts)


def module_file(module):
    path = getattr(module, "__file__", None)
    if not path:
        return None
    path = real(path)
    # A module imported from bytecode (x.pyc next to x.py) is the same file.
    if path.endswith(".pyc") and "__pycache__" not in path:
        path = path[:-1]
    return path


def loaded_module_for(path):
    """The module already imported from `path`, under whatever name."""
    for name, module in list(sys.modules.items()):
        if module is not None and module_file(module) == path:
            return name, module
    return None


class ExistingModule:
    """Loader that hands back a module already imported (see SameFileFinder)."""

    def __init__(self, module):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        pass


class SameFileFinder:
    """A model file can be reachable under two names: `models/base.py` imported as `base` (its
    folder on sys.path) and again as `app.models.base` by an absolute import in a sibling.
    Python would run it twice, and a second `Base` means a second MetaData. While the models
    load, this finder hands the module already imported from that file to the second name."""

    def __init__(self, roots):
        self.roots = roots

    def find_spec(self, fullname, path=None, target=None):
        if fullname in sys.modules:
            return None
        try:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        except Exception:
            return None
        if spec is None or not spec.has_location or not spec.origin:
            return None
        origin = real(spec.origin)
        if not any(is_under(origin, root) for root in self.roots):
            return None
        found = loaded_module_for(origin)
        if found is None:
            return None
        return importlib.util.spec_from_loader(fullname, ExistingModule(found[1]), origin=spec.origin)


def load_by_location(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def import_model(path, index, warn):
    """Import one model file, or return the module already imported from it."""
    target = real(path)
    found = loaded_module_for(target)
    if found is not None:
        return found
    root, name = dotted_name(path)
    if name is not None and name not in sys.modules:
        if root not in sys.path:
            sys.path.insert(0, root)
        module = importlib.import_module(name)
        if module_file(module) == target:
            return name, module
        # A built-in or frozen module of that name won over the file.
        warn("%s: the module name %s belongs to %s" % (path, name, getattr(module, "__file__", "a built-in module")))
    elif name is not None:
        warn(
            "%s: the module name %s is taken by %s"
            % (path, name, getattr(sys.modules[name], "__file__", None) or "a built-in module")
        )
    # No importable name: load the file under a private one (relative imports cannot work).
    stem = os.path.basename(path)[:-3]
    private = "_jetbase_model_%d_%s" % (index, "".join(c if c.isalnum() else "_" for c in stem))
    if os.path.dirname(target) not in sys.path:
        sys.path.insert(0, os.path.dirname(target))
    return private, load_by_location(private, path)


# ---------------------------------------------------------------------------------------------
# Errors: where in the user's code


def library_dirs():
    """The interpreter's standard library and installed packages (a virtualenv inside the
    project is still not the project's code)."""
    dirs = set()
    for scheme_paths in (sysconfig.get_paths(), sysconfig.get_paths(vars={"base": sys.base_prefix})):
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            if scheme_paths.get(key):
                dirs.add(real(scheme_paths[key]))
    return dirs


def user_file(path, roots, libraries=None):
    """Whether `path` is the project's own code: under a model path or the project folder,
    and not in a library folder."""
    if not path or path.startswith("<"):
        return False
    path = real(path)
    parts = path.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    if any(is_under(path, lib) for lib in (library_dirs() if libraries is None else libraries)):
        return False
    return any(is_under(path, root) for root in roots)


def locate(exc, roots):
    """(file, line) of the innermost traceback frame in the user's code, following the chain of
    causes; a SyntaxError names its own place."""
    seen = set()
    libraries = library_dirs()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, SyntaxError) and exc.filename and not exc.filename.startswith("<"):
            return os.path.abspath(exc.filename), exc.lineno
        frames = traceback.extract_tb(exc.__traceback__)
        for frame in reversed(frames):
            if user_file(frame.filename, roots, libraries):
                return os.path.abspath(frame.filename), frame.lineno
        exc = exc.__cause__ or exc.__context__
    return None, None


def describe(exc):
    if isinstance(exc, SyntaxError):
        return "%s: %s" % (type(exc).__name__, exc.msg)
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


# ---------------------------------------------------------------------------------------------
# Finding the MetaData objects


def defines(module, attr):
    """Whether the module's source binds `attr` at top level (`attr = ...`, `class attr`), as
    opposed to importing it: tells the module that made a Base from those that import it."""
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
        return False
    pattern = re.compile(r"^(class\s+%s\b|%s\s*(:[^=]*)?=(?!=))" % (re.escape(attr), re.escape(attr)))
    try:
        with open(path, encoding="utf-8", errors="replace") as source:
            return any(pattern.match(line) for line in source)
    except OSError:
        return False


class Found:
    """What the module globals showed: the MetaData objects (in order, each once, with a name
    for where each was found) and, per table, the module that defines it."""

    def __init__(self, sa, orm_registry, user_modules):
        self.sa = sa
        self.orm_registry = orm_registry
        # [(name, module)]: the imported model modules, then the project's other modules.
        self.user_modules = user_modules
        self.metadata = []  # [(MetaData, found_in)]
        self.seen = set()
        self.owner = {}  # id(Table) -> (module name, class or None)
        self.labels = {}

    def label(self, obj, fallback):
        """`module.name` for an object: a class by its own module when that is the project's
        (declarative_base() makes classes whose __module__ is SQLAlchemy's); otherwise the
        module that binds it rather than one that imports it."""
        if id(obj) in self.labels:
            return self.labels[id(obj)]
        found = None
        if isinstance(obj, type):
            home = sys.modules.get(obj.__module__)
            if any(m is home for _, m in self.user_modules) and getattr(home, obj.__name__, None) is obj:
                found = "%s.%s" % (obj.__module__, obj.__qualname__)
        if found is None:
            first = None
            for name, module in self.user_modules:
                for attr, value in list(vars(module).items()):
                    if value is obj:
                        if defines(module, attr):
                            found = "%s.%s" % (name, attr)
                            break
                        first = first or "%s.%s" % (name, attr)
                if found is not None:
                    break
            found = found or first or fallback
        self.labels[id(obj)] = found
        return found

    def add_metadata(self, metadata, obj, fallback):
        if id(metadata) not in self.seen:
            self.seen.add(id(metadata))
            self.metadata.append((metadata, self.label(obj, fallback)))

    def own(self, table, module, cls=None):
        """A mapped class's module wins over the module that holds the Table itself."""
        current = self.owner.get(id(table))
        if current is None or (cls is not None and current[1] is None):
            self.owner[id(table)] = (module, cls)

    def add_registry(self, reg, fallback):
        self.add_metadata(reg.metadata, reg, fallback)
        try:
            mappers = list(reg.mappers)
        except Exception:
            return
        for mapper in mappers:
            table = getattr(mapper, "local_table", None)
            if isinstance(table, self.sa.Table):
                self.own(table, mapper.class_.__module__, mapper.class_)

    def scan(self, module_name, module):
        sa = self.sa
        for attr, obj in list(vars(module).items()):
            fallback = "%s.%s" % (module_name, attr)
            try:
                if isinstance(obj, sa.MetaData):
                    self.add_metadata(obj, obj, fallback)
                elif isinstance(obj, sa.Table):
                    self.add_metadata(obj.metadata, obj, fallback)
                    self.own(obj, self.label(obj, fallback).rsplit(".", 1)[0])
                elif self.orm_registry is not None and isinstance(obj, self.orm_registry):
                    self.add_registry(obj, fallback)
                elif isinstance(obj, type):
                    self.scan_class(obj, fallback)
            except Exception:
                # An object whose isinstance() or attributes misbehave is not a model.
                continue

    def scan_class(self, cls, fallback):
        """A declarative base (its `metadata`), a mapped class (its `__table__`), or a class
        holding a `registry`. Read from the class dicts along the MRO, so no descriptor
        (declared_attr, a metaclass property) runs; class names play no part."""
        sa = self.sa
        metadata = table = reg = None
        metadata_owner = None
        for klass in cls.__mro__:
            attrs = vars(klass)
            if metadata is None and isinstance(attrs.get("metadata"), sa.MetaData):
                metadata, metadata_owner = attrs["metadata"], klass
            if table is None and isinstance(attrs.get("__table__"), sa.Table):
                table = attrs["__table__"]
            if reg is None and self.orm_registry is not None and isinstance(attrs.get("registry"), self.orm_registry):
                reg = attrs["registry"]
        if metadata is not None:
            self.add_metadata(metadata, metadata_owner, fallback)
        if table is not None:
            self.add_metadata(table.metadata, cls, fallback)
            self.own(table, cls.__module__, cls)
        if reg is not None:
            self.add_registry(reg, fallback)


# ---------------------------------------------------------------------------------------------
# Describing the tables


def plain(value):
    """A JSON-safe copy of an option value (numbers stay numbers)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


class Describer:
    def __init__(self, sa, dialect):
        from sqlalchemy import types as sqltypes

        self.sa = sa
        self.types = sqltypes
        self.dialect = dialect
        self.ddl = dialect.ddl_compiler(dialect, None)
        self.sql = self.ddl.sql_compiler
        self.preparer = dialect.identifier_preparer

    def expr(self, clause):
        return self.sql.process(clause, include_table=False, literal_binds=True)

    def name(self, constraint):
        """The name the DDL gives the constraint or index (naming conventions applied, long
        names truncated as the dialect does), unquoted; None when the database names it."""
        try:
            name = self.preparer.format_constraint(constraint, _alembic_quote=False)
        except Exception:
            name = constraint.name
        if name is None or not isinstance(name, str):
            return None
        return str(name)

    def emitted(self, constraint):
        """Whether CREATE TABLE renders this constraint (a Boolean's or Enum's CHECK is only
        emitted where the type is not native)."""
        rule = getattr(constraint, "_create_rule", None)
        return rule is None or bool(rule(self.ddl))

    def ordered(self, items):
        return sorted(items, key=lambda c: getattr(c, "_creation_order", 0))

    def column(self, col):
        server_default = None
        try:
            server_default = self.ddl.get_column_default_string(col)
        except Exception:
            server_default = None
        computed = getattr(col, "computed", None)
        identity = getattr(col, "identity", None)
        return {
            "name": col.name,
            "type": col.type.compile(dialect=self.dialect),
            "nullable": bool(col.nullable),
            "primary_key": bool(col.primary_key),
            "server_default": server_default,
            "python_default": self.python_default(col),
            "autoincrement": plain(col.autoincrement),
            "identity": None if identity is None else self.identity(identity),
            "computed": None if computed is None else self.expr(computed.sqltext),
        }

    def python_default(self, col):
        """A default the application computes at INSERT (`default=`), not a Sequence."""
        return col.default is not None and not isinstance(col.default, self.sa.Sequence)

    def identity(self, identity):
        keys = ("always", "on_null", "start", "increment", "minvalue", "maxvalue", "cycle", "cache", "order")
        return dict((key, plain(getattr(identity, key, None))) for key in keys)

    def table(self, table, module):
        sa = self.sa
        pk = table.primary_key
        checks = [c for c in table.constraints if isinstance(c, sa.CheckConstraint) and self.emitted(c)]
        for col in table.columns:
            checks.extend(c for c in col.constraints if isinstance(c, sa.CheckConstraint) and self.emitted(c))
        uniques = [c for c in table.constraints if isinstance(c, sa.UniqueConstraint) and self.emitted(c)]
        indexes = sorted(table.indexes, key=lambda i: (self.name(i) or "", getattr(i, "_creation_order", 0)))
        return {
            "name": table.name,
            "schema": table.schema,
            "module": module,
            "columns": [self.column(c) for c in table.columns],
            "primary_key": {
                "name": self.name(pk) if len(pk.columns) else None,
                "columns": [c.name for c in pk.columns],
            },
            "uniques": [{"name": self.name(c), "columns": [col.name for col in c.columns]} for c in self.ordered(uniques)],
            "checks": [{"name": self.name(c), "sqltext": self.expr(c.sqltext)} for c in self.ordered(checks)],
            "foreign_keys": [self.foreign_key(fk) for fk in self.ordered(table.foreign_key_constraints)],
            "indexes": [
                {
                    "name": self.name(i),
                    "unique": bool(i.unique),
                    "expressions": [e.name if isinstance(e, sa.Column) else self.expr(e) for e in i.expressions],
                }
                for i in indexes
            ],
        }

    def foreign_key(self, fk):
        referred = [element.column for element in fk.elements]
        return {
            "name": self.name(fk),
            "columns": [c.name for c in fk.columns],
            "ref_schema": referred[0].table.schema if referred else None,
            "ref_table": referred[0].table.name if referred else None,
            "ref_columns": [c.name for c in referred],
            "ondelete": fk.ondelete,
            "onupdate": fk.onupdate,
        }

    def base_type(self, type_):
        """The type the dialect really gets: through TypeDecorators and (2.x) variants."""
        for _ in range(20):
            variants = getattr(type_, "_variant_mapping", None)
            if variants and self.dialect.name in variants:
                type_ = variants[self.dialect.name]
            elif isinstance(type_, self.types.TypeDecorator):
                type_ = type_.load_dialect_impl(self.dialect)
            else:
                break
        return type_

    def enums(self, tables):
        """PostgreSQL's named enum types the tables use (CREATE TYPE ... AS ENUM)."""
        if self.dialect.name != "postgresql":
            return []
        found = []
        seen = set()
        for table in tables:
            for col in table.columns:
                type_ = self.base_type(col.type)
                item = getattr(type_, "item_type", None)  # ARRAY(Enum)
                for t in (type_, None if item is None else self.base_type(item)):
                    if isinstance(t, self.types.Enum) and t.native_enum and t.name:
                        key = (t.schema, t.name)
                        if key not in seen:
                            seen.add(key)
                            found.append({"name": t.name, "schema": t.schema, "values": list(t.enums)})
        return found


# ---------------------------------------------------------------------------------------------
# DDL


def create_all_ddl(sa, mds, url, context):
    """What `create_all()` sends, one statement per entry: the mock engine hands over each DDL
    element, compiled here with its dialect. create_all walks sets for a table's indexes and
    for the FKs it adds with ALTER, so runs of those are sorted by name to make the output the
    same on every run. Each MetaData creates the named types and sequences its tables use,
    so a PostgreSQL enum shared by two MetaData objects would be created twice: an exact repeat
    of a CREATE TYPE / SEQUENCE / DOMAIN is dropped."""
    elements = []  # [(element, text, kind)]

    def executor(sql, *multiparams, **params):
        element = getattr(sql, "element", None)
        table = element if isinstance(element, sa.Table) else getattr(element, "table", None)
        context["table"] = table if isinstance(table, sa.Table) else None
        text = str(sql.compile(dialect=engine.dialect)).strip()
        context["table"] = None
        while text.endswith(";"):
            text = text[:-1].rstrip()
        if text:
            elements.append((element, text, type(sql).__name__))

    # The paramstyle of the dialect's default driver (psycopg2, mysqlclient: pyformat/format)
    # would double every % in the DDL (LIKE 'a%%'), as cursor.execute() wants; jetbase runs the
    # statements through its own drivers, so it needs them as written: "named" doubles nothing.
    engine = sa.create_mock_engine(url, executor, paramstyle="named")
    for metadata in mds:
        metadata.create_all(engine, checkfirst=False)
    context["table"] = None

    out = []
    i = 0
    while i < len(elements):
        kind = elements[i][2]
        j = i
        while j < len(elements) and elements[j][2] == kind:
            j += 1
        run = elements[i:j]
        if kind == "CreateIndex":
            run = sorted(run, key=lambda e: (str(e[0].name or ""), e[1]))
        elif kind == "AddConstraint":
            run = sorted(run, key=lambda e: (str(getattr(getattr(e[0], "table", None), "fullname", "")), e[1]))
        for _, text, _ in run:
            if text in out and text.startswith(("CREATE TYPE ", "CREATE SEQUENCE ", "CREATE DOMAIN ")):
                continue
            out.append(text)
        i = j
    return out, engine.dialect


# ---------------------------------------------------------------------------------------------


def load(args, warn):
    paths = args.get("paths") or []
    dialect_name = args.get("dialect") or "sqlite"
    project_dir = args.get("project_dir") or os.getcwd()
    if dialect_name not in DIALECT_URLS:
        raise LoaderError("unknown dialect %r (one of %s)" % (dialect_name, ", ".join(sorted(DIALECT_URLS))))
    if not paths:
        raise LoaderError("no model paths given")
    roots = [real(p) for p in paths] + [real(project_dir)]

    try:
        import sqlalchemy as sa
    except ImportError as exc:
        raise LoaderError(
            "SQLAlchemy is not importable by %s (Python %s): %s. Install it into that interpreter "
            "(%s -m pip install SQLAlchemy) or set JETBASE_PYTHON to a Python that has it"
            % (sys.executable, sys.version.split()[0], exc, sys.executable)
        )
    version = tuple(int(p) if p.isdigit() else 0 for p in sa.__version__.split(".")[:2])
    if version < (1, 4):
        raise LoaderError("SQLAlchemy %s is too old: make-migrations needs 1.4 or newer" % sa.__version__)
    try:
        from sqlalchemy.orm import registry as orm_registry
    except ImportError:
        orm_registry = None

    project_dir = os.path.abspath(project_dir)
    if project_dir not in sys.path:
        sys.path.insert(0, project_dir)
    parent = os.path.dirname(project_dir)
    if parent not in sys.path:
        sys.path.append(parent)

    files = collect_files(paths)
    modules = []  # [(name, module, file)]
    finder = SameFileFinder(roots)
    sys.meta_path.insert(0, finder)
    current = None
    try:
        for index, path in enumerate(files):
            current = path
            name, module = import_model(path, index, warn)
            if all(m[1] is not module for m in modules):
                modules.append((name, module, path))
    except LoaderError:
        raise
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        file, line = locate(exc, roots)
        raise LoaderError(describe(exc), file or current, line)
    finally:
        sys.meta_path.remove(finder)

    ours = [(name, module) for name, module, _ in modules]
    libraries = library_dirs()
    others = [
        (name, module)
        for name, module in list(sys.modules.items())
        if module is not None
        and all(module is not m for _, m in ours)
        and user_file(getattr(module, "__file__", None), roots, libraries)
    ]
    found = Found(sa, orm_registry, ours + others)
    for name, module, _ in modules:
        found.scan(name, module)
    module_files = dict((name, path) for name, _, path in modules)
    mds = [(md, label) for md, label in found.metadata if len(md.tables)]
    if not mds:
        raise LoaderError("no SQLAlchemy tables found in %s" % ", ".join(paths))

    def owner(table, label):
        own = found.owner.get(id(table))
        return own if own is not None else (label.rsplit(".", 1)[0], None)

    def place(table, label):
        """(file, line) of the code that defines a table, for errors about it."""
        module_name, cls = owner(table, label)
        module = sys.modules.get(module_name)
        file = module_files.get(module_name) or getattr(module, "__file__", None)
        line = None
        if cls is not None:
            try:
                line = inspect.getsourcelines(cls)[1]
            except Exception:
                line = None
        return file, line

    labels = {}  # table key -> (label, table)
    for md, label in mds:
        for key, table in md.tables.items():
            if key in labels:
                other_label, other = labels[key]
                file, line = place(table, label)
                raise LoaderError(
                    "table %s is defined by two MetaData objects: %s (module %s) and %s (module %s)"
                    % (key, other_label, owner(other, other_label)[0], label, owner(table, label)[0]),
                    file,
                    line,
                )
            labels[key] = (label, table)

    context = {"table": None}
    try:
        ddl, dialect = create_all_ddl(sa, [md for md, _ in mds], DIALECT_URLS[dialect_name], context)
        describer = Describer(sa, dialect)
        tables = []
        for md, label in mds:
            for table in md.tables.values():
                context["table"] = table
                tables.append(describer.table(table, owner(table, label)[0]))
        context["table"] = None
        enums = describer.enums([t for md, _ in mds for t in md.tables.values()])
    except LoaderError:
        raise
    except Exception as exc:
        table = context["table"]
        file, line = locate(exc, roots)
        message = describe(exc)
        if table is not None and getattr(table, "fullname", None):
            label = labels.get(table.key, (None, None))[0] or ""
            if file is None:
                file, line = place(table, label)
            if "'%s'" % table.name not in message:
                message = "table %s: %s" % (table.fullname, message)
        raise LoaderError(message, file, line)

    for md, _ in mds:
        for table in md.tables.values():
            if dialect_name == "sqlite" and table.schema:
                warn(
                    "table %s is in schema %s: SQLite has no schemas, only attached databases "
                    "(the DDL names %s)" % (table.name, table.schema, table.fullname)
                )
            for col in table.columns:
                if col.default is not None and not isinstance(col.default, sa.Sequence) and col.server_default is None:
                    warn(
                        "%s.%s has a Python-side default only; the database gets no DEFAULT"
                        % (table.fullname, col.name)
                    )

    return {
        "sqlalchemy": sa.__version__,
        "dialect": dialect_name,
        "modules": [name for name, _, _ in modules],
        "files": [path for _, _, path in modules],
        "metadata": [{"found_in": label, "tables": list(md.tables.keys())} for md, label in mds],
        "ddl": ddl,
        "tables": tables,
        "enums": enums,
    }


def main():
    # The JSON goes to the real stdout, kept aside; everything else that writes to stdout while
    # the models load (print(), a C library on fd 1, sys.__stdout__) lands on stderr.
    sys.stdout.flush()
    real_stdout = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    # Importing the models must not leave __pycache__ folders in the user's project.
    sys.dont_write_bytecode = True

    messages = []

    def warn(message):
        if message not in messages:
            messages.append(message)

    try:
        try:
            args = json.loads(sys.argv[1])
        except (IndexError, ValueError) as exc:
            raise LoaderError("the model loader takes one JSON argument: %s" % exc)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            result = load(args, warn)
        sa_warning = getattr(sys.modules.get("sqlalchemy.exc"), "SAWarning", None)
        for w in caught:
            if sa_warning is not None and issubclass(w.category, sa_warning):
                warn("%s: %s" % (w.category.__name__, w.message))
            else:
                sys.stderr.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno))
        result["warnings"] = messages
    except LoaderError as exc:
        result = {"error": exc.message, "file": exc.file, "line": exc.line}
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        traceback.print_exc()
        result = {"error": "the model loader failed: %s" % describe(exc), "file": None, "line": None}

    out = os.fdopen(real_stdout, "w", encoding="utf-8")
    out.write(json.dumps(result, ensure_ascii=False, default=str))
    out.write("\n")
    out.flush()
    try:
        sys.stderr.flush()
        sys.__stdout__.flush()
    except Exception:
        pass
    # Threads or atexit hooks that the models started must not keep jetbase waiting.
    os._exit(0)


if __name__ == "__main__":
    main()
