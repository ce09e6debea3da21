"""What one Python module says about agents, read from its syntax tree (never executed).

The visitor resolves names through the module's imports, so ``from crewai
import Agent as A; A(...)`` is seen as a call to ``crewai.Agent``. It records
calls with their keyword arguments and positional names, decorated functions,
classes with their bases, and the risky operations a tool body performs
(shell, exec, file writes, outbound HTTP with or without a timeout, e-mail,
payments, SQL). Only structure is kept: no source text, no string values
except the few that are configuration (model names, human-input modes).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from .reference_counting import ModuleCount, count_module

SECRET_PATTERNS = (
    re.compile(r"^sk-[A-Za-z0-9_-]{20,}$"),  # OpenAI-style
    re.compile(r"^sk-ant-[A-Za-z0-9_-]{20,}$"),  # Anthropic
    re.compile(r"^gh[pousr]_[A-Za-z0-9]{20,}$"),  # GitHub
    re.compile(r"^AKIA[0-9A-Z]{16}$"),  # AWS access key id
    re.compile(r"^xox[baprs]-[A-Za-z0-9-]{10,}$"),  # Slack
    re.compile(r"^gsk_[A-Za-z0-9]{20,}$"),  # Groq
)
_SECRET_NAMES = re.compile(r"(api_?key|secret|token|password)", re.I)

_HTTP_CALLS = {
    "requests.get",
    "requests.post",
    "requests.put",
    "requests.delete",
    "requests.patch",
    "requests.request",
    "httpx.get",
    "httpx.post",
    "urllib.request.urlopen",
}
_SHELL_CALLS = {
    "subprocess.run",
    "subprocess.call",
    "subprocess.Popen",
    "subprocess.check_output",
    "os.system",
    "os.popen",
}
_EXEC_CALLS = {"exec", "eval", "compile"}


@dataclass
class Call:
    name: str  # resolved dotted name, e.g. "crewai.Agent"
    target: str | None  # the variable it is assigned to, if any
    keywords: dict  # keyword → constant value, or "<expr>" / "<name:...>" / "<list:n>"
    arg_names: list  # names referenced in positional args and list arguments
    args: list  # positional args as simple values: constants, "<name:x>", "<expr>"
    list_kw: dict  # keyword → list of names inside a list literal (tools=[a, b])
    line: int
    function: str | None  # enclosing function
    klass: str | None = None  # enclosing class, also inside a method's nested functions
    nested: dict = field(default_factory=dict)  # keyword → resolved name of the call it is given (provider=X())
    arg_calls: list = field(default_factory=list)  # per positional arg: resolved name of the call it is, or None
    module: int = -1  # index of its module among the scanned modules (set by model.build_model)


@dataclass
class ModuleFacts:
    imports: set[str] = field(default_factory=set)  # top-level packages and full module paths
    calls: list[Call] = field(default_factory=list)
    decorated: list[tuple[str, str]] = field(default_factory=list)  # (decorator resolved name, function name)
    classes: list[tuple[str, list[str]]] = field(default_factory=list)  # (class name, resolved base names)
    function_ops: dict[str, set[str]] = field(default_factory=dict)  # function → risky operations in its body
    lists: dict[str, list[str]] = field(default_factory=dict)  # x = [a, b] → names
    handled: set[str] = field(default_factory=set)  # functions whose body has try/except
    secrets: int = 0
    env_vars: set[str] = field(default_factory=set)
    loc: int = 0
    strings: list[str] = field(default_factory=list)  # short configuration-like string constants (models)
    path: str = ""  # the module's path in the repository (set by the scanner; "" when unknown)
    imported_names: set[str] = field(default_factory=set)  # "module.name" of every `from module import name`
    decorated_methods: list[tuple[str, str, str]] = field(default_factory=list)  # (decorator, class, method)
    reference: ModuleCount = field(default_factory=ModuleCount)  # the reference CLI's reading of the same tree


def parse_module(source: bytes) -> ModuleFacts:
    """Facts of one module; raises SyntaxError/ValueError when it does not parse."""
    tree = ast.parse(_decode(source))
    visitor = _Visitor()
    visitor.visit(tree)
    visitor.facts.reference = count_module(tree)
    visitor.facts.loc = sum(1 for line in source.splitlines() if line.strip() and not line.lstrip().startswith(b"#"))
    return visitor.facts


def _decode(source: bytes) -> str:
    try:
        return source.decode("utf-8")
    except UnicodeDecodeError:
        return source.decode("latin-1")  # a legacy encoding: the structure still parses


class _Visitor(ast.NodeVisitor):
    def __init__(self):
        self.facts = ModuleFacts()
        self.aliases: dict[str, str] = {}
        self.function: str | None = None
        self.klass: str | None = None

    # imports -----------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.facts.imports.add(alias.name)
            self.aliases[alias.asname or alias.name.split(".")[0]] = (
                alias.name if alias.asname else alias.name.split(".")[0]
            )

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.level == 0:
            self.facts.imports.add(node.module)
            for alias in node.names:
                self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                self.facts.imported_names.add(f"{node.module}.{alias.name}")

    def resolve(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            return self.resolve(node.func)
        return None

    # definitions -----------------------------------------------------------------------
    def visit_FunctionDef(self, node) -> None:
        for dec in node.decorator_list:
            name = self.resolve(dec)
            if name:
                self.facts.decorated.append((name, node.name))
                if self.klass and self.function == self.klass:
                    self.facts.decorated_methods.append((name, self.klass, node.name))
        # Methods are named Class.method so that each tool class keeps its own _run.
        qualified = f"{self.klass}.{node.name}" if self.klass and self.function == self.klass else node.name
        outer, self.function = self.function, qualified
        self.facts.function_ops.setdefault(qualified, set())
        if any(isinstance(n, ast.Try) for n in ast.walk(node)):
            self.facts.handled.add(qualified)
        self.generic_visit(node)
        self.function = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.facts.classes.append((node.name, [b for b in (self.resolve(x) for x in node.bases) if b]))
        for dec in node.decorator_list:
            name = self.resolve(dec)
            if name:
                self.facts.decorated.append((name, node.name))
        outer, outer_class = self.function, self.klass
        self.function = self.klass = node.name
        self.facts.function_ops.setdefault(node.name, set())
        self.generic_visit(node)
        self.function, self.klass = outer, outer_class

    # statements --------------------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        target = node.targets[0].id if isinstance(node.targets[0], ast.Name) else None
        if isinstance(node.value, ast.Call) and target:
            self._record_call(node.value, target)
            for child in ast.iter_child_nodes(node.value):
                self.visit(child)
            return
        if target and isinstance(node.value, (ast.List, ast.Tuple)):
            self.facts.lists[target] = [n for n in (_name_of(e) for e in node.value.elts) if n]
        if target and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            value = node.value.value  # a pattern match is counted by visit_Constant; here: KEY = "..." by name
            if not _looks_secret(value) and _SECRET_NAMES.search(target) and len(value) >= 20 and " " not in value:
                self.facts.secrets += 1
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self._record_call(node, None)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            if _looks_secret(node.value):
                self.facts.secrets += 1
            elif 2 < len(node.value) < 60 and "\n" not in node.value and " " not in node.value:
                self.facts.strings.append(node.value)

    def _record_call(self, node: ast.Call, target: str | None) -> None:
        name = self.resolve(node.func)
        if not name:
            return
        keywords, list_kw = {}, {}
        for kw in node.keywords:
            if kw.arg is None:
                continue
            keywords[kw.arg] = _value(kw.value)
            if isinstance(kw.value, (ast.List, ast.Tuple)):
                list_kw[kw.arg] = [_name_of(e) for e in kw.value.elts if _name_of(e)]
        arg_names = []
        for arg in node.args:
            if isinstance(arg, (ast.List, ast.Tuple)):
                arg_names += [_name_of(e) for e in arg.elts if _name_of(e)]
            elif _name_of(arg):
                arg_names.append(_name_of(arg))
        args = [_value(a) for a in node.args]
        nested = {
            kw.arg: n
            for kw in node.keywords
            if kw.arg and isinstance(kw.value, ast.Call) and (n := self.resolve(kw.value.func))
        }
        arg_calls = [self.resolve(a.func) if isinstance(a, ast.Call) else None for a in node.args]
        self.facts.calls.append(
            Call(
                name,
                target,
                keywords,
                arg_names,
                args,
                list_kw,
                node.lineno,
                self.function,
                self.klass,
                nested,
                arg_calls,
            )
        )
        self._risky(name, node, keywords)

    def _risky(self, name: str, node: ast.Call, keywords: dict) -> None:
        ops = set()
        if name in _SHELL_CALLS:
            ops.add("shell")
        if name in _EXEC_CALLS:
            ops.add("exec")
        if name in _HTTP_CALLS:
            ops.add("http" if "timeout" in keywords else "http_no_timeout")
            if name.endswith(("post", "put", "delete", "patch")):
                ops.add("http_write")
        mode = (_open_mode(node) or "") if name == "open" else ""
        if name == "open" and any(c in mode for c in "wax"):
            ops.add("file_write")
        if name == "open" and not any(c in mode for c in "wax"):
            ops.add("file_read")
        if name.startswith("smtplib."):
            ops.add("email")
        if name.startswith("stripe."):
            ops.add("payment")
        if name.startswith("sqlite3.") or name.endswith(".execute"):
            ops.add("sql")
        if name in ("os.environ.get", "os.getenv"):
            const = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            if isinstance(const, str):
                self.facts.env_vars.add(const)
        if ops and self.function:
            self.facts.function_ops.setdefault(self.function, set()).update(ops)
        elif ops:
            self.facts.function_ops.setdefault("<module>", set()).update(ops)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if self.resolve(node.value) == "os.environ" and isinstance(node.slice, ast.Constant):
            self.facts.env_vars.add(str(node.slice.value))
        self.generic_visit(node)


def _open_mode(node: ast.Call) -> str | None:
    if len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
        return str(node.args[1].value)
    for kw in node.keywords:
        if kw.arg == "mode" and isinstance(kw.value, ast.Constant):
            return str(kw.value.value)
    return None


def _name_of(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        for kw in node.keywords:  # FunctionTool.from_defaults(fn=multiply) names the tool "multiply"
            if kw.arg == "fn" and isinstance(kw.value, (ast.Name, ast.Attribute)):
                return _name_of(kw.value)
        return _name_of(node.func)
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _value(node: ast.AST):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return f"<list:{len(node.elts)}>"
    if isinstance(node, ast.Name):
        return f"<name:{node.id}>"
    if isinstance(node, ast.Dict):
        return {(_value(k) if k is not None else "**"): _value(v) for k, v in zip(node.keys, node.values, strict=True)}
    return "<expr>"


def _looks_secret(value: str) -> bool:
    return any(p.match(value) for p in SECRET_PATTERNS)
