"""Layering and naming rules of STYLE.md, checked on the source by AST."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "ostiary"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(folder: str = "") -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("policy"), ids=str)
def test_policy_imports_only_stdlib_and_itself(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        assert top == "ostiary" and name.startswith("ostiary.policy") or top in _stdlib(), name


@pytest.mark.parametrize("path", _modules(), ids=str)
def test_sqlalchemy_only_in_store(path: Path) -> None:
    if "store" in path.relative_to(ROOT).parts:
        return
    assert not any(n.split(".")[0] == "sqlalchemy" for n in _imports(path)), path


@pytest.mark.parametrize("path", _modules("protocol"), ids=str)
def test_protocol_never_sees_the_store(path: Path) -> None:
    assert not any(n.startswith(("ostiary.store", "ostiary.services")) for n in _imports(path))


@pytest.mark.parametrize("path", _modules("services"), ids=str)
def test_services_never_see_http(path: Path) -> None:
    bad = ("ostiary.protocol", "ostiary.app", "uvicorn", "starlette")
    assert not any(n.startswith(bad) for n in _imports(path)), path


@pytest.mark.parametrize("path", _modules("auth"), ids=str)
def test_auth_never_imports_services(path: Path) -> None:
    assert not any(n.startswith("ostiary.services") for n in _imports(path))


def test_no_bucket_modules() -> None:
    names = {p.stem for p in _modules()}
    assert not names & {"utils", "helpers", "common", "misc"}


def _stdlib() -> frozenset[str]:
    import sys

    return frozenset(sys.stdlib_module_names) | {"__future__"}


def test_every_setting_is_documented_and_is_a_serve_flag() -> None:
    from click.testing import CliRunner

    from ostiary.cli import main
    from ostiary.settings import SETTINGS

    readme = (ROOT.parent / "README.md").read_text()
    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    for setting in SETTINGS:
        flag = "--" + setting.name.replace("_", "-")
        if setting.name == "region":
            continue  # not a flag: ARNs that carry a region use it
        assert f"`{flag}`" in readme and f"`{setting.env}`" in readme, setting.name
        assert flag in help_text, setting.name


def _handlers() -> list[tuple[str, str]]:
    from ostiary import services

    return services.implemented()


@pytest.mark.parametrize(("service", "operation"), _handlers())
def test_handler_takes_exactly_the_models_members(service: str, operation: str) -> None:
    import inspect

    from botocore import xform_name

    from ostiary import services
    from ostiary.protocol import models

    handler = services.handler_for(service, operation)
    assert handler is not None
    model = models.service(service).model  # the model served, whatever botocore is installed
    shape = model.operation_model(operation).input_shape
    ignored = services.IGNORED_MEMBERS.get((service, operation), frozenset())
    assert ignored <= set(shape.members if shape else {}), "an ignored member the model does not have"
    members = {xform_name(m) for m in (shape.members if shape else {}) if m not in ignored}
    parameters = set(inspect.signature(handler).parameters) - {"ctx"}
    assert parameters == members


def test_every_ignored_member_belongs_to_an_implemented_operation() -> None:
    from ostiary import services

    assert set(services.IGNORED_MEMBERS) <= set(services.implemented())
