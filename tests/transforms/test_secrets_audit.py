"""The independent audit detector (detect-secrets) on the labelled set: it agrees that redacted text is clean,
it catches what it knows before redaction, and its line prefilter loses nothing."""
from __future__ import annotations

from tests.helpers.secrets_cases import negatives, positives
from transforms import secrets
from transforms.secrets_audit import detect_secrets_findings, scan

POSITIVES = positives()


def test_prefilter_loses_no_detect_secrets_finding():
    for case in POSITIVES + negatives():
        assert detect_secrets_findings(case.text) == detect_secrets_findings(case.text, prefilter=False), case.text


def test_detect_secrets_catches_the_formats_it_knows_before_redaction_and_nothing_after():
    known = {"aws_access_key", "github_token", "gitlab_token", "slack_token", "stripe_key", "npm_token", "pypi_token",
             "jwt", "private_key", "sendgrid_key", "telegram_bot_token", "mailchimp_key", "url_password", "twilio_key"}
    caught = missed = 0
    for case in POSITIVES:
        redacted, _ = secrets.redact(case.text)
        assert detect_secrets_findings(redacted) == [], redacted
        if case.kind in known:
            found = bool(detect_secrets_findings(case.text))
            caught, missed = caught + found, missed + (not found)
    assert caught > 0 and caught / (caught + missed) > 0.5  # a second opinion, not a copy of ours


def test_scan_names_table_sample_column_kind_and_line_but_never_the_secret():
    case = next(c for c in POSITIVES if c.kind == "github_token" and c.context == "yaml")
    out = list(scan([("samples", "s1", "text", case.text), ("samples", "s2", "text", secrets.redact(case.text)[0])]))
    assert out == ["surviving secret: samples s1 text: github_token (ours) at line 3",
                   "surviving secret: samples s1 text: GitHub Token (detect-secrets) at line 3"]
    assert not any(case.secret[4:] in line for line in out)


def test_detect_secrets_look_alikes_on_go_are_let_through_but_real_tokens_are_not():
    key = next(c for c in POSITIVES if c.kind == "aws_access_key").secret
    blob = "VABNAEcAIABIAFQAVABQ" + key + "AFMAIABJAG4AcwBwAGUAYwB0AGkAbwBuACAAQwBlAHIA"  # a base64 test blob
    assert detect_secrets_findings(f'\t"{blob}" +\n') == []
    assert detect_secrets_findings('u := "http://user:password@dummy.faketld/"\nv := "https://me:xxxxx@host/"\n') == []
    assert detect_secrets_findings(f'k := "{key}"\n') == [(1, "AWS Access Key")]
    assert detect_secrets_findings('u := "http://deploy:Zq7kP2vXw9@ci.internal/"\n') == [(1, "Basic Auth Credentials")]
