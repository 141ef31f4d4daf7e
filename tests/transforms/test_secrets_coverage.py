"""Every text that becomes a sample or an SFT pair is redacted, not only files: commit messages and diffs,
PR titles, bodies, comments and patches, issues and their comments, READMEs. Secrets are planted in each
through the real ingest (git via pygit2, GitHub via the loopback server) and looked for in the gold tables."""
from __future__ import annotations

import random

import pytest

from ingest.git import ingest_repo
from lake import Lake
from tests.helpers.gitrepos import build_repo, commit
from tests.helpers.github_server import github  # noqa: F401 (fixture)
from tests.helpers.secrets_cases import FORMATS
from transforms.cli import main as cli
from transforms.pipeline import run


@pytest.mark.slow
def test_secrets_in_commits_pulls_issues_and_readmes_never_reach_gold(github, tmp_path, capsys):  # noqa: F811
    from ingest.github.fetch import RepoCollector
    from tests.helpers import github_fixtures as F
    from tests.helpers.github_server import client_for

    rng = random.Random(7)
    kinds = ["github_token", "aws_access_key", "slack_token", "stripe_key", "openai_key", "gcp_api_key",
             "sendgrid_key", "npm_token", "huggingface_token", "gitlab_token"]
    planted = {where: (kind, FORMATS[kind][0](rng)) for where, kind in zip(
        ("pr_title", "pr_body", "pr_comment", "pr_patch", "issue_title", "issue_body", "issue_comment", "readme",
         "commit_message", "commit_diff"), kinds)}
    model = F.build_repo("acme", "widget", repo_id=42, n_pulls=8, n_issues=3)
    pr = next(p for p in model.pulls if p.author in F.HUMANS and p.files[0].patch)
    pr.title += f" (uses {planted['pr_title'][1]})"
    pr.body += f"\n\nSet `TOKEN={planted['pr_body'][1]}` to try it."
    pr.comments.append(F.Comment(990001, F.HUMANS[0], f"Works with {planted['pr_comment'][1]} here.",
                                 pr.created_at, node_id="IC_secret"))
    pr.files[0].patch += f'\n+const key = "{planted["pr_patch"][1]}"'
    issue = next(i for i in model.issues if i.author in F.HUMANS)
    issue.title += f" {planted['issue_title'][1]}"
    issue.body += f"\n\nMy config has `{planted['issue_body'][1]}` in it."
    issue.comments.append(F.Comment(990002, F.HUMANS[1], f"Rotate {planted['issue_comment'][1]} now.",
                                    issue.created_at, node_id="IC_secret2"))
    model.readme += f"\n```sh\nwidget login {planted['readme'][1]}\n```\n"
    gh = github([model])

    code = build_repo(tmp_path / "widget", {"main.go": "package widget\n\n// Hello greets.\nfunc Hello() string { return \"hi\" }\n"})
    commit(code, {"deploy.go": f'package widget\n\n// Key is read by the deploy job.\nconst Key = "{planted["commit_diff"][1]}"\n'},
           f"widget: add the deploy key for the staging job\n\nThe staging job signs with {planted['commit_message'][1]}.")
    with Lake(tmp_path / "lake") as lake:
        ingest_repo(lake, code.path, name="acme/widget", license="MIT", progress=False)
        RepoCollector(lake, client_for(gh, lake), patches_via_rest=True).fetch("acme/widget")
        run(lake)
        gold = [r["text"] for r in lake.query("SELECT text FROM samples").to_pylist()] + [
            r["prompt"] + r["response"] for r in lake.query("SELECT prompt, response FROM sft_pairs").to_pylist()]
        raw = lake.query("SELECT string_agg(coalesce(title, '') || coalesce(body, ''), '') AS t FROM github_pulls").to_pylist()
        assert planted["pr_title"][1] in raw[0]["t"]  # the secret did reach the raw layer: the test can fail
        leaks = {where: kind for where, (kind, secret) in planted.items() if any(secret in t for t in gold)}
        assert leaks == {}
        joined = "\n".join(gold)
        missing = [where for where, (kind, _) in planted.items() if f"<REDACTED:{kind}>" not in joined]
        assert missing == [], missing  # each planted text did reach gold, redacted
        assert cli(["audit", "--lake", str(lake.root)]) == 0
    assert "audit passed" in capsys.readouterr().out
