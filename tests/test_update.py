"""`copier update` from one release of the template to the next.

Each test builds its own two releases from the template's current files, so it
needs no tags in the real repository: v1.0.0 is the template plus a fixture
question and fixture files, v1.1.0 changes exactly those (one line reworded,
one file added, the fixture question renamed with a migration, the
team-owned changelog changed). A project is rendered at v1.0.0, committed,
edited the way a team would, and updated.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import copier
import pytest
from conftest import TEMPLATE_ROOT, git

TEMPLATE_PARTS = ["copier.yml", "template", "extensions", "hooks"]
FIXTURE = "UPDATE-FIXTURE.md"
ADDED = "UPDATE-ADDED.md"
REMOVABLE = "UPDATE-REMOVABLE.md"
RETIRED = "UPDATE-RETIRED.md"
CHANGELOG = "CHANGELOG.md"
OLD_LINE = "The template words this line one way."
NEW_LINE = "The template words this line another way."
TEAM_LINE = "The team words this line its own way."

QUESTION_V1 = """
release_notes_title:
  type: str
  help: Title of the update fixture page
  default: Release notes
"""
MIGRATION_V11 = """_migrations:
  - version: v1.1.0
    command:
      - "{{ _copier_python }}"
      - "{{ _copier_conf.src_path }}/hooks/rename_answer.py"
      - release_notes_title=notes_title
    when: "{{ _stage == 'before' }}"
"""


def fixture_page(title: str, line: str) -> str:
    return (
        f"# {{{{ {title} }}}}\n\n"
        "A first paragraph the template never changes.\n\n"
        f"{line}\n\n"
        "A last paragraph the template never changes.\n"
    )


def commit_and_tag(repo: Path, tag: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"Release {tag}")
    git(repo, "tag", tag)


@pytest.fixture(autouse=True)
def _copier_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty mapping: Copier 9.19 rejects an empty settings file."""
    settings = tmp_path / "copier-settings.yml"
    settings.write_text("{}\n")
    monkeypatch.setenv("COPIER_SETTINGS_PATH", str(settings))


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository of the template with tags v1.0.0 and v1.1.0."""
    repo = tmp_path_factory.mktemp("template-releases")
    listed = git(
        TEMPLATE_ROOT,
        *("ls-files", "-z", "--cached", "--others", "--exclude-standard", "--"),
        *TEMPLATE_PARTS,
    )
    for relative in filter(None, listed.split("\0")):
        if (TEMPLATE_ROOT / relative).is_file():
            (repo / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE_ROOT / relative, repo / relative)
    git(repo, "init", "-q", "-b", "main")

    copier_yml = repo / "copier.yml"
    copier_yml.write_text(copier_yml.read_text() + QUESTION_V1)
    page = repo / "template" / f"{FIXTURE}.jinja"
    page.write_text(fixture_page("release_notes_title", OLD_LINE))
    (repo / "template" / REMOVABLE).write_text("A page a team may delete.\n")
    (repo / "template" / RETIRED).write_text("A page v1.1.0 removes.\n")
    commit_and_tag(repo, "v1.0.0")

    settings = copier_yml.read_text()
    assert "_migrations: []\n" in settings, "copier.yml lost its _migrations key"
    settings = settings.replace("_migrations: []\n", MIGRATION_V11)
    copier_yml.write_text(settings.replace("release_notes_title:", "notes_title:"))
    page.write_text(fixture_page("notes_title", NEW_LINE))
    (repo / "template" / ADDED).write_text("A page added in v1.1.0.\n")
    (repo / "template" / RETIRED).unlink()
    changelog = repo / "template" / "CHANGELOG.md.jinja"
    changelog.write_text(changelog.read_text() + "- A line added in v1.1.0.\n")
    commit_and_tag(repo, "v1.1.0")
    return repo


def render_v1(releases: Path, destination: Path) -> Path:
    """Render v1.0.0 with a non-default fixture answer and commit it."""
    copier.run_copy(
        str(releases),
        destination,
        data={"release_notes_title": "Heart notes"},
        defaults=True,
        unsafe=True,
        vcs_ref="v1.0.0",
        quiet=True,
    )
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "Render the template at v1.0.0")
    return destination


def update(project: Path, ref: str) -> None:
    copier.run_update(
        project,
        vcs_ref=ref,
        defaults=True,
        overwrite=True,
        unsafe=True,
        quiet=True,
    )


def status(project: Path) -> list[str]:
    return git(project, "status", "--porcelain", "--untracked-files=all").splitlines()


def changed_lines(project: Path, path: str) -> list[str]:
    """The added and removed lines of one file against the last commit."""
    diff = git(project, "diff", "--unified=0", "--", path).splitlines()
    return [
        line
        for line in diff
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def append(project: Path, relative: str, line: str) -> None:
    path = project / relative
    path.write_text(path.read_text() + line + "\n")


def first_existing(project: Path, *patterns: str) -> str | None:
    for pattern in patterns:
        for path in sorted(project.glob(pattern)):
            if path.is_file():
                return path.relative_to(project).as_posix()
    return None


@pytest.fixture
def project(releases: Path, tmp_path: Path) -> Path:
    return render_v1(releases, tmp_path / "project")


def test_update_to_the_same_release_changes_nothing(project: Path) -> None:
    update(project, "v1.0.0")

    assert status(project) == []


def test_update_of_an_untouched_project_brings_only_the_template_change(
    project: Path,
) -> None:
    changelog_before = (project / "CHANGELOG.md").read_text()

    update(project, "v1.1.0")

    assert set(status(project)) == {
        " M .copier-answers.yml",
        f" D {RETIRED}",
        f" M {FIXTURE}",
        f"?? {ADDED}",
    }
    assert changed_lines(project, FIXTURE) == [f"-{OLD_LINE}", f"+{NEW_LINE}"]
    assert changed_lines(project, ".copier-answers.yml") == [
        "-_commit: v1.0.0",
        "+_commit: v1.1.0",
        "+notes_title: Heart notes",
        "-release_notes_title: Heart notes",
    ]
    assert (project / CHANGELOG).read_text() == changelog_before
    assert not list(project.rglob("*.rej"))


def test_update_migrates_the_answer_of_a_renamed_question(project: Path) -> None:
    update(project, "v1.1.0")

    answers = (project / ".copier-answers.yml").read_text()
    assert "notes_title: Heart notes\n" in answers
    assert "release_notes_title" not in answers
    assert (project / FIXTURE).read_text().startswith("# Heart notes\n")


def test_update_keeps_edits_that_do_not_collide(project: Path) -> None:
    edited = {
        FIXTURE: None,
        "README.md": "Team note: our on-call rota is in the wiki.",
        "config/project.yaml": "# team note: reviewed by the platform team",
    }
    terraform = first_existing(project, "terraform/**/variables.tf")
    workflow = first_existing(project, ".github/workflows/*.yml")
    code = first_existing(project, "src/**/*.py")
    for relative in (terraform, workflow, code):
        if relative:
            edited[relative] = "# team note: kept across template updates"
    for relative, line in edited.items():
        if line and (project / relative).is_file():
            append(project, relative, line)
    page = project / FIXTURE
    page.write_text(page.read_text().replace("A first paragraph", "Our paragraph"))
    (project / "notes").mkdir()
    (project / "notes" / "team.md").write_text("Only the team writes here.\n")
    (project / REMOVABLE).unlink()
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "Team edits")
    kept = {r: (project / r).read_text() for r in edited if (project / r).is_file()}
    assert {FIXTURE, "config/project.yaml"} <= kept.keys()

    update(project, "v1.1.0")

    assert set(status(project)) == {
        " M .copier-answers.yml",
        f" D {RETIRED}",
        f" M {FIXTURE}",
        f"?? {ADDED}",
    }
    assert changed_lines(project, FIXTURE) == [f"-{OLD_LINE}", f"+{NEW_LINE}"]
    assert (project / FIXTURE).read_text() == kept[FIXTURE].replace(OLD_LINE, NEW_LINE)
    for relative, text in kept.items():
        if relative != FIXTURE:
            assert (project / relative).read_text() == text, relative
    assert (project / "notes" / "team.md").is_file()
    assert not (project / REMOVABLE).exists()
    assert not list(project.rglob("*.rej"))


def test_update_marks_colliding_edits_inline(project: Path) -> None:
    page = project / FIXTURE
    page.write_text(page.read_text().replace(OLD_LINE, TEAM_LINE))
    git(project, "commit", "-q", "-am", "Team rewords the line")

    update(project, "v1.1.0")

    text = page.read_text()
    assert (
        f"<<<<<<< before updating\n{TEAM_LINE}\n=======\n{NEW_LINE}\n"
        ">>>>>>> after updating\n"
    ) in text
    assert text.startswith("# Heart notes\n\nA first paragraph")
    assert text.endswith("A last paragraph the template never changes.\n")
    assert set(status(project)) == {
        " M .copier-answers.yml",
        f" D {RETIRED}",
        f"UU {FIXTURE}",
        f"?? {ADDED}",
    }
    assert not list(project.rglob("*.rej"))


def test_update_never_overwrites_team_owned_files(project: Path) -> None:
    team_changelog = "# Changelog\n\n## 2.0.0\n\n- Our own history.\n"
    (project / CHANGELOG).write_text(team_changelog)
    git(project, "commit", "-q", "-am", "The team writes its changelog")

    update(project, "v1.1.0")

    assert (project / CHANGELOG).read_text() == team_changelog
    assert f" M {CHANGELOG}" not in status(project)


def test_update_recreates_a_deleted_team_owned_file(project: Path) -> None:
    (project / CHANGELOG).unlink()
    git(project, "commit", "-q", "-am", "The team deletes its changelog")

    update(project, "v1.1.0")

    assert f"?? {CHANGELOG}" in status(project)
    assert (project / CHANGELOG).read_text().endswith("- A line added in v1.1.0.\n")


def test_update_needs_a_clean_worktree(project: Path) -> None:
    append(project, FIXTURE, "An edit nobody committed.")

    with pytest.raises(Exception, match="dirty"):
        update(project, "v1.1.0")

    assert (project / FIXTURE).read_text().endswith("An edit nobody committed.\n")


def test_update_runs_no_task(project: Path) -> None:
    answers = project / ".copier-answers.yml"
    answers.write_text(
        answers.read_text()
        .replace("validate_aws_access: false", "validate_aws_access: true")
        .replace("run_terraform_init: false", "run_terraform_init: true")
    )
    git(project, "commit", "-q", "-am", "Turn the hooks on")
    assert "validate_aws_access: true" in answers.read_text()

    completed = subprocess.run(
        [
            str(Path(sys.executable).with_name("copier")),
            "update",
            "--trust",
            "--defaults",
            "--vcs-ref=v1.1.0",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert completed.returncode == 0, completed.stderr
    assert "rename_answer.py" in completed.stderr
    assert "validate_aws.py" not in completed.stderr
    assert "terraform_init.py" not in completed.stderr
    assert "AWS access check" not in completed.stdout


def test_update_deletes_an_edited_file_the_release_removes(project: Path) -> None:
    append(project, RETIRED, "A line the team added.")
    git(project, "commit", "-q", "-am", "The team edits a page v1.1.0 removes")

    update(project, "v1.1.0")

    assert not (project / RETIRED).exists()
    assert f" D {RETIRED}" in status(project)
    git(project, "restore", RETIRED)
    assert (project / RETIRED).read_text().endswith("A line the team added.\n")
