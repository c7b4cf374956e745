"""Build output is read in chunks and each deployment's stored log is capped: a huge line
without a newline is never held whole, the newest output is kept behind a truncation note,
and a secret split across two reads is still masked."""

from __future__ import annotations

from nanoscale.deployments.logs.build_log import MAX_LOG_CHARS, LogWriter
from nanoscale.engine.build import READ_BYTES
from tests.support.deploy import DeployHarness

HUGE_BYTES = 3 * MAX_LOG_CHARS


def test_huge_line_without_newline_is_stored_in_chunks_and_capped_keeping_the_tail(
    deploy: DeployHarness,
) -> None:
    repo, sha = deploy.repo("web")
    command = f"head -c {HUGE_BYTES} /dev/zero | tr '\\0' 'a'; echo; echo END-OF-OUTPUT"
    project = deploy.project(repo, build_command=command)

    deployment_id = deploy.request(project, sha)
    deploy.run_until_idle()

    assert deploy.deployment(deployment_id).state == "live"
    log = deploy.log(deployment_id)
    assert log.startswith("[nanoscale] log truncated: the first ")
    assert "END-OF-OUTPUT" in log
    assert len(log) <= MAX_LOG_CHARS + 2 * READ_BYTES
    assert log.count("a" * 1000) > 0


def test_secret_split_across_two_writes_is_still_masked(deploy: DeployHarness) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo)
    deployment_id = deploy.request(project, sha)
    secret = "Very-Secret-Value-42"

    with LogWriter(deploy.ctx.sessions, deployment_id, secrets=[secret]) as writer:
        writer.write("token: " + secret[:9])
        writer.flush()  # a flush between the two halves
        writer.write(secret[9:] + " done\n")

    log = deploy.log(deployment_id)
    assert log == "token: *** done\n"
