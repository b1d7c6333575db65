"""Every answer a user can get wrong is rejected with a message naming it.

Each case renders with one bad answer; Copier must refuse before writing a
single file, and the message must name the question and the bad value.
"""

from __future__ import annotations

import pytest

from conftest import render_template

BAD_ANSWERS = [
    # (question, bad value, part of the message)
    ("project_name", "   ", "cannot be empty"),
    ("project_name", "Heart\nRisk", "line break, control or invisible"),
    ("project_name", "Heart\u202eRisk", "line break, control or invisible"),
    ("description", "d" * 201, "at most 200"),
    ("author_email", 'x"@evil.com', "is not an e-mail address"),
    ("project_slug", "Heart Disease", "is not a slug"),
    ("project_slug", "-heart", "is not a slug"),
    ("project_slug", "heart--risk", "is not a slug"),
    ("project_slug", "h" * 41, "at most 40"),
    ("package_name", "heart-risk", "is not a Python package name"),
    ("package_name", "import", "Python keyword"),
    ("package_name", "sagemaker", "clashes with a package"),
    ("author_email", "nobody", "is not an e-mail address"),
    ("team_name", "ML Team", "is not a slug"),
    ("aws_region", "eu-west-9", "is not a commercial AWS region"),
    ("aws_region", "EU-WEST-1", "is not a commercial AWS region"),
    ("aws_account_id", "12345678901", "exactly 12 digits"),
    ("aws_account_id", "12345678901a", "exactly 12 digits"),
    ("resource_prefix", "a" * 21, "at most 20"),
    ("resource_prefix", "Prefix", "is not a slug"),
    ("data_bucket", "ab", "S3 bucket names have 3-63 characters"),
    ("data_bucket", "b" * 64, "S3 bucket names have 3-63 characters"),
    ("data_bucket", "My_Bucket", "is not a valid S3 bucket name"),
    ("data_bucket", "bucket-", "is not a valid S3 bucket name"),
    ("data_bucket", "my..bucket", "two adjacent dots"),
    ("data_bucket", "192.168.1.10", "IP address"),
    ("data_bucket", "xn--bucket", "prefix S3 reserves"),
    ("data_bucket", "sthree-data", "prefix S3 reserves"),
    ("artifact_bucket", "models-s3alias", "suffix S3 reserves"),
    ("log_bucket", "logs--ol-s3", "suffix S3 reserves"),
    ("log_bucket", "my.logs.bucket", "contains dots"),
    ("artifact_bucket", "heart-disease-risk-123456789012-eu-west-1-data",
     "already the data bucket"),
    ("sagemaker_role", "role with spaces", "is not an IAM role name"),
    ("sagemaker_role", "r" * 65, "is not an IAM role name"),
    ("sagemaker_role", "arn:aws:iam::1234:role/x", "is not an IAM role ARN"),
    ("sagemaker_role", "arn:aws:s3:::bucket", "is not an IAM role ARN"),
    ("tags", {"aws:team": "ml"}, "starts with 'aws:'"),
    ("tags", {"k" * 129: "v"}, "must be 1-128"),
    ("tags", {"team": "v" * 257}, "must be a string of 0-256"),
    ("tags", {"team": "a|b"}, "must be a string of 0-256"),
    ("tags", {f"k{i}": "v" for i in range(51)}, "51 tags given"),
    ("tags", ["not", "a", "mapping"], "is not a mapping"),
    ("github_repository", "just-a-name", "is not a GitHub repository"),
    ("github_repository", "owner/..", "is not a GitHub repository"),
    ("quality_gate_auc", 0.3, "outside 0.5-0.95"),
    ("quality_gate_auc", 0.99, "outside 0.5-0.95"),
    ("endpoint_instance_type", "m5.large", "is not a SageMaker instance type"),
    ("serverless_max_concurrency", 500, "outside 1-200"),
    ("monthly_budget_usd", -5, "outside 0-1000000"),
    ("target", "regression", "regression"),
    ("staging_account_id", "not-an-id", "exactly 12 digits"),
]

# Answers that make the question above it reachable (``when:``).
ENABLERS = {
    "endpoint_instance_type": {"endpoint_kind": "instance"},
    "staging_account_id": {"multi_account": True},
}


@pytest.mark.parametrize(
    ("question", "value", "message"),
    BAD_ANSWERS,
    ids=[f"{q}={str(v)[:24]}" for q, v, _ in BAD_ANSWERS],
)
def test_bad_answer_is_rejected_and_nothing_is_written(tmp_path, question, value, message):
    destination = tmp_path / "project"
    answers = {**ENABLERS.get(question, {}), question: value}

    with pytest.raises(ValueError) as raised:
        render_template(destination, **answers)

    text = str(raised.value)
    # Validators say "Validation error for question 'x'", choices "for 'x'".
    assert f"for question '{question}'" in text or f"for '{question}'" in text
    assert message in text
    assert not destination.exists()


def test_table_covers_at_least_thirty_cases():
    assert len(BAD_ANSWERS) >= 30
    assert len({question for question, _, _ in BAD_ANSWERS}) >= 15


@pytest.mark.parametrize(
    "answers",
    [
        {"data_bucket": "abc"},
        {"data_bucket": "a" * 63},
        {"sagemaker_role": "arn:aws:iam::210987654321:role/service/SageMakerExec"},
        {"sagemaker_role": "SageMaker+Role=1,a.b@c_d-e"},
        {"tags": {"cost-center": "1234", "owner:email": "a@b.example", "empty": ""}},
        {"github_repository": "my-org/my.repo_name"},
        {"aws_account_id": "000000000001"},
        {"quality_gate_auc": 0.5},
    ],
    ids=lambda answers: next(iter(answers)),
)
def test_edge_values_that_aws_accepts_are_accepted(tmp_path, answers):
    project = render_template(tmp_path / "project", **answers)
    assert (project / "config" / "project.yaml").is_file()
