"""The rendered GitHub workflows and the template's own: linted and hardened.

Every answer set below is rendered once; its workflows must pass zizmor
(offline), the bundled JSON schemas and actionlint with shellcheck, and the
repository's own rules: OIDC instead of keys, least permissions, pinned
actions, no account ids or secrets typed into a workflow.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TEMPLATE_ROOT, Render, require_tool

ANSWER_SETS: dict[str, dict[str, object]] = {
    "defaults": {},
    "multi_account": {
        "multi_account": True,
        "staging_account_id": "210987654321",
        "production_account_id": "345678901234",
        "aws_region": "eu-central-1",
    },
    "instance_endpoint": {"endpoint_kind": "instance"},
    "service_catalog": {"service_catalog_enabled": True},
}
ACCOUNT_IDS = ("123456789012", "210987654321", "345678901234")

RENDERED_WORKFLOWS = {
    "ci.yml",
    "model-build.yml",
    "model-deploy.yml",
    "infra.yml",
    "cleanup.yml",
    "template-update.yml",
}
TEMPLATE_GITHUB = TEMPLATE_ROOT / "template" / ".github"
OWN_WORKFLOWS = TEMPLATE_ROOT / ".github" / "workflows"

PINNED_USES = re.compile(
    r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+\s*$"
)
SECRET_PATTERNS = {
    "access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "secret key input": re.compile(r"aws-(?:secret-)?access-key|aws_secret_access_key"),
    "secrets context": re.compile(r"\bsecrets\."),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "12-digit number": re.compile(r"(?<!\d)\d{12}(?!\d)"),
}


@pytest.fixture(scope="module", params=sorted(ANSWER_SETS))
def project(request: pytest.FixtureRequest, render: Render) -> Path:
    """A project rendered with one of the answer sets."""
    return render(**ANSWER_SETS[request.param])


def workflow_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.yml"))


def load(path: Path) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True; map it back.
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in content:
        content["on"] = content.pop(True)
    return content


def run_linter(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def steps_using(workflow: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [
        step
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if step.get("uses", "").startswith(f"{action}@")
    ]


# ------------------------------------------------------------------ linters ---


def lint_with_zizmor(directory: Path) -> None:
    zizmor = require_tool("zizmor")
    result = run_linter(
        zizmor, "--offline", "--min-severity", "medium", str(directory), cwd=directory
    )
    assert result.returncode == 0, result.stdout + result.stderr


def lint_with_schemas(directory: Path) -> None:
    checker = require_tool("check-jsonschema")
    workflows = [str(path) for path in workflow_files(directory / "workflows")]
    result = run_linter(
        checker,
        "--builtin-schema",
        "vendor.github-workflows",
        *workflows,
        cwd=directory,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    dependabot = directory / "dependabot.yml"
    if dependabot.exists():
        result = run_linter(
            checker,
            "--builtin-schema",
            "vendor.dependabot",
            str(dependabot),
            cwd=directory,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def lint_with_actionlint(directory: Path) -> None:
    actionlint = require_tool("actionlint")
    shellcheck = require_tool("shellcheck")
    workflows = [str(path) for path in workflow_files(directory / "workflows")]
    result = run_linter(
        actionlint, "-shellcheck", shellcheck, "-no-color", *workflows, cwd=directory
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_workflows_pass_zizmor(project: Path) -> None:
    lint_with_zizmor(project / ".github")


def test_rendered_workflows_match_the_github_schemas(project: Path) -> None:
    lint_with_schemas(project / ".github")


def test_rendered_workflows_pass_actionlint_and_shellcheck(project: Path) -> None:
    lint_with_actionlint(project / ".github")


def test_template_repository_workflows_pass_every_linter() -> None:
    lint_with_zizmor(OWN_WORKFLOWS.parent)
    lint_with_schemas(OWN_WORKFLOWS.parent)
    lint_with_actionlint(OWN_WORKFLOWS.parent)


def test_zizmor_reports_an_unpinned_action(tmp_path: Path) -> None:
    # Guards the guard: the linter must fail on a workflow that breaks the rules.
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
    )
    zizmor = require_tool("zizmor")
    result = run_linter(
        zizmor, "--offline", "--min-severity", "medium", str(workflows), cwd=tmp_path
    )
    assert result.returncode != 0
    assert "unpinned-uses" in result.stdout


# -------------------------------------------------------------- repo rules ---


def check_hardening(directory: Path) -> None:
    """The rules every workflow follows, rendered or the template's own."""
    for path in workflow_files(directory):
        text = path.read_text(encoding="utf-8")
        workflow = load(path)
        where = path.name

        assert workflow.get("permissions") == {}, f"{where}: top-level permissions"
        assert "concurrency" in workflow, f"{where}: no concurrency"
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{where}: job {name} has no permissions"
            assert "timeout-minutes" in job, f"{where}: job {name} has no timeout"
            for step in job.get("steps", []):
                assert "${{" not in step.get("run", ""), (
                    f"{where}: {name} expands an expression inside a script; "
                    "pass it through env"
                )
        for line in text.splitlines():
            if re.match(r"^\s*[a-z-]+: (?:read|write)\b", line):
                assert "# why:" in line, f"{where}: permission without a reason: {line}"
            if re.match(r"^\s*(?:-\s+)?uses:", line):
                assert PINNED_USES.match(line), f"{where}: unpinned action: {line}"
        for step in steps_using(workflow, "actions/checkout"):
            assert step["with"]["persist-credentials"] is False, where
        for label, pattern in SECRET_PATTERNS.items():
            assert not pattern.search(text), f"{where}: contains a {label}"


def test_rendered_workflows_follow_the_hardening_rules(project: Path) -> None:
    check_hardening(project / ".github" / "workflows")


def test_template_repository_workflows_follow_the_hardening_rules() -> None:
    check_hardening(OWN_WORKFLOWS)


GOOD_WORKFLOW = """\
name: x
on: push
permissions: {}
concurrency: x
jobs:
  x:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    permissions:
      contents: read # why: check out
    steps:
      - run: echo hi
"""


def test_hardening_rules_accept_a_good_workflow(tmp_path: Path) -> None:
    (tmp_path / "good.yml").write_text(GOOD_WORKFLOW)
    check_hardening(tmp_path)


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ("echo hi", "echo ${{ github.head_ref }}", "inside a script"),
        # Built at run time so no key-shaped literal sits in the tree.
        ("echo hi", "echo " + "AKIA" + "ABCDEFGHIJKLMNOP", "access key id"),
        ("echo hi", "aws s3 ls --account 123456789012", "12-digit number"),
        ("contents: read # why: check out", "contents: read", "without a reason"),
        ("permissions: {}\n", "", "top-level permissions"),
        ("- run: echo hi", "- uses: actions/checkout@v4", "unpinned action"),
    ],
)
def test_hardening_rules_reject_a_broken_workflow(
    tmp_path: Path, replace: str, by: str, message: str
) -> None:
    (tmp_path / "bad.yml").write_text(GOOD_WORKFLOW.replace(replace, by, 1))
    with pytest.raises(AssertionError, match=message):
        check_hardening(tmp_path)


def test_rendered_workflows_are_the_expected_set(project: Path) -> None:
    found = {path.name for path in workflow_files(project / ".github" / "workflows")}
    assert found == RENDERED_WORKFLOWS


def test_rendered_workflows_hold_no_jinja_or_answers(project: Path) -> None:
    for path in [*workflow_files(project / ".github" / "workflows")]:
        text = re.sub(r"\$\{\{.*?\}\}", "", path.read_text(encoding="utf-8"))
        assert "{{" not in text and "{%" not in text, path.name
        for account_id in ACCOUNT_IDS:
            assert account_id not in text, path.name


def test_template_sources_wrap_every_expression_in_raw() -> None:
    for path in sorted(TEMPLATE_GITHUB.rglob("*.jinja")):
        text = path.read_text(encoding="utf-8")
        outside = re.sub(r"\{% raw %\}.*?\{% endraw %\}", "", text, flags=re.DOTALL)
        assert "${{" not in outside, f"{path.name}: an expression outside raw"


def test_aws_access_uses_oidc_and_role_variables(project: Path) -> None:
    for path in workflow_files(project / ".github" / "workflows"):
        workflow = load(path)
        for name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                if not step.get("uses", "").startswith("aws-actions/"):
                    continue
                assert job["permissions"].get("id-token") == "write", (path.name, name)
                role = step["with"]["role-to-assume"]
                assert role in ("${{ vars.AWS_ROLE_ARN }}", "${{ matrix.role }}")
                assert step["with"]["aws-region"] == "${{ env.AWS_REGION }}"
                assert "aws-access-key-id" not in step["with"]


def test_region_and_names_come_from_the_answers(
    render: Render, default_project: Path
) -> None:
    default = load(default_project / ".github" / "workflows" / "model-build.yml")
    assert default["env"]["AWS_REGION"] == "eu-west-1"
    assert default["env"]["ECR_REPOSITORY"] == "heart-disease-risk"

    project = render(**ANSWER_SETS["multi_account"])
    deploy = load(project / ".github" / "workflows" / "model-deploy.yml")
    assert deploy["env"]["AWS_REGION"] == "eu-central-1"
    assert deploy["env"]["MODEL_PACKAGE_GROUP"] == "heart-disease-risk-models"
    smoke = next(
        step
        for step in deploy["jobs"]["production"]["steps"]
        if step["name"] == "Smoke test the endpoint"
    )
    assert smoke["env"]["ENDPOINT_NAME"] == "heart-disease-risk-production"


def test_production_deploys_the_package_that_passed_staging(
    default_project: Path,
) -> None:
    deploy = load(default_project / ".github" / "workflows" / "model-deploy.yml")
    staging, production = deploy["jobs"]["staging"], deploy["jobs"]["production"]

    assert staging["needs"] == ["resolve"]
    assert production["needs"] == ["staging"]
    assert staging["environment"]["name"] == "staging"
    assert production["environment"]["name"] == "production"
    assert staging["outputs"]["package_arn"] == (
        "${{ steps.deploy.outputs.package_arn }}"
    )
    production_deploy = next(s for s in production["steps"] if s.get("id") == "deploy")
    assert production_deploy["env"]["PACKAGE_ARN"] == (
        "${{ needs.staging.outputs.package_arn }}"
    )
    assert "--stage production --package-arn" in production_deploy["run"]
    assert set(deploy["on"]) == {"workflow_dispatch", "repository_dispatch"}


def test_infra_plans_pull_requests_and_applies_in_stage_order(
    default_project: Path,
) -> None:
    infra = load(default_project / ".github" / "workflows" / "infra.yml")
    jobs = infra["jobs"]

    assert jobs["plan"]["if"].startswith("github.event_name == 'pull_request' &&")
    assert "head.repo.full_name == github.repository" in jobs["plan"]["if"]
    stages = [entry["stage"] for entry in jobs["plan"]["strategy"]["matrix"]["include"]]
    assert stages == ["dev", "staging", "production"]
    assert jobs["apply-staging"]["needs"] == ["apply-dev"]
    assert jobs["apply-production"]["needs"] == ["apply-staging"]
    assert jobs["apply-production"]["environment"] == "production"
    plan_script = jobs["plan"]["steps"][-1]["run"]
    assert "GITHUB_STEP_SUMMARY" in plan_script and "-lock=false" in plan_script
    assert "-backend-config=backend.hcl" in plan_script
    assert "-backend-config=backend.hcl" in jobs["apply-dev"]["steps"][-1]["run"]


def test_template_update_keeps_conflicts_inline(default_project: Path) -> None:
    update = load(default_project / ".github" / "workflows" / "template-update.yml")
    assert "schedule" in update["on"]
    script = next(
        s for s in update["jobs"]["update"]["steps"] if s.get("id") == "update"
    )
    assert "copier update --defaults --trust --conflict inline" in script["run"]


def test_ci_packages_seed_code_only_with_service_catalog(render: Render) -> None:
    def step_names(project: Path) -> list[str]:
        ci = load(project / ".github" / "workflows" / "ci.yml")
        return [step["name"] for step in ci["jobs"]["test"]["steps"]]

    seed = "Package the Service Catalog seed code"
    assert seed in step_names(render(**ANSWER_SETS["service_catalog"]))
    assert seed not in step_names(render())


def test_dependabot_updates_actions_and_python(default_project: Path) -> None:
    config = yaml.safe_load(
        (default_project / ".github" / "dependabot.yml").read_text()
    )
    ecosystems = {update["package-ecosystem"] for update in config["updates"]}
    assert {"github-actions", "pip"} <= ecosystems


# ------------------------------------------------------ scripts in workflows ---


def step_script(project: Path, workflow: str, job: str, step_id_or_name: str) -> str:
    steps = load(project / ".github" / "workflows" / workflow)["jobs"][job]["steps"]
    step = next(s for s in steps if step_id_or_name in (s.get("id"), s.get("name")))
    return step["run"]


def run_script(
    script: str, tmp_path: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    output = tmp_path / "github_output"
    output.touch()
    environment = {
        "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "MODEL_PACKAGE_GROUP": "heart-disease-risk-models",
        **env,
    }
    return subprocess.run(
        ["bash", "-e", "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def fake_aws(tmp_path: Path, approval_status: str, newest: str = "None") -> None:
    """An `aws` command on PATH that answers the two registry calls offline."""
    script = tmp_path / "aws"
    script.write_text(
        "#!/usr/bin/env bash\n"
        'case "$2" in\n'
        f"  describe-model-package) echo {approval_status} ;;\n"
        f"  list-model-packages) echo {newest} ;;\n"
        "  *) exit 2 ;;\n"
        "esac\n"
    )
    script.chmod(0o755)


PACKAGE_ARN = (
    "arn:aws:sagemaker:eu-west-1:000000000000:model-package/heart-disease-risk-models/3"
)


def test_deploy_resolves_an_approved_package(
    default_project: Path, tmp_path: Path
) -> None:
    script = step_script(default_project, "model-deploy.yml", "resolve", "resolve")
    fake_aws(tmp_path, "Approved")

    result = run_script(script, tmp_path, {"REQUESTED_ARN": PACKAGE_ARN})

    assert result.returncode == 0, result.stdout + result.stderr
    output = (tmp_path / "github_output").read_text()
    assert output == f"package_arn={PACKAGE_ARN}\n"


def test_deploy_picks_the_newest_approved_package_when_none_is_given(
    default_project: Path, tmp_path: Path
) -> None:
    script = step_script(default_project, "model-deploy.yml", "resolve", "resolve")
    fake_aws(tmp_path, "Approved", newest=PACKAGE_ARN)

    result = run_script(script, tmp_path, {"REQUESTED_ARN": ""})

    assert result.returncode == 0, result.stdout + result.stderr
    assert PACKAGE_ARN in (tmp_path / "github_output").read_text()


@pytest.mark.parametrize(
    ("requested", "status", "message"),
    [
        (
            PACKAGE_ARN,
            "PendingManualApproval",
            "is PendingManualApproval, not Approved",
        ),
        ("arn:aws:s3:::bucket; rm -rf /", "Approved", "is not a versioned model"),
        ("", "Approved", "no Approved model package"),
    ],
)
def test_deploy_refuses_a_package_it_should_not_deploy(
    default_project: Path, tmp_path: Path, requested: str, status: str, message: str
) -> None:
    script = step_script(default_project, "model-deploy.yml", "resolve", "resolve")
    fake_aws(tmp_path, status)

    result = run_script(script, tmp_path, {"REQUESTED_ARN": requested})

    assert result.returncode == 1
    assert message in result.stdout
    assert (tmp_path / "github_output").read_text() == ""


@pytest.mark.parametrize(
    ("confirm", "code"),
    [("delete staging", 0), ("staging", 1), ("delete production", 1), ("", 1)],
)
def test_cleanup_needs_the_typed_confirmation(
    default_project: Path, tmp_path: Path, confirm: str, code: int
) -> None:
    script = step_script(
        default_project,
        "cleanup.yml",
        "confirm",
        "Compare the typed confirmation with the stage",
    )

    result = run_script(script, tmp_path, {"STAGE": "staging", "CONFIRM": confirm})

    assert result.returncode == code, result.stdout
