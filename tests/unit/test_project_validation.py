"""Project field rules, table-driven. Branch names are cross-checked against real git."""

from __future__ import annotations

import subprocess

import pytest

from nanoscale.projects import validation as v
from nanoscale.settings import load_settings

VALID_BRANCHES = [
    "main", "feature/x", "v1.2", "release/2024.10", "fix-123_a", "user/feature/deep",
    "a", "x.y.z", "UPPER/Case", "caf\u00e9", "with#hash", "plus+sign", "at@sign",
]  # fmt: skip
# Refused by git itself (check-ref-format --branch) and by us.
GIT_INVALID_BRANCHES = [
    "", "-leading-dash", "a..b", "a@{1}", "has space", "tilde~1", "caret^", "colon:x",
    "question?", "star*", "bracket[x", "back\\slash", "trailing/", "/leading", "a//b",
    "ends.", "name.lock", "dir/x.lock/y", ".hidden", "dir/.hidden", "ctl\x01char", "tab\tx",
    "del\x7fx", "new\nline",
]  # fmt: skip
# Refused by us on top of git: shell metacharacters, and "HEAD"/"@", which git's --branch
# would expand to the current branch instead of taking literally.
SHELL_META_BRANCHES = [
    "a;rm -rf", "a&b", "a|b", "$(id)", "`id`", "a'b", 'a"b', "a<b", "a>b", "a(b)", "a{b}",
    "bang!", "HEAD", "@",
]  # fmt: skip


def git_accepts(name: str) -> bool:
    result = subprocess.run(
        ["git", "check-ref-format", "--branch", name], capture_output=True, check=False
    )
    return result.returncode == 0


@pytest.mark.parametrize("name", VALID_BRANCHES)
def test_branch_names_git_accepts_are_valid(name: str) -> None:
    assert git_accepts(name)
    assert v.branch_problem(name) is None


@pytest.mark.parametrize("name", GIT_INVALID_BRANCHES)
def test_branch_names_git_refuses_are_invalid(name: str) -> None:
    if "\n" not in name and name:  # git cannot even receive these as an argument
        assert not git_accepts(name)
    assert v.branch_problem(name) is not None
    with pytest.raises(ValueError, match="not a valid branch name"):
        v.branch_name(name)


@pytest.mark.parametrize("name", SHELL_META_BRANCHES)
def test_shell_metacharacters_are_refused_in_branch_names(name: str) -> None:
    assert v.branch_problem(name) is not None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("shop", "shop"), ("My-App", "my-app"), ("a1", "a1"), ("x" * 63, "x" * 63)],
)
def test_project_names_are_dns_labels(raw: str, expected: str) -> None:
    assert v.project_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "-a", "a-", "a_b", "a.b", "x" * 64, "caf\u00e9", "a b"])
def test_project_names_that_are_not_dns_labels_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="DNS label"):
        v.project_name(raw)


def test_repo_urls_must_be_https_on_an_allowed_host() -> None:
    settings = load_settings(git_allowed_hosts="github.com,git.example.org")
    assert v.repo_url("https://github.com/o/r.git", settings=settings)
    assert v.repo_url("https://git.example.org/o/r", settings=settings)
    assert v.repo_url(" https://github.com/o/r\n", settings=settings) == "https://github.com/o/r"
    for bad in [
        "http://github.com/o/r", "https://gitlab.com/o/r", "git@github.com:o/r.git",
        "ssh://github.com/o/r", "https://user:pw@github.com/o/r", "https://github.com/",
        "file:///etc/passwd", "https://github.com/o/r?x=1", "-uhttps://github.com/o/r",
        "https://github.com/o/r\nx", "https://github.com/o/r x",
    ]:  # fmt: skip
        with pytest.raises(ValueError):
            v.repo_url(bad, settings=settings)


def test_plain_http_is_allowed_only_to_loopback_in_development() -> None:
    dev = load_settings(git_allowed_hosts="127.0.0.1:9418")
    assert v.repo_url("http://127.0.0.1:9418/o/r.git", settings=dev)
    with pytest.raises(ValueError):
        v.repo_url("http://10.0.0.1:9418/o/r.git", settings=dev)


@pytest.mark.parametrize(
    ("raw", "expected"), [("", ""), (".", ""), ("./app", "app"), ("apps/web/", "apps/web")]
)
def test_relative_paths_are_normalized(raw: str, expected: str) -> None:
    assert v.relative_path(raw) == expected


@pytest.mark.parametrize("raw", ["/etc", "../up", "a/../../b", "a\\b", "a\x00b"])
def test_paths_leaving_the_repository_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        v.relative_path(raw)


@pytest.mark.parametrize("key", ["A", "_X", "DATABASE_URL", "a1_b2"])
def test_posix_env_names_are_accepted(key: str) -> None:
    assert v.env_key(key) == key


@pytest.mark.parametrize("key", ["", "1A", "A-B", "A B", "A=B", "\u00c9", "PORT"])
def test_non_posix_or_reserved_env_names_are_refused(key: str) -> None:
    with pytest.raises(ValueError):
        v.env_key(key)


def test_domains_are_hostnames_outside_the_platform_zone() -> None:
    settings = load_settings(base_domain="apps.example.com")
    assert v.domain("Shop.Example.ORG.", settings=settings) == "shop.example.org"
    for bad in [
        "localhost", "1.2.3.4", "a..b.com", "-a.com", "*.example.com", "a_b.com",
        "other.apps.example.com", "apps.example.com", "x" * 64 + ".com", "example.123",
    ]:  # fmt: skip
        with pytest.raises(ValueError):
            v.domain(bad, settings=settings)


@pytest.mark.parametrize(
    "claimed",
    [
        "deploy.example.com",  # the public URL's host: the dashboard itself
        "x.deploy.example.com",  # below it: could set cookies the dashboard receives
        "admin.internal.example",  # NANOSCALE_ALLOWED_HOSTS
        "orchestrator.example.net",  # NANOSCALE_HOST
        "app.localhost",  # loopback, whatever the base domain
        "apps.example.com",  # the base domain itself
    ],
)
def test_names_reserved_for_the_platform_cannot_be_claimed(claimed: str) -> None:
    settings = load_settings(
        base_domain="apps.example.com",
        public_base_url="https://Deploy.Example.com",
        allowed_hosts="admin.internal.example",
        host="orchestrator.example.net",
    )
    with pytest.raises(ValueError):
        v.domain(claimed, settings=settings)
    assert v.domain("shop.example.org", settings=settings) == "shop.example.org"
