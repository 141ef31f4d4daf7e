"""The labelled set for secret redaction: positives per format and per context, and look-alike negatives.

Every token is built at run time from its issuer's documented shape (prefix, length, charset) with a
seeded RNG, so no literal credential sits in the repository and each run sees the same set. The truth of a
case is how it was built, never what the redactor says about it.
"""
from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import uuid
import zlib
from dataclasses import dataclass

LOWER, UPPER, DIGITS = string.ascii_lowercase, string.ascii_uppercase, string.digits
B62 = DIGITS + UPPER + LOWER
B64URL = B62 + "-_"
HEX = "0123456789abcdef"
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"


@dataclass(frozen=True)
class Case:
    text: str
    secret: str | None  # the planted credential, absent after redaction; None for a look-alike
    kind: str           # the rule family (positives) or the look-alike family (negatives)
    context: str        # go, yaml, env, json, toml, shell, dockerfile, diff, markdown


def _s(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _mixed(rng: random.Random, alphabet: str, n: int) -> str:
    """Random, but with a digit, an upper- and a lower-case letter where the alphabet has them (as real ones do)."""
    while True:
        s = _s(rng, alphabet, n)
        if all(any(c in s for c in cls) for cls in (LOWER, UPPER, DIGITS) if set(cls) & set(alphabet)):
            return s


def _github(rng: random.Random, prefix: str) -> str:
    body = _mixed(rng, B62, 30)  # 30 random base62 characters, then a 6-character base62 CRC32 of them
    n, check = zlib.crc32(body.encode()), ""
    while n:
        n, r = divmod(n, 62)
        check = B62[r] + check
    return f"{prefix}_{body}{check.rjust(6, '0')}"


def _jwt(rng: random.Random) -> str:
    """RFC 7519: base64url JSON header and claims, then an HMAC-SHA256-sized signature."""
    def b64(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")
    claims = {"sub": _s(rng, DIGITS, 10), "name": _s(rng, LOWER, 8), "iat": rng.randint(1_500_000_000, 1_800_000_000)}
    return f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims)}.{_mixed(rng, B64URL, 43)}"


def _pem(rng: random.Random, label: str) -> str:
    body = base64.b64encode(rng.randbytes(180)).decode()
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----"


# kind -> token builders (each from the format's documented prefix, length and charset)
FORMATS = {
    "aws_access_key": [lambda r: "AKIA" + _mixed(r, UPPER + "234567", 16), lambda r: "ASIA" + _mixed(r, UPPER + "234567", 16)],
    "gcp_api_key": [lambda r: "AIza" + _mixed(r, B64URL, 35)],
    "gcp_oauth_secret": [lambda r: "GOCSPX-" + _mixed(r, B64URL, 28)],
    "azure_storage_key": [lambda r: "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey="
                          + _mixed(r, B62 + "+/", 86) + "==;EndpointSuffix=core.windows.net"],
    "azure_sas_signature": [lambda r: f"https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sr=b&sig="
                            f"{_mixed(r, B62 + '+/', 43)}%3D"],
    "gcp_oauth_token": [lambda r: "ya29." + _mixed(r, B64URL, 120)],
    "discord_webhook": [lambda r: f"https://discord.com/api/webhooks/{r.randint(10**17, 10**18)}/{_mixed(r, B64URL, 68)}"],
    "azure_client_secret": [lambda r: _mixed(r, B62, 3) + str(r.randint(0, 9)) + "Q~" + _mixed(r, B62 + "_~.-", 34)],
    "github_token": [lambda r, p=p: _github(r, p) for p in ("ghp", "gho", "ghu", "ghs", "ghr")]
    + [lambda r: f"github_pat_{_mixed(r, B62, 22)}_{_mixed(r, B62, 59)}"],
    "gitlab_token": [lambda r: "glpat-" + _mixed(r, B64URL, 20), lambda r: "glrt-" + _mixed(r, B64URL, 20)],
    "bitbucket_app_password": [lambda r: "ATBB" + _mixed(r, B62, 32)],
    "atlassian_api_token": [lambda r: "ATATT3xFfGF0" + _mixed(r, B64URL, 170) + "=" + _s(r, HEX.upper(), 8)],
    "slack_token": [lambda r, p=p: f"{p}-{r.randint(10**10, 10**11)}-{r.randint(10**10, 10**11)}-{_mixed(r, B62, 24)}"
                    for p in ("xoxb", "xoxp")]
    + [lambda r: f"xapp-1-A{_s(r, UPPER + DIGITS, 10)}-{r.randint(10**12, 10**13)}-{_s(r, HEX, 64)}"],
    "slack_webhook": [lambda r: f"https://hooks.slack.com/services/T{_s(r, UPPER + DIGITS, 8)}/B{_s(r, UPPER + DIGITS, 8)}/"
                      + _mixed(r, B62, 24)],
    "stripe_key": [lambda r: "sk_live_" + _mixed(r, B62, 24), lambda r: "rk_live_" + _mixed(r, B62, 99),
                   lambda r: "whsec_" + _mixed(r, B62, 32)],
    "square_token": [lambda r: "sq0atp-" + _mixed(r, B64URL, 22), lambda r: "EAAA" + _mixed(r, B64URL, 60)],
    "shopify_token": [lambda r: "shpat_" + _s(r, HEX, 32)],
    "openai_key": [lambda r: "sk-" + _mixed(r, B62, 20) + "T3BlbkFJ" + _mixed(r, B62, 20),
                   lambda r: "sk-proj-" + _mixed(r, B64URL, 124)],
    "anthropic_key": [lambda r: "sk-ant-api03-" + _mixed(r, B64URL, 93) + "AA"],
    "huggingface_token": [lambda r: "hf_" + _mixed(r, LOWER + UPPER, 34)],
    "perplexity_key": [lambda r: "pplx-" + _mixed(r, B62, 48)],
    "databricks_token": [lambda r: "dapi" + _s(r, HEX, 32)],
    "okta_token": [lambda r: "SSWS 00" + _mixed(r, B64URL, 40)],
    "vault_token": [lambda r: "hvs." + _mixed(r, B64URL, 24), lambda r: "hvs." + _mixed(r, B64URL, 90)],
    "terraform_token": [lambda r: _mixed(r, B62, 14) + ".atlasv1." + _mixed(r, B64URL, 67)],
    "doppler_token": [lambda r: "dp.pt." + _mixed(r, B62, 43), lambda r: "dp.st." + _mixed(r, B62, 40)],
    "flyio_token": [lambda r: "fo1_" + _mixed(r, B64URL, 43), lambda r: "fm2_" + _mixed(r, B62 + "+/", 120)],
    "sourcegraph_token": [lambda r: "sgp_" + _s(r, HEX, 16) + "_" + _s(r, HEX, 40)],
    "grafana_token": [lambda r: "glc_" + _mixed(r, B62, 60) + "==", lambda r: "glsa_" + _mixed(r, B62, 32) + "_" + _s(r, HEX, 8)],
    "sentry_token": [lambda r: "sntryu_" + _s(r, HEX, 64), lambda r: "sntrys_eyJ" + _mixed(r, B62, 100)],
    "notion_token": [lambda r: "ntn_" + _s(r, DIGITS, 11) + _mixed(r, B62, 35), lambda r: "secret_" + _mixed(r, B62, 43)],
    "linear_key": [lambda r: "lin_api_" + _mixed(r, B62, 40)],
    "cloudflare_key": [lambda r: "v1.0-" + _s(r, HEX, 24) + "-" + _s(r, HEX, 146)],
    "heroku_key": [lambda r: "HRKU-AA" + _mixed(r, B64URL, 58)],
    "twilio_key": [lambda r: "SK" + _s(r, HEX, 32)],
    "sendgrid_key": [lambda r: f"SG.{_mixed(r, B64URL, 22)}.{_mixed(r, B64URL, 43)}"],
    "mailchimp_key": [lambda r: _s(r, HEX, 32) + f"-us{r.randint(1, 21)}"],
    "telegram_bot_token": [lambda r: f"{r.randint(10**8, 10**9)}:AA{_mixed(r, B64URL, 33)}"],
    "discord_token": [lambda r: "M" + _mixed(r, B64URL, 23) + "." + _mixed(r, B64URL, 6) + "." + _mixed(r, B64URL, 27)],
    "npm_token": [lambda r: "npm_" + _mixed(r, B62, 36)],
    "pypi_token": [lambda r: "pypi-AgEIcHlwaS5vcmc" + _mixed(r, B64URL, 70)],
    "dockerhub_token": [lambda r: "dckr_pat_" + _mixed(r, B64URL, 27)],
    "onepassword_token": [lambda r: "ops_eyJ" + _mixed(r, B64URL, 200)],
    "onepassword_secret_key": [lambda r: "A3-" + "-".join(_s(r, UPPER + DIGITS, n) for n in (6, 6, 5, 5, 5, 5))],
    "age_secret_key": [lambda r: "AGE-SECRET-KEY-1" + _s(r, BECH32, 58)],
    "jwt": [lambda r: _jwt(r)],
}

# Where a token sits: a neutral name, so only the format (not the key) can give it away.
FORMAT_CONTEXTS = {
    "go": 'func init() {\n\tclient := api.New("{t}")\n\t_ = client\n}\n',
    "yaml": "service:\n  endpoint: https://api.internal\n  value: {t}\n",
    "env": "REGION=eu-west-1\nVALUE={t}\n",
    "json": '{"name": "svc", "value": "{t}"}\n',
    "toml": '[service]\nvalue = "{t}"\n',
    "shell": "#!/bin/sh\nexec ./tool --region eu --with {t}\n",
    "dockerfile": "FROM golang:1.22\nENV VALUE={t}\nRUN go build ./...\n",
    "diff": 'diff --git a/x.go b/x.go\n@@ -1,3 +1,3 @@\n-\tv := ""\n+\tv := "{t}"\n',
    "markdown": "Run the tool:\n\n```sh\ntool login {t}\n```\n",
}

PRIVATE_KEY_LABELS = ("RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "OPENSSH PRIVATE KEY", "PRIVATE KEY",
                      "ENCRYPTED PRIVATE KEY", "PGP PRIVATE KEY BLOCK")

# Keys that name a secret (any case style), the kind their value gets, and whether it is a password.
SECRET_KEYS = [
    ("password", "password"), ("db_password", "password"), ("dbPassword", "password"), ("DB_PASSWD", "password"),
    ("smtp-pwd", "password"), ("secret", "secret"), ("client_secret", "secret"), ("clientSecret", "secret"),
    ("api_key", "api_key"), ("apiKey", "api_key"), ("X_API_KEY", "api_key"), ("access_key", "secret"),
    ("AwsSecretAccessKey", "aws_secret_key"), ("aws_secret_access_key", "aws_secret_key"), ("awsSecret", "aws_secret_key"),
    ("token", "token"), ("auth_token", "token"), ("authToken", "token"), ("GITHUB_TOKEN", "token"), ("auth", "secret"),
    ("credentials", "secret"), ("signing-key", "secret"), ("cohere_api_key", "api_key"),
]

CONTEXT_TEMPLATES = {
    "go": 'const {camel} = "{v}"\n',
    "go_struct": 'cfg := Config{{\n\tHost: "db",\n\t{pascal}: "{v}",\n}}\n',
    "go_setenv": 'os.Setenv("{upper}", "{v}")\n',
    "yaml": "db:\n  host: localhost\n  {snake}: {v}\n",
    "yaml_quoted": "{snake}: '{v}'\n",
    "json": '{{"host": "db", "{raw}": "{v}"}}\n',
    "toml": '[db]\n{snake} = "{v}"\n',
    "env": "HOST=db\n{upper}={v}\n",
    "shell": 'export {upper}="{v}"\n./deploy --{kebab}={v}\n',
    "dockerfile": "FROM alpine\nENV {upper} {v}\nARG {upper}={v}\n",
    "diff": "--- a/.env\n+++ b/.env\n@@ -1 +1 @@\n-{upper}=\n+{upper}={v}\n",
}


def _words(key: str) -> list[str]:
    out, word = [], ""
    for c in key:
        if c in "_-":
            out, word = out + [word], ""
        elif c.isupper() and word and word[-1].islower():
            out, word = out + [word], c
        else:
            word += c
    return [w.lower() for w in out + [word] if w]


def _styles(key: str) -> dict[str, str]:
    w = _words(key)
    return {"raw": key, "snake": "_".join(w), "upper": "_".join(w).upper(), "kebab": "-".join(w),
            "camel": w[0] + "".join(x.title() for x in w[1:]), "pascal": "".join(x.title() for x in w)}


def _password(rng: random.Random) -> str:
    return _mixed(rng, LOWER + UPPER + DIGITS, rng.randint(8, 14)) + rng.choice("!#%^*+") + str(rng.randint(0, 9))


def _token(rng: random.Random) -> str:
    return _mixed(rng, B62 + "/+", 40)


def positives(seed: int = 20) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for kind, builders in FORMATS.items():
        for build in builders:
            for ctx, tpl in FORMAT_CONTEXTS.items():
                t = build(rng)
                cases.append(Case(tpl.replace("{t}", t), t.removeprefix("SSWS "), kind, ctx))
    for label in PRIVATE_KEY_LABELS:
        pem = _pem(rng, label)
        body = pem.splitlines()[1]
        cases.append(Case(f"testdata/key.pem:\n{pem}\n", body, "private_key", "pem"))
        go_string = pem.replace("\n", "\\n")
        cases.append(Case(f'const key = "{go_string}"\n', body, "private_key", "go"))
        cases.append(Case("+" + pem.replace("\n", "\n+") + "\n", body, "private_key", "diff"))
        gcp = pem.replace("\n", "\\n")
        cases.append(Case(f'{{"type": "service_account", "private_key": "{gcp}\\n"}}', body, "private_key", "json"))
    truncated = _pem(rng, "RSA PRIVATE KEY").rsplit("\n", 3)[0]  # a diff hunk cut off before the END line
    cases.append(Case(f"+{truncated}\n", truncated.splitlines()[1], "private_key", "diff"))
    for key, kind in SECRET_KEYS:
        styles = _styles(key)
        for ctx, tpl in CONTEXT_TEMPLATES.items():
            v = _password(rng) if kind == "password" else _token(rng)
            cases.append(Case(tpl.format(**styles, v=v), v, kind, ctx))
    for _ in range(3):
        pw, tok, secret = _password(rng), _token(rng), _token(rng)
        cases += [
            Case(f'dsn := "postgres://app:{pw}@db.internal:5432/app?sslmode=disable"\n', pw, "url_password", "go"),
            Case(f"DATABASE_URL=mysql://root:{pw}@tcp(localhost:3306)/shop\n", pw, "url_password", "env"),
            Case(f'req.Header.Set("Authorization", "Bearer {tok}")\n', tok, "authorization", "go"),
            Case(f'curl -H "Authorization: token {tok}" https://api.example.com/user\n', tok, "authorization", "shell"),
            Case(f"curl -u deploy:{pw} https://ci.internal/job\n", pw, "password", "shell"),
            Case(f"machine api.github.com login bob password {pw}\n", pw, "password", "netrc"),
            Case(f"<server>\n  <id>central</id>\n  <username>deploy</username>\n  <password>{pw}</password>\n</server>\n",
                 pw, "password", "xml"),
            Case(f'creds := credentials.NewStaticCredentials("{FORMATS["aws_access_key"][0](rng)}", "{secret}", "")\n',
                 secret, "aws_secret_key", "go"),
        ]
    for _ in range(4):
        user = _s(rng, LOWER, rng.randint(3, 8)) + "." + _s(rng, LOWER, rng.randint(3, 8))
        domain = _s(rng, LOWER, rng.randint(4, 9)) + rng.choice([".com", ".io", ".de", ".co.uk"])
        addr = f"{user}@{domain}"
        cases += [Case(f"// Maintainer: {user.title()} <{addr}>\n", addr, "email", "go"),
                  Case(f"Signed-off-by: {user} <{addr}>\n", addr, "email", "commit"),
                  Case(f"Questions to {addr}, thanks!\n", addr, "email", "markdown")]
    return cases


def negatives(seed: int = 20) -> list[Case]:
    """Look-alikes that must survive: checksums, commit ids, UUIDs, placeholders, code references, SSH remotes,
    documented test vectors, public keys and certificates, bare prefixes."""
    rng = random.Random(seed + 1)
    cases = []

    def add(kind: str, ctx: str, *texts: str):
        cases.extend(Case(t, None, kind, ctx) for t in texts)

    for _ in range(20):
        h1 = base64.b64encode(hashlib.sha256(rng.randbytes(16)).digest()).decode()
        commit_id = rng.randbytes(20).hex()
        sha = rng.randbytes(32).hex()
        u = str(uuid.UUID(bytes=rng.randbytes(16)))
        add("go_sum", "go.sum", f"golang.org/x/{_s(rng, LOWER, 5)} v0.{rng.randint(1, 30)}.0 h1:{h1}\n")
        add("commit_id", "commit", f"This reverts commit {commit_id}.\n", f"Fixes: {commit_id[:12]} (\"net: fix it\")\n")
        add("commit_id", "yaml", f"    - uses: actions/checkout@{commit_id}\n")
        add("checksum", "go", f'var want = "{sha}" // sha256 of testdata/a.txt\n', f"sha256sum: {sha}\n")
        add("uuid", "go", f'id := uuid.MustParse("{u}")\n', f"request_id: {u}\n")
        add("pseudo_version", "go.mod", f"\tgolang.org/x/tools v0.0.0-2026{rng.randint(10**9, 10**10 - 1)}-{commit_id[:12]}\n")
        add("base64_data", "go", f'{{in: "{base64.b64encode(rng.randbytes(30)).decode()}", out: "x"}},\n')
    add("placeholder", "go", 'const awsKey = "AKIAIOSFODNN7EXAMPLE"\n',
        'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n',
        'token := "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"\n', 'apiKey := "YOUR_API_KEY"\n',
        'password := "<password>"\n', 'password := os.Getenv("DB_PASSWORD")\n', "Password: cfg.Password,\n",
        'secret := fmt.Sprintf("%s:%s", user, pass)\n', "Token: tok,\n", "Password: password16,\n",
        "password = defaultPassword\n", 'u := "postgres://user:password@localhost/db"\n')
    add("placeholder", "yaml", "password: ${DB_PASSWORD}\n", "token: <token>\n", "api_key: '{{ .Values.apiKey }}'\n",
        "secret: changeme\n", "password: \"\"\n", "client_secret: ********\n", "kind: Secret\n", "secretName: db-creds\n")
    add("placeholder", "env", "DB_PASSWORD=\n", "API_TOKEN=$API_TOKEN\n", "GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}\n")
    add("placeholder", "shell", 'curl -u "$USER:$PASS" https://x\n', "docker login -u user -p $DOCKER_PASSWORD\n")
    add("ssh_remote", "shell", "git clone git@github.com:golang/go.git\n", "git remote add up ssh://git@gitlab.com/a/b.git\n",
        'url = "git@bitbucket.org:team/repo.git"\n')
    add("example_email", "go", "// Contact: gopher@example.com\n", 'to := "nobody@example.org"\n')
    add("module_at_version", "shell", "go install golang.org/x/tools/gopls@v0.16.1\n", "go get example.com/m@latest\n")
    add("code_reference", "go", 'tokenType := "Bearer"\n', "maxTokens := 1024\n", 'if password == "" {\n',
        'if strings.HasPrefix(tok, "ghp_") {\n', 'prefix := "sk_test_"\n', 'const xoxo = "hugs"\n',
        'Password string `json:"password,omitempty"`\n', 'import (\n\t"go/scanner"\n\t"go/token"\n\t"hash/adler32"\n)\n',
        'hdrs := []string{\n\t"access-control-allow-credentials",\n\t"access-control-allow-headers",\n}\n',
        'req.Header.Set("Authorization", "Bearer "+token)\n', "// The token: is parsed by the scanner.\n",
        'passwordHint := "at least 12 characters"\n', 'secretKeyRef:\n  name: app\n  key: password\n',
        "machine example.com login anonymous password ${NETRC_PASSWORD}\n", "<password>${env.PASSWORD}</password>\n",
        "<token>{{ .Token }}</token>\n", "<secretName>db-creds</secretName>\n",
        '\t"encryptionKey": "encryptionKey1024",\n', "// downloadModule runs 'go mod download' for m.Path@m.Version,\n")
    vectors = "\n".join(f'\t{{PrivateKey: "{rng.randbytes(32).hex()}", SharedSecret: "{rng.randbytes(32).hex()}"}},'
                        for _ in range(3))
    add("test_vector", "go", f"// NIST vectors from CAVS 14.1, ECC CDH Primitive (SP800-56A).\nvar vectors = []struct{{}}{{\n{vectors}\n}}\n",
        f'// RFC 4231 test case 2\nkey := "{rng.randbytes(20).hex()}"\nsecret := "{rng.randbytes(20).hex()}"\n')
    add("public_pem", "pem", _pem(rng, "CERTIFICATE") + "\n", _pem(rng, "PUBLIC KEY") + "\n",
        _pem(rng, "PGP PUBLIC KEY BLOCK") + "\n", "ssh-ed25519 " + base64.b64encode(rng.randbytes(51)).decode() + " me\n")
    add("hex_table", "go", "var k = [...]uint32{" + ", ".join(f"0x{rng.getrandbits(32):08x}" for _ in range(8)) + "}\n")
    return cases
