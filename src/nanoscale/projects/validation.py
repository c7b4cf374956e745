"""Field rules for projects. Each function returns the cleaned value or raises ValueError
with a message fit for the user (pydantic turns it into a 422 naming the field)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from nanoscale.engine.loader_env import is_loader_var
from nanoscale.settings import Settings, is_loopback_host
from nanoscale.strings import has_control_characters

_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Characters git itself forbids in ref names, plus shell metacharacters we refuse on top so a
# branch name can never change the meaning of a command line or a log line.
_GIT_FORBIDDEN = set(" ~^:?*[\\")
_SHELL_META = set(";&|$`'\"<>(){}!")
RESERVED_ENV_KEYS = frozenset({"PORT"})  # set by the platform for every release


def project_name(value: str) -> str:
    name = value.strip().lower()
    if not _DNS_LABEL.fullmatch(name):
        raise ValueError(
            "names are DNS labels: 1-63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit"
        )
    return name


def branch_name(value: str) -> str:
    """Git's ref-name rules (`git check-ref-format --branch`), plus no shell metacharacters."""
    problem = branch_problem(value)
    if problem:
        raise ValueError(f"not a valid branch name: {problem}")
    return value


def branch_problem(name: str) -> str | None:  # noqa: PLR0911 - one rule per return
    if not name or len(name) > 255:
        return "1-255 characters"
    if name.startswith("-"):
        return "must not start with '-'"
    if name in {"@", "HEAD"}:
        return f"{name!r} is reserved"
    if has_control_characters(name):
        return "control characters are not allowed"
    bad = sorted((_GIT_FORBIDDEN | _SHELL_META) & set(name))
    if bad:
        return "these characters are not allowed: " + " ".join(bad)
    if ".." in name or "@{" in name:
        return "'..' and '@{' are not allowed"
    if name.startswith("/") or name.endswith("/") or "//" in name:
        return "no leading, trailing or doubled '/'"
    if name.endswith("."):
        return "must not end with '.'"
    for part in name.split("/"):
        if part.startswith("."):
            return "no path component may start with '.'"
        if part.endswith(".lock"):
            return "no path component may end with '.lock'"
    return None


def _any_case(text: str) -> str:
    """`text` as a regex matching it in any letter case (hosts are case-insensitive)."""
    return "".join(
        f"[{c.lower()}{c.upper()}]" if c.isalpha() else ("\\." if c == "." else c) for c in text
    )


def repo_url_pattern(settings: Settings) -> str:
    """The clone URLs `settings.git_url_allowed` lets through, as one regex (for the OpenAPI
    description and for `repo_url`): https to an allowed host, plain http only to a loopback
    host in development; no credentials, query or fragment, a non-empty path."""
    port = "(?::[^/?#@\\x00-\\x20\\x7f]*)?"
    https = [_any_case(h) for h in settings.effective_git_hosts if ":" not in h]
    http: list[str] = []
    if not settings.is_production:
        for entry in settings.effective_git_hosts:
            host, _, fixed_port = entry.partition(":")
            if is_loopback_host(host.lower()):
                http.append(_any_case(host) + (f":{fixed_port}" if fixed_port else port))
    schemes = []
    if https:
        schemes.append(f"[hH][tT][tT][pP][sS]://(?:{'|'.join(https)}){port}")
    if http:
        schemes.append(f"[hH][tT][tT][pP]://(?:{'|'.join(http)})")
    if not schemes:
        return "^(?!)$"
    path = "[^\\x00-\\x20\\x7f?#]"
    return f"^(?:{'|'.join(schemes)})/{path}*[^\\x00-\\x20\\x7f?#/]{path}*$"


def repo_url(value: str, *, settings: Settings) -> str:
    url = value.strip()
    if len(url) > 2048 or has_control_characters(url) or " " in url:
        raise ValueError("not a valid URL")
    if not re.fullmatch(repo_url_pattern(settings), url):
        hosts = ", ".join(settings.git_allowed_hosts) or "none"
        raise ValueError(
            f"repository URLs must be https:// on an allowed host ({hosts}) with a path, "
            "without credentials, query or fragment"
        )
    parts = urlsplit(url)
    if parts.query or parts.fragment or parts.path.strip("/") == "":
        raise ValueError("give the repository's clone URL, e.g. https://github.com/owner/repo.git")
    if not settings.git_url_allowed(url):
        hosts = ", ".join(settings.git_allowed_hosts) or "none"
        raise ValueError(
            f"repository URLs must be https:// on an allowed host ({hosts}) without "
            "credentials; an admin can allow more hosts under Settings, Git hosts"
        )
    return url


def relative_path(value: str) -> str:
    """A directory inside the repository: relative, no '..', normalized ('' = the root)."""
    if len(value) > 1024 or has_control_characters(value) or "\\" in value:
        raise ValueError("not a valid relative path")
    if value.startswith("/"):
        raise ValueError("must be relative to the repository root (no leading '/')")
    parts = [p for p in value.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError("must stay inside the repository ('..' is not allowed)")
    return "/".join(parts)


def command(value: str) -> str:
    if len(value) > 4096:
        raise ValueError("commands are at most 4096 characters")
    if has_control_characters(value, allow="\t\n"):
        raise ValueError("control characters are not allowed")
    return value.strip()


def health_check_path(value: str) -> str:
    if (
        not value.startswith("/")
        or len(value) > 1024
        or has_control_characters(value)
        or " " in value
    ):
        raise ValueError("must be a URL path starting with '/'")
    return value


def env_key(key: str) -> str:
    if len(key) > 256 or not _ENV_KEY.fullmatch(key):
        raise ValueError(
            f"environment variable names are letters, digits and '_', not starting with a "
            f"digit (got {key[:40]!r})"
        )
    if key in RESERVED_ENV_KEYS:
        raise ValueError(f"{key} is set by the platform and cannot be overridden")
    if is_loader_var(key):
        raise ValueError(
            f"{key} changes how programs are loaded (dynamic loader and C library "
            "variables such as LD_*, GCONV_PATH, MALLOC_*) and is not allowed"
        )
    return key


def env_value(value: str) -> str:
    if "\x00" in value or len(value) > 32_768:
        raise ValueError("environment values are at most 32768 characters, without NUL")
    return value


def domain_refused_pattern(settings: Settings) -> str:
    """The custom domains `domain` refuses for these settings: the base domain and every
    name under it, and the orchestrator's own hostname (any case, optional final dot)."""
    refused = [f"(^|\\.){_any_case(settings.base_domain)}\\.?$"]
    own = urlsplit(settings.resolved_public_base_url).hostname
    if own:
        refused.append(f"^{_any_case(own)}\\.?$")
    return "|".join(refused)


def domain(value: str, *, settings: Settings) -> str:
    host = value.strip().lower().removesuffix(".")
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_DNS_LABEL.fullmatch(lb) for lb in labels):
        raise ValueError("not a valid hostname (e.g. app.example.com)")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise ValueError("use a hostname, not an IP address")
    if labels[-1].isdigit():
        raise ValueError("not a valid hostname (e.g. app.example.com)")
    if is_loopback_host(host):
        raise ValueError("loopback names (localhost, *.localhost) cannot be claimed")
    base = settings.base_domain.lower()
    if host == base or host.endswith("." + base):
        # <name>.<base domain> belongs to the project called <name>; no one may claim it.
        raise ValueError(f"hosts under {base} are assigned by the platform")
    for own in orchestrator_hosts(settings):
        # An app on the dashboard's host (or below it) would receive, or could set, its cookies.
        if host == own or host.endswith("." + own):
            raise ValueError("that name belongs to the orchestrator (its own host or below it)")
    return host


def orchestrator_hosts(settings: Settings) -> set[str]:
    """The names the dashboard answers to: the public URL's host, NANOSCALE_HOST (unless
    an IP or a wildcard bind address) and NANOSCALE_ALLOWED_HOSTS."""
    names = {h.strip().lower() for h in settings.allowed_hosts}
    names.add((urlsplit(settings.resolved_public_base_url).hostname or "").lower())
    names.add(settings.host.strip("[]").lower())
    return {n for n in names if n and not _is_ip(n)}


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def git_credential_part(value: str, *, max_len: int) -> str:
    if not value or len(value) > max_len or has_control_characters(value):
        raise ValueError(f"1-{max_len} characters without control characters")
    return value
