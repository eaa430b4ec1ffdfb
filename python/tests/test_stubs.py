"""The type stubs (cocola/_native.pyi) describe what the module really has."""

import ast
import inspect
from pathlib import Path

import cocola
from cocola import _native

STUBS = Path(cocola.__file__).with_name("_native.pyi")


def stub_tree():
    return ast.parse(STUBS.read_text())


def test_stubs_ship_with_the_package():
    assert STUBS.is_file() and STUBS.with_name("py.typed").is_file()


def test_every_public_name_is_typed_and_exists():
    tree = stub_tree()
    typed = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    typed |= {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)}
    assert set(cocola.__all__) <= typed | {"__version__"}
    for name in typed:
        assert hasattr(_native, name), f"{name} is in the stubs but not in the module"


def test_class_members_match():
    for node in stub_tree().body:
        if isinstance(node, ast.ClassDef) and node.name in ("Model", "Ranking", "Score"):
            cls = getattr(_native, node.name)
            typed = {n.name for n in node.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")}
            public = {n for n in dir(cls) if not n.startswith("_")}
            assert typed == public, f"{node.name}: stubs {sorted(typed)} vs module {sorted(public)}"
            for method in (n for n in node.body if isinstance(n, ast.FunctionDef)):
                is_property = any(getattr(d, "id", None) == "property" for d in method.decorator_list)
                checked = not method.name.startswith("_") or method.name == "__init__"
                if checked and not is_property:
                    if method.name == "__init__":
                        runtime = list(inspect.signature(cls).parameters)
                    else:
                        runtime = list(inspect.signature(getattr(cls, method.name)).parameters)[1:]
                    stub = [a.arg for a in method.args.args + method.args.kwonlyargs][1:]
                    assert runtime == stub, f"{node.name}.{method.name}: {runtime} vs stubs {stub}"


def test_function_parameters_match():
    for node in stub_tree().body:
        if isinstance(node, ast.FunctionDef):
            runtime = inspect.signature(getattr(_native, node.name))
            stub = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
            assert list(runtime.parameters) == stub, node.name


def test_everything_public_has_a_docstring():
    for name in cocola.__all__:
        obj = getattr(cocola, name)
        if inspect.isclass(obj) or callable(obj):
            assert obj.__doc__ and obj.__doc__.strip(), name
    for cls in (cocola.Model, cocola.Ranking, cocola.Score):
        for member in dir(cls):
            if not member.startswith("_"):
                assert getattr(cls, member).__doc__, f"{cls.__name__}.{member}"
