"""Credential formats with a documented structure: a fixed prefix, a length, a charset.

Each entry is written from the issuer's own description of its token format (prefixes such as `ghp_`,
`glpat-`, `xoxb-`, `AKIA`; lengths; base62/base64url/hex charsets). A format is matched whole; the
`(?P<s>...)` group, when present, is the part replaced (the rest is context that stays readable).
`needles` are lower-case literals the text must contain before the regex runs (most texts contain none);
a format without needles starts with a literal, which the regex engine searches for as fast as `in` would.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

B62 = "A-Za-z0-9"
B64URL = r"A-Za-z0-9_\-"


def _word(c: str) -> bool:
    return c.isalnum() or c == "_"


@dataclass(frozen=True)
class Format:
    kind: str
    pattern: re.Pattern
    needles: tuple[str, ...]

    def matches(self, text: str):
        """The pattern's matches that do not continue a longer word (`xghp_...`, `skx_live_` are not tokens).
        Checked here, not by a lookbehind: a pattern that starts with a literal is searched for far faster."""
        for m in self.pattern.finditer(text):
            i = m.start()
            if i == 0 or not _word(text[i]) or not _word(text[i - 1]):
                yield m


def _f(kind: str, pattern: str, *needles: str, flags: int = 0) -> Format:
    return Format(kind, re.compile(pattern, flags), tuple(n.lower() for n in needles))


_R = r"(?![A-Za-z0-9_])"  # a token ends where a word would

FORMATS: tuple[Format, ...] = (
    # -- private keys: PEM (PKCS#1/#8, EC, DSA, ENCRYPTED), OpenSSH, PGP blocks, PuTTY files. A block cut off
    # before its END line (a truncated diff) is redacted up to the end of its base64 body.
    _f("private_key", r"-----BEGIN ([A-Z0-9 ]*?)PRIVATE KEY( BLOCK)?-----(?:.*?-----END \1PRIVATE KEY\2-----"
                      r"|(?:[\s\\n\"'`+]*[A-Za-z0-9+/=]{16,})+)", "PRIVATE KEY", flags=re.S),
    _f("private_key", r"PuTTY-User-Key-File-\d: .*?Private-MAC: [0-9a-f]+", "PuTTY-User-Key-File", flags=re.S),
    _f("age_secret_key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", "AGE-SECRET-KEY-1"),
    # -- AWS: access key ids are a 4-letter type prefix + 16 base32 characters.
    _f("aws_access_key", r"A(?:KIA|SIA|BIA|CCA|GPA|IDA|IPA|NPA|NVA|ROA|PKA|SCA)[A-Z0-9]{16}" + _R),
    # -- Google: API keys, OAuth client secrets, OAuth access tokens.
    _f("gcp_api_key", r"AIza[" + B64URL + r"]{35}" + _R, "AIza"),
    _f("gcp_oauth_secret", r"GOCSPX-[" + B64URL + r"]{28}" + _R, "GOCSPX-"),
    _f("gcp_oauth_token", r"ya29\.[" + B64URL + r"]{30,}", "ya29."),
    # -- Azure: storage account keys (88 base64 chars), Entra client secrets (`Q~` at position 4), SAS signatures.
    _f("azure_storage_key", r"AccountKey=(?P<s>[A-Za-z0-9+/]{86}==)", "AccountKey="),
    _f("azure_client_secret", r"[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}" + _R, "Q~"),
    _f("azure_sas_signature", r"[?&]sig=(?P<s>[A-Za-z0-9%+/]{43,}(?:%3D|=)*)", "sig="),
    # -- GitHub: classic/OAuth/user-to-server/server-to-server/refresh tokens (prefix + 30 base62 + 6-char
    # base62 CRC32), fine-grained PATs (`github_pat_` 22 + `_` + 59).
    _f("github_token", r"gh[pousr]_[" + B62 + r"]{36,251}" + _R, "ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    _f("github_token", r"github_pat_[" + B62 + r"]{22}_[" + B62 + r"]{59}" + _R, "github_pat_"),
    # -- GitLab: personal/deploy/runner/trigger/... tokens, runner registration tokens.
    _f("gitlab_token", r"gl(?:pat|dt|rt|ptt|soat|cbt|ffct|imt|agent|oas|ft)-[" + B64URL + r"]{20,}",
       "gl"),
    _f("gitlab_token", r"GR1348941[" + B64URL + r"]{20}" + _R, "GR1348941"),
    # -- Atlassian (Bitbucket app passwords, Jira/Confluence API tokens).
    _f("bitbucket_app_password", r"ATBB[A-Za-z0-9_=.-]{32}" + _R, "ATBB"),
    _f("atlassian_api_token", r"AT(?:ATT|CTT)3[A-Za-z0-9_=-]{150,}", "ATATT3", "ATCTT3"),
    # -- Slack: bot/user/app/refresh/legacy tokens, app-level tokens, configuration tokens, webhooks.
    _f("slack_token", r"xox[abposre]-[0-9A-Za-z-]{10,}", "xox"),
    _f("slack_token", r"xoxe\.xox[bp]-\d-[A-Za-z0-9]{150,}", "xoxe.xox"),
    _f("slack_token", r"xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]{32,}", "xapp-"),
    _f("slack_webhook", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{20,}", "hooks.slack.com"),
    # -- payments and commerce.
    _f("stripe_key", r"(?:sk|rk|pk)_(?:live|test)_[" + B62 + r"]{10,247}" + _R, "_live_", "_test_"),
    _f("stripe_key", r"whsec_[" + B62 + r"]{32,}" + _R, "whsec_"),
    _f("square_token", r"(?:sq0atp-[" + B64URL + r"]{22}|sq0csp-[" + B64URL + r"]{43}|EAAA[" + B64URL + r"]{60})" + _R,
       "sq0atp-", "sq0csp-", "EAAA"),
    _f("shopify_token", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}" + _R, "shpat_", "shpca_", "shppa_", "shpss_"),
    # -- AI providers: Anthropic (`sk-ant-api03-`, 93 + `AA`), OpenAI (the `T3BlbkFJ` marker, or a project,
    # service-account or admin prefix), Hugging Face (`hf_` + 34 letters), Perplexity.
    _f("anthropic_key", r"sk-ant-(?:api|admin|oat|ort)\d\d-[" + B64URL + r"]{80,}", "sk-ant-"),
    _f("openai_key", r"sk-(?:(?:proj|svcacct|admin|None)-)?[" + B64URL + r"]{16,}T3BlbkFJ[" + B64URL + r"]{16,}",
       "T3BlbkFJ"),
    _f("openai_key", r"sk-(?:proj|svcacct|admin)-[" + B64URL + r"]{40,}", "sk-proj-", "sk-svcacct-", "sk-admin-"),
    _f("huggingface_token", r"(?:hf|api_org)_[A-Za-z]{34}" + _R, "hf_", "api_org_"),
    _f("perplexity_key", r"pplx-[" + B62 + r"]{48}" + _R, "pplx-"),
    # -- developer platforms.
    _f("databricks_token", r"dapi[a-f0-9]{32}(?:-\d)?" + _R, "dapi"),
    _f("okta_token", r"\bSSWS\s+(?P<s>00[" + B64URL + r"]{40})" + _R, "SSWS"),
    _f("vault_token", r"hv[sbr]\.[" + B64URL + r"]{24,}", "hvs.", "hvb.", "hvr."),
    _f("terraform_token", r"[" + B62 + r"]{14}\.atlasv1\.[" + B64URL + r"=]{60,70}", ".atlasv1."),
    _f("doppler_token", r"dp\.(?:pt|st|sa|ct|scim|audit)\.[" + B62 + r"]{40,44}" + _R, "dp."),
    _f("flyio_token", r"(?:fo1_[" + B64URL + r"]{43}|fm[12][ar]?_[A-Za-z0-9+/=_-]{50,})", "fo1_", "fm1", "fm2"),
    _f("sourcegraph_token", r"sg[ps]_(?:[a-fA-F0-9]{16}_)?[a-fA-F0-9]{40}" + _R, "sgp_", "sgs_"),
    _f("grafana_token", r"(?:glc_[A-Za-z0-9+/]{32,}={0,2}|glsa_[" + B62 + r"]{32}_[A-Fa-f0-9]{8})", "glc_", "glsa_"),
    _f("sentry_token", r"(?:sntrys_eyJ[A-Za-z0-9+/=_-]{60,}|sntryu_[a-f0-9]{64})", "sntrys_", "sntryu_"),
    _f("notion_token", r"(?:secret_[" + B62 + r"]{43}|ntn_\d{11}[" + B62 + r"]{35})" + _R, "secret_", "ntn_"),
    _f("linear_key", r"(?:lin_api_[" + B62 + r"]{40}|lin_oauth_[a-f0-9]{64})" + _R, "lin_api_", "lin_oauth_"),
    _f("cloudflare_key", r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}" + _R, "v1.0-"),
    _f("heroku_key", r"HRKU-AA[" + B64URL + r"]{58}" + _R, "HRKU-"),
    _f("npm_token", r"npm_[" + B62 + r"]{36}" + _R, "npm_"),
    _f("pypi_token", r"pypi-AgE[" + B64URL + r"]{50,}", "pypi-AgE"),
    _f("dockerhub_token", r"dckr_(?:pat|oat)_[" + B64URL + r"]{27,}", "dckr_pat_", "dckr_oat_"),
    _f("onepassword_token", r"ops_eyJ[A-Za-z0-9+/=_-]{100,}", "ops_eyJ"),
    _f("onepassword_secret_key", r"A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-"
                                      r"[A-Z0-9]{5}" + _R, "A3-"),
    # -- messaging and e-mail services.
    _f("twilio_key", r"SK[0-9a-f]{32}" + _R),
    _f("twilio_key", r"AC[0-9a-f]{32}" + _R),
    _f("sendgrid_key", r"SG\.[" + B64URL + r"]{22}\.[" + B64URL + r"]{43}" + _R, "SG."),
    _f("mailchimp_key", r"[0-9a-f]{32}-us\d{1,2}" + _R, "-us"),
    _f("telegram_bot_token", r"\d{8,10}:AA[" + B64URL + r"]{33}" + _R, ":AA"),
    _f("discord_token", r"[MNO][" + B64URL + r"]{23,25}\.[" + B64URL + r"]{6}\.[" + B64URL + r"]{27,38}" + _R, "."),
    _f("discord_webhook", r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[" + B64URL + r"]{60,68}",
       "/api/webhooks/"),
    # -- JSON Web Tokens: base64url of `{"` is `eyJ`, for the header and (nearly always) the claims.
    _f("jwt", r"eyJ[" + B64URL + r"]{8,}\.eyJ[" + B64URL + r"]{8,}\.[" + B64URL + r"]{8,}", "eyJ"),
)
