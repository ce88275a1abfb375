"""The README's first minutes, by copy and paste: its shell blocks marked `<!-- readme-test -->` run as
written, in one shell, with the AWS CLI, against `ostiary serve` started in the same folder as the README
says (only the port differs: a free one instead of 4566)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import Server, free_port, stop_server, wait_for_port

README = Path(__file__).parents[2] / "README.md"
_BLOCK = re.compile(r"<!-- readme-test -->\n```bash\n(.*?)```", re.S)


def _blocks() -> list[str]:
    return _BLOCK.findall(README.read_text())


def _environment(home: Path, port: int) -> dict[str, str]:
    """A new user's shell: no AWS or Ostiary variables, the installed commands (ostiary, aws) on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OSTIARY_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(home)
    env["OSTIARY_PORT"] = str(port)
    return env


def test_the_readme_has_its_first_minutes_blocks() -> None:
    blocks = _blocks()
    assert len(blocks) == 3
    assert blocks[0].startswith('eval "$(ostiary root-credentials)"')


def test_the_first_minutes_work_by_copy_and_paste(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    env = _environment(home, port)
    log = tmp_path / "data" / "server.log"
    log.parent.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "ostiary", "serve"],  # as `ostiary serve` in this folder
        cwd=tmp_path,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    server = Server(f"http://127.0.0.1:{port}", "sqlite", tmp_path / "data", "", process)
    try:
        wait_for_port(port, process, log)
        script = "set -euo pipefail\n" + "\n".join(_blocks()).replace("127.0.0.1:4566", f"127.0.0.1:{port}")
        done = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
        )
    finally:
        stop_server(server)
    assert done.returncode == 0, done.stderr
    outputs = _json_documents(done.stdout)
    account = json.loads((tmp_path / "data" / "root-credentials.json").read_text())["AccountId"]
    assert outputs[0]["User"]["UserName"] == "alice"  # aws iam create-user
    assert outputs[1]["Arn"] == f"arn:aws:iam::{account}:root"  # aws sts get-caller-identity
    assert [u["UserName"] for u in outputs[2]["Users"]] == ["alice"]  # through the profile
    assert outputs[3]["Role"]["RoleName"] == "TableWriter"
    assert outputs[4]["Arn"].startswith(f"arn:aws:sts::{account}:assumed-role/TableWriter/")
    assert "profile `ostiary` written" in done.stdout


def _json_documents(text: str) -> list[dict[str, object]]:
    """The JSON objects the AWS CLI printed, in order (other lines skipped)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (start := text.find("{", at)) != -1:
        document, at = decoder.raw_decode(text, start)
        found.append(document)
    return found


def test_the_readmes_links_resolve_inside_the_project() -> None:
    text = README.read_text()
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert "docs/eval-format.md" in links
    for link in links:
        if not link.startswith("http"):
            assert (README.parent / link).is_file(), link
            assert (README.parent / link).resolve().is_relative_to(README.parent), link
