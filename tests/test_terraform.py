"""The rendered Terraform: format, references, security checks, no literals.

Providers cannot be downloaded here, so `terraform validate` cannot run; these
tests run every check that works offline on every answer combination that
changes the Terraform.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import copier
import pytest
from conftest import TEMPLATE_ROOT, Render, require_tool

hcl2 = pytest.importorskip("hcl2")

ANSWER_SETS: dict[str, dict[str, object]] = {
    "defaults": {},
    "multi-account": {
        "multi_account": True,
        "staging_account_id": "234567890123",
        "production_account_id": "345678901234",
    },
    "instance-endpoint": {"endpoint_kind": "instance"},
    "service-catalog": {"service_catalog_enabled": True},
    "budget": {"monthly_budget_usd": 500},
    "mlflow": {"mlflow_tracking_enabled": True},
    "existing-role": {
        "sagemaker_role": "arn:aws:iam::123456789012:role/platform/existing-sagemaker"
    },
}
REGION = re.compile(r"\b(af|ap|ca|eu|il|me|mx|sa|us)-[a-z]+-[0-9]\b")
ACCOUNT_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
REFERENCE = re.compile(r"(?<![\w.\"-])(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z_][\w-]*)")


@pytest.fixture(scope="module", params=list(ANSWER_SETS), ids=list(ANSWER_SETS))
def project(request: pytest.FixtureRequest, render: Render) -> Path:
    return render(**ANSWER_SETS[request.param])


def terraform_roots(project: Path) -> list[Path]:
    roots = [project / "terraform"]
    if (project / "servicecatalog").is_dir():
        roots.append(project / "servicecatalog" / "terraform")
    return roots


def module_dirs(project: Path) -> list[Path]:
    return sorted(
        {
            path.parent
            for root in terraform_roots(project)
            for path in root.rglob("*.tf")
        }
    )


def unquote(label: str) -> str:
    return label.strip('"')


def parse_module(directory: Path) -> dict[str, Any]:
    """Declarations of one module: variables, outputs, locals, blocks by kind."""
    found: dict[str, Any] = {
        "variables": {},
        "outputs": {},
        "locals": set(),
        "resources": set(),
        "data": set(),
        "modules": {},
        "bodies": [],
    }
    for path in sorted(directory.glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get("variable", []):
            for name, body in block.items():
                found["variables"][unquote(name)] = body
        for block in parsed.get("output", []):
            for name, body in block.items():
                found["outputs"][unquote(name)] = body
                found["bodies"].append(body)
        for block in parsed.get("locals", []):
            found["locals"].update(key for key in block if not key.startswith("__"))
            found["bodies"].append(block)
        for kind, key in (("resource", "resources"), ("data", "data")):
            for block in parsed.get(kind, []):
                for type_, named in block.items():
                    for name, body in named.items():
                        found[key].add((unquote(type_), unquote(name)))
                        found["bodies"].append(body)
        for block in parsed.get("module", []):
            for name, body in block.items():
                found["modules"][unquote(name)] = body
                found["bodies"].append(body)
        for block in parsed.get("provider", []):
            found["bodies"].append(block)
        for block in parsed.get("variable", []):
            found["bodies"].extend(
                body.get("validation", []) for body in block.values()
            )
    return found


def expressions(module: dict[str, Any]) -> str:
    return json.dumps(module["bodies"])


def test_terraform_fmt_is_clean(project: Path, tmp_path: Path) -> None:
    empty = tmp_path / "terraformrc"
    empty.write_text("")
    for root in terraform_roots(project):
        completed = subprocess.run(
            ["terraform", "fmt", "-check", "-recursive", "-diff", str(root)],
            capture_output=True,
            text=True,
            env={**os.environ, "TF_CLI_CONFIG_FILE": str(empty)},
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr


def test_terraform_variables_declared_and_used(project: Path) -> None:
    for directory in module_dirs(project):
        module = parse_module(directory)
        text = expressions(module)
        used = set(re.findall(r"\bvar\.([A-Za-z_][\w-]*)", text))
        declared = set(module["variables"])
        assert used <= declared, f"{directory}: undeclared {sorted(used - declared)}"
        assert declared <= used, f"{directory}: unused {sorted(declared - used)}"


def test_terraform_variables_and_outputs_described_and_typed(project: Path) -> None:
    for directory in module_dirs(project):
        module = parse_module(directory)
        for name, body in module["variables"].items():
            assert body.get("description"), f"{directory}: variable {name}"
            assert "type" in body, f"{directory}: variable {name} has no type"
            assert "any" not in re.findall(r"\w+", str(body["type"])), name
        for name, body in module["outputs"].items():
            assert body.get("description"), f"{directory}: output {name}"


def test_terraform_references_point_to_declarations(project: Path) -> None:
    for directory in module_dirs(project):
        module = parse_module(directory)
        text = expressions(module)
        for prefix, type_, name in REFERENCE.findall(text):
            kind = "data" if prefix else "resources"
            assert (type_, name) in module[kind], (
                f"{directory}: {prefix}{type_}.{name} is not declared"
            )
        for name in re.findall(r"\blocal\.([A-Za-z_]\w*)", text):
            assert name in module["locals"], f"{directory}: local.{name}"


def test_terraform_module_calls_match_their_modules(project: Path) -> None:
    for directory in module_dirs(project):
        module = parse_module(directory)
        text = expressions(module)
        for name, body in module["modules"].items():
            source = directory / unquote(body["source"])
            assert source.is_dir() and list(source.glob("*.tf")), f"{name}: {source}"
            called = parse_module(source)
            given = {key for key in body if key not in {"source", "count", "for_each"}}
            given -= {key for key in body if key.startswith("__")}
            assert given <= set(called["variables"]), f"{directory}: {name}"
            required = {
                key for key, var in called["variables"].items() if "default" not in var
            }
            assert required <= given, f"{directory}: {name} misses {required - given}"
            for output in re.findall(rf"\bmodule\.{name}(?:\[[^\]]*\])?\.(\w+)", text):
                assert output in called["outputs"], f"{directory}: {name}.{output}"
        for name in re.findall(r"\bmodule\.([A-Za-z_][\w-]*)", text):
            assert name in module["modules"], f"{directory}: module.{name}"


def test_terraform_pins_aws_provider_and_terraform(project: Path) -> None:
    for directory in module_dirs(project):
        versions = (directory / "versions.tf").read_text()
        assert re.search(r'version\s*=\s*"~> 6\.\d+"', versions), directory
        assert 'required_version = ">= 1.11.0"' in versions, directory


def test_terraform_has_no_hard_coded_account_region_or_bucket(project: Path) -> None:
    answers = copier_answers(project)
    buckets = [
        answers["data_bucket"],
        answers["artifact_bucket"],
        answers["log_bucket"],
    ]
    for root in terraform_roots(project):
        for path in root.rglob("*.tf"):
            text = path.read_text()
            assert not ACCOUNT_ID.search(text), f"{path}: account id"
            assert not REGION.search(text), f"{path}: region {REGION.search(text)}"
            for bucket in buckets:
                assert bucket not in text, f"{path}: bucket {bucket}"


def test_checkov_finds_no_failed_check(project: Path) -> None:
    checkov = require_tool("checkov")
    config = project / "terraform" / ".checkov.yaml"
    for root in terraform_roots(project):
        completed = subprocess.run(
            [checkov, "-d", str(root), "--config-file", str(config), "-o", "json"],
            capture_output=True,
            text=True,
        )
        reports = json.loads(completed.stdout)
        reports = reports if isinstance(reports, list) else [reports]
        for report in reports:
            failed = [
                f"{check['check_id']} {check['resource']} ({check['file_path']})"
                for check in report["results"]["failed_checks"]
            ]
            assert report["summary"]["parsing_errors"] == 0, root
            assert report["summary"]["passed"] > 0, root
            assert failed == [], "\n".join(failed)


def test_checkov_skips_carry_reasons(default_project: Path) -> None:
    terraform = default_project / "terraform"
    for path in terraform.rglob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                assert re.search(r"#checkov:skip=CKV2?_AWS_\d+:\S.{20,}", line), line
    config = (terraform / ".checkov.yaml").read_text()
    skipped = re.findall(r"^\s*- (CKV\S+)", config, re.MULTILINE)
    assert skipped == ["CKV_AWS_144"]
    assert "replica" in config


def test_bootstrap_trusts_only_the_environment_of_the_repository(
    default_project: Path,
) -> None:
    bootstrap = default_project / "terraform" / "bootstrap"
    main = (bootstrap / "main.tf").read_text()
    assert '"repo:${var.github_repository}:environment:${each.key}"' in main
    assert "aws_iam_user" not in main and "aws_iam_access_key" not in main
    tfvars = (bootstrap / "dev.tfvars").read_text()
    assert 'github_repository         = "ml-team/heart-disease-risk"' in tfvars
    assert re.findall(r"^  (\w+) = \{", tfvars, re.MULTILINE) == [
        "dev",
        "staging",
        "production",
    ]
    for stage in ("dev", "staging", "production"):
        backend = default_project / "terraform/environments" / stage / "backend.hcl"
        text = backend.read_text()
        assert f'key          = "heart-disease-risk/{stage}/terraform.tfstate"' in text
        assert "use_lockfile = true" in text


def policy_document(main_tf: Path, name: str) -> dict[str, Any]:
    with main_tf.open() as handle:
        parsed = hcl2.load(handle)
    for block in parsed["data"]:
        body = block.get('"aws_iam_policy_document"', {}).get(f'"{name}"')
        if body is not None:
            return body
    raise AssertionError(f"{main_tf}: no policy document {name}")


def policy_statements(main_tf: Path, name: str) -> list[dict[str, Any]]:
    """Statements of one aws_iam_policy_document, dynamic ones included."""
    body = policy_document(main_tf, name)
    statements = list(body.get("statement", []))
    for dynamic in body.get("dynamic", []):
        statements.extend(dynamic['"statement"']["content"])
    return statements


def test_bootstrap_plan_roles_trust_pull_requests_and_change_nothing(
    default_project: Path,
) -> None:
    bootstrap = default_project / "terraform" / "bootstrap"
    trust = policy_statements(bootstrap / "main.tf", "github_plan_trust")
    conditions = {
        unquote(condition["variable"]): [unquote(v) for v in condition["values"]]
        for statement in trust
        for condition in statement["condition"]
    }
    assert conditions == {
        "${local.github_host}:aud": ["sts.amazonaws.com"],
        "${local.github_host}:sub": ["repo:${var.github_repository}:pull_request"],
    }

    statements = policy_statements(bootstrap / "main.tf", "github_plan")
    actions = {
        unquote(action): statement
        for statement in statements
        for action in statement["actions"]
    }
    verbs = ("Get", "List", "Describe", "View", "Decrypt")
    for action in actions:
        assert action.split(":")[1].startswith(verbs), action
    object_read = actions["s3:GetObject"]
    assert object_read["resources"] == [
        '"${module.state_bucket.arn}/${var.resource_prefix}/${each.key}/*"'
    ]
    # Bucket ARNs only: s3:Get* then never reaches an object.
    assert actions["s3:Get*"]["resources"] == (
        '${[for name in statement.value : "arn:${local.partition}:s3:::${name}"]}'
    )

    outputs = (bootstrap / "outputs.tf").read_text()
    assert 'output "github_plan_role_arns"' in outputs
    assert "create_plan_roles         = true" in (bootstrap / "dev.tfvars").read_text()
    # No lock file is written, so the plan roles need no s3:PutObject.
    infra = (default_project / ".github/workflows/infra.yml").read_text()
    assert "plan -no-color -lock=false" in infra


def test_bootstrap_leaves_out_bucket_statements_without_buckets(
    default_project: Path,
) -> None:
    # IAM rejects a statement without resources; stages that share the
    # development account have no buckets of their own.
    main = default_project / "terraform" / "bootstrap" / "main.tf"
    for name in ("github", "github_plan"):
        body = policy_document(main, name)
        static = [unquote(statement["sid"]) for statement in body["statement"]]
        assert not [sid for sid in static if "Bucket" in sid], name
        (dynamic,) = body["dynamic"]
        assert (
            "length(each.value.bucket_names) > 0" in dynamic['"statement"']["for_each"]
        )


def test_multi_account_grants_stage_roles_narrowly(render: Render) -> None:
    project = render(**ANSWER_SETS["multi-account"])
    terraform = project / "terraform"
    dev = (terraform / "environments/dev/terraform.tfvars").read_text()
    assert (
        '"arn:aws:iam::234567890123:role/heart-disease-risk-staging-sagemaker"' in dev
    )
    assert (
        '"arn:aws:iam::345678901234:role/heart-disease-risk-production-sagemaker"'
        in dev
    )
    production = (terraform / "environments/production/terraform.tfvars").read_text()
    assert 'aws_account_id  = "345678901234"' in production
    assert 'source_account_id           = "123456789012"' in production
    assert (terraform / "bootstrap/staging.tfvars").is_file()
    assert "production = {" in (terraform / "bootstrap/production.tfvars").read_text()
    platform = (terraform / "modules/ml-platform/main.tf").read_text()
    assert 'variable = "aws:PrincipalArn"' in platform
    assert 'variable = "kms:ViaService"' in platform


def test_single_account_renders_one_bootstrap(default_project: Path) -> None:
    bootstrap = default_project / "terraform" / "bootstrap"
    assert sorted(path.name for path in bootstrap.glob("*.tfvars")) == ["dev.tfvars"]
    dev = (default_project / "terraform/environments/dev/terraform.tfvars").read_text()
    assert "cross_account_reader_role_arns = []" in dev
    assert (
        "account_resources = null"
        in (
            default_project / "terraform/environments/staging/terraform.tfvars"
        ).read_text()
    )


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({}, "budget_cost_tag = null"),
        ({"monthly_budget_usd": 500}, 'key   = "project"'),
        ({"mlflow_tracking_enabled": True}, 'size = "Small"'),
        (ANSWER_SETS["existing-role"], "create = false"),
    ],
    ids=["defaults", "budget", "mlflow", "existing-role"],
)
def test_dev_tfvars_follow_the_answers(
    render: Render, answers: dict[str, object], expected: str
) -> None:
    tfvars = render(**answers) / "terraform/environments/dev/terraform.tfvars"
    assert expected in tfvars.read_text()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("resource_prefix", "a-resource-prefix-too-long"),
        ("resource_prefix", "Bad_Prefix"),
        ("data_bucket", "Bad_Bucket"),
        ("artifact_bucket", "x" * 64),
        ("sagemaker_role", "role with spaces"),
        ("github_repository", "no-slash"),
        ("aws_account_id", "12345"),
    ],
)
def test_invalid_aws_names_are_rejected_at_question_time(
    tmp_path: Path, key: str, value: str
) -> None:
    with pytest.raises(ValueError, match=f"Validation error for question '{key}'"):
        copier.run_copy(
            str(TEMPLATE_ROOT),
            tmp_path / "project",
            data={key: value},
            defaults=True,
            unsafe=True,
            vcs_ref="HEAD",
            quiet=True,
        )
    assert not (tmp_path / "project" / "terraform").exists()


def copier_answers(project: Path) -> dict[str, Any]:
    import yaml

    return yaml.safe_load((project / ".copier-answers.yml").read_text())
