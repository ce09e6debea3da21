"""Throwaway (issue 33 research): re-count frameworks / agent_count / crew_count the way the reference
(stratum-cli 0.3.1, catalog §3 + its public source: stratum/graph/agents.py, parsers/agents.py,
parsers/langgraph_parser.py, parsers/langchain_parser.py, scanner.py) does, straight from the AST, and
compare with the reference pings and with the built-in scanner.

        .venv/bin/python docs/plans/issue33_recount.py [--builtin] [--gitignore] CORPUS...
"""
from __future__ import annotations

import ast
import fnmatch
import json
import os
import sys
from pathlib import Path

SKIP_DIRS = {".git", "node_modules", ".venv", "__pycache__", ".stratum"}
LABELS = [("crewai", "CrewAI"), ("crewai_tools", "CrewAI"), ("langgraph", "LangGraph"), ("langchain", "LangChain"),
          ("autogen", "AutoGen"), ("pydantic_ai", "PydanticAI"), ("llama_index", "LlamaIndex"),
          ("smolagents", "SmolAgents"), ("semantic_kernel", "Semantic Kernel"), ("agno", "Agno"),
          ("phidata", "Phidata")]
GENERIC = {"Agent": "CrewAI", "AgentExecutor": "LangChain", "AssistantAgent": "AutoGen", "UserProxyAgent": "AutoGen"}
LC_FACTORIES = {"create_react_agent", "create_openai_functions_agent", "create_tool_calling_agent",
                "create_openai_tools_agent", "create_structured_chat_agent", "create_json_chat_agent",
                "create_xml_agent", "initialize_agent"}


def _gitignore(root: Path) -> list[str]:
    try:
        return [l.strip() for l in (root / ".gitignore").read_text(errors="ignore").splitlines()
                if l.strip() and not l.strip().startswith("#")]
    except OSError:
        return []


def _ignored(rel: str, patterns) -> bool:
    for p in patterns:
        if p.endswith("/") and (rel.startswith(p.rstrip("/") + "/")):
            return True
        if fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(os.path.basename(rel.rstrip("/")), p):
            return True
    return False


def walk(root: Path, use_gitignore: bool):
    pats = _gitignore(root) if use_gitignore else []
    py, yml = [], []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS and
                         not _ignored(os.path.relpath(os.path.join(d, x), root) + "/", pats))
        for f in sorted(files):
            rel = os.path.relpath(os.path.join(d, f), root)
            if _ignored(rel, pats):
                continue
            if f.endswith(".py"):
                py.append(rel)
            elif f.endswith((".yaml", ".yml")):
                yml.append(rel)
    return py, yml


def name_of(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def labels_of(tree: ast.Module) -> set[str]:
    mods = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            mods |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            mods.add(node.module)
    return {label for m in mods for key, label in LABELS if m.startswith(key)}


def python_agents(tree: ast.Module, rel: str) -> list[tuple[str, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                (isinstance(d, ast.Name) and d.id == "agent") or (isinstance(d, ast.Attribute) and d.attr == "agent")
                for d in node.decorator_list):
            found.append((node.name, "CrewAI", rel, "@agent"))
    if found:
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (fn := name_of(node)) in GENERIC:
            name = fn
            for kw in node.keywords:
                if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                    name = kw.value.value
            found.append((name, GENERIC[fn], rel, fn))
    return found


def yaml_agents(root: Path, rel: str):
    import yaml
    try:
        doc = yaml.safe_load((root / rel).read_text(encoding="utf-8", errors="ignore"))
    except Exception:
        return []
    if not isinstance(doc, dict):
        return []
    return [(k, "CrewAI", rel, "yaml") for k, v in doc.items()
            if isinstance(v, dict) and any(x in v for x in ("role", "goal", "backstory", "tools"))]


def crewai_crews(tree, rel):
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and name_of(node) == "Crew":
            for kw in node.keywords:
                if kw.arg == "agents" and isinstance(kw.value, ast.List) and kw.value.elts:
                    out.append(("Crew()", rel, len(kw.value.elts)))
                    break
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
                (isinstance(d, ast.Name) and d.id == "CrewBase") or (isinstance(d, ast.Attribute) and d.attr == "CrewBase")
                or (isinstance(d, ast.Call) and name_of(d) == "CrewBase") for d in node.decorator_list):
            n = sum(1 for b in node.body if isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                (isinstance(d, ast.Name) and d.id == "agent") or (isinstance(d, ast.Attribute) and d.attr == "agent")
                or (isinstance(d, ast.Call) and name_of(d) == "agent") for d in b.decorator_list))
            if n:
                out.append(("@CrewBase", rel, n))
    return out


def langgraph(tree, rel):
    crews, agents = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and name_of(node.value) == "StateGraph":
            var = node.targets[0].id if isinstance(node.targets[0], ast.Name) else ""
            nodes = []
            for st in ast.walk(tree):
                call = st.value if isinstance(st, (ast.Expr, ast.Assign)) and isinstance(st.value, ast.Call) else None
                if call is None or not isinstance(call.func, ast.Attribute):
                    continue
                if isinstance(call.func.value, ast.Name) and call.func.value.id == var and call.func.attr == "add_node":
                    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
                        nodes.append(call.args[0].value)
            crews.append(("StateGraph", rel, len(nodes)))
            agents += [(n, "LangGraph", rel, "node") for n in nodes]
    return crews, agents


def langchain(tree, rel):
    agents = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            fn = name_of(node.value)
            var = node.targets[0].id if isinstance(node.targets[0], ast.Name) else ""
            if fn == "AgentExecutor":
                agents.append((var or "agent", "LangChain", rel, "lc:AgentExecutor"))
            elif fn in LC_FACTORIES:
                agents.append((var or fn, "LangChain", rel, f"lc:{fn}"))
    crews = [("lc-file", rel, len(agents))] if agents else []
    return crews, agents


def recount(root: Path, use_gitignore: bool = False) -> dict:
    py, yml = walk(root, use_gitignore)
    trees = {}
    for rel in py:
        try:
            trees[rel] = ast.parse((root / rel).read_text(encoding="utf-8", errors="ignore"))
        except (SyntaxError, ValueError):
            pass
    fws = set().union(*(labels_of(t) for t in trees.values())) if trees else set()
    defs = [a for rel in yml for a in yaml_agents(root, rel)]
    defs += [a for rel, t in trees.items() for a in python_agents(t, rel)]
    merged = {}
    for a in defs:
        merged.setdefault((a[0], a[1]), a)
    agents = list(merged.values())
    crews = []
    if "CrewAI" in fws:
        crews += [c for rel, t in trees.items() for c in crewai_crews(t, rel)]
    if "LangGraph" in fws:
        for rel, t in trees.items():
            c, a = langgraph(t, rel)
            crews += c
            agents += a
    if "LangChain" in fws:
        for rel, t in trees.items():
            c, a = langchain(t, rel)
            crews += c
            agents += a
    return {"frameworks": sorted(fws), "agent_count": len(agents), "crew_count": len(crews),
            "crew_size_distribution": sorted((c[2] for c in crews), reverse=True), "agents": agents, "crews": crews}


def main(argv):
    builtin = "--builtin" in argv
    use_gi = "--gitignore" in argv
    verbose = "-v" in argv
    corpora = [a for a in argv if not a.startswith("-")]
    if builtin:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project root
        from stratum_assets.scanner.engine import scan_repository
    totals = {"n": 0, "agents": 0, "crews": 0, "fw": 0, "sizes": 0}
    for corpus in corpora:
        for repo in sorted((Path(corpus) / "repos").iterdir()):
            ref = json.loads((Path(corpus) / "pings" / f"{repo.name}.json").read_text())
            ours = recount(repo, use_gi)
            b = scan_repository(repo, repo.name) if builtin else None
            ok = {k: ours[k] == ref[k] for k in ("frameworks", "agent_count", "crew_count", "crew_size_distribution")}
            totals["n"] += 1
            totals["agents"] += ok["agent_count"]
            totals["crews"] += ok["crew_count"]
            totals["fw"] += ok["frameworks"]
            totals["sizes"] += ok["crew_size_distribution"]
            line = (f"{repo.name:48} agents ref={ref['agent_count']:>3} recount={ours['agent_count']:>3}"
                    f"{'' if ok['agent_count'] else ' X'}"
                    f" | crews ref={ref['crew_count']:>3} recount={ours['crew_count']:>3}{'' if ok['crew_count'] else ' X'}"
                    f" | sizes {'=' if ok['crew_size_distribution'] else 'X ' + str(ref['crew_size_distribution']) + ' vs ' + str(ours['crew_size_distribution'])}"
                    f" | fw {'=' if ok['frameworks'] else 'X ' + str(ref['frameworks']) + ' vs ' + str(ours['frameworks'])}")
            if b is not None:
                line += f" | builtin agents={b['agent_count']} crews={b['crew_count']} fw={b['frameworks']}"
            print(line)
            if verbose:
                for a in ours["agents"]:
                    print("     agent", a)
                for c in ours["crews"]:
                    print("     crew ", c)
    print(totals)


if __name__ == "__main__":
    main(sys.argv[1:])


def deployment_signals(root: Path) -> dict:
    """Catalog §4: plain existence tests at the repository root only."""
    has = lambda *names: any((root / n).exists() for n in names)  # noqa: E731
    s = {"has_dockerfile": has("Dockerfile"),
         "has_ci_config": has(".github", ".gitlab-ci.yml", ".circleci", "Jenkinsfile"),
         "has_tests": has("tests", "test", "pytest.ini", "tox.ini"),
         "has_lockfile": has("poetry.lock", "Pipfile.lock", "uv.lock", "requirements.txt", "package-lock.json"),
         "has_env_example": has(".env.example", ".env.template", ".env.sample")}
    s["deployment_score"] = sum(s.values())
    return s
