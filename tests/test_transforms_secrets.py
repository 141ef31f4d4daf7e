"""Secret and PII redaction measured on a labelled set of Go-flavoured snippets."""
from __future__ import annotations

from transforms import secrets

# (snippet, the rule that must fire on it)
POSITIVES = [
    ('aws_access_key_id = "AKIAIOSFODNN7QWERTYU"', "aws_access_key"),
    ('creds := Creds{ID: "ASIAY34FZKBOKMUTVV7A"}', "aws_access_key"),
    ('aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKE"', "aws_secret_key"),
    ('token := "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"', "github_token"),
    ('const pat = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"', "github_token"),
    ('gitlab := "glpat-xK9mN2pQ4rS6tU8vW0yZ"', "gitlab_token"),
    ('slack := "xoxb-1234567890-0987654321-AbCdEfGhIjKl"', "slack_token"),
    ('url := "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"', "slack_webhook"),
    ('stripe.Key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"', "stripe_key"),
    ('key := "rk_test_51HqLyjWDarjtT1zdp7dcABCD"', "stripe_key"),
    ('//registry.npmjs.org/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789', "npm_token"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----",
     "private_key"),
    ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oGk6XHkW/IoLoAoGCCqGSM49\n-----END EC PRIVATE KEY-----",
     "private_key"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----",
     "private_key"),
    ('jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV"', "jwt"),
    ('db, _ := sql.Open("mysql", "mysql://root:s3cr3tPass@tcp(localhost:3306)/app")', "url_password"),
    ('resp, _ := http.Get("https://deploy:hunter2@ci.example.com/hook")', "url_password"),
    ("// Maintainer: Jane Doe <jane.doe@acme-corp.com>", "email"),
    ('mail.Send("ops-team+alerts@company.io", msg)', "email"),
    ("Reported-by: bob.smith@university.edu.au", "email"),
]

# Things that look like secrets to an entropy detector and are not: checksums, tables, test vectors, certificates.
NEGATIVES = [
    'var sum = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"',
    "var k = [...]uint32{0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6}",
    'in: "SGVsbG8gV29ybGQhIFRoaXMgaXMgYSB0ZXN0IHZlY3Rvcg==", // RFC 4648 test vector',
    'want: "dGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVyIHRoZSBsYXp5IGRvZw=="',
    'password := os.Getenv("DB_PASSWORD")',
    'u := "https://example.com/path?x=1&y=2"',
    "// go get ssh://git@github.com/golang/go",
    'if strings.HasPrefix(tok, "ghp_") {',
    'const AKIA = "not a key"',
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ3Zd5dG1lY2VydGlmaWNhdGUwCgYIKoZIzj0EAwIwFDES\n-----END CERTIFICATE-----",
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0\n-----END PUBLIC KEY-----",
    'fmt.Sprintf("%s@%s", user, host)',
    'id := "123e4567-e89b-12d3-a456-426614174000"',
    'prefix := "sk_test_"',
    'header := "eyJhbGciOi"',
    "golang.org/x/tools v0.0.0-20260507013755-92041b743c96",
    "h1:Zt7jT9GdtTXYDNp9HgkHPAUZAiSGmmNZ4VGcTA9jA7k=",
    'const xoxo = "hugs and kisses"',
    "//go:generate stringer -type=Op",
    'x := "postgres://localhost:5432/app"',
    "sha512: 0xcf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce",
    'key := []byte("0123456789abcdef0123456789abcdef")',
]


def _measure(detect) -> tuple[float, float]:
    """(precision, recall): a positive counts when detected; every detection on a negative is a false positive."""
    tp = sum(1 for text, rule in POSITIVES if detect(text, rule))
    fp = sum(1 for text in NEGATIVES if detect(text, None))
    return tp / max(tp + fp, 1), tp / len(POSITIVES)


def _rules(text, rule):
    found = {name for name, _ in secrets.find(text)}
    return rule in found if rule else bool(found)


def _entropy(text, rule):
    return bool(secrets.high_entropy_spans(text))


def test_curated_rules_have_high_precision_and_recall_on_the_labelled_set():
    precision, recall = _measure(_rules)
    assert recall == 1.0, [t for t, r in POSITIVES if not _rules(t, r)]
    assert precision >= 0.95, [t for t in NEGATIVES if _rules(t, None)]


def test_entropy_detector_is_noisier_than_the_curated_rules_on_go():
    rule_precision, _ = _measure(_rules)
    entropy_precision, entropy_recall = _measure(_entropy)
    assert entropy_precision < rule_precision
    assert sum(_entropy(t, None) for t in NEGATIVES) >= 3  # checksums and test vectors trip it


def test_redaction_replaces_each_secret_with_its_placeholder_and_counts_it():
    text = 'k := "AKIAIOSFODNN7QWERTYU" // ask jane.doe@acme-corp.com\nu := "https://deploy:hunter2@ci.example.com/x"'
    out, counts = secrets.redact(text)
    assert out == 'k := "<AWS_KEY>" // ask <EMAIL>\nu := "https://<USER>:<PASSWORD>@ci.example.com/x"'
    assert counts == {"aws_access_key": 1, "email": 1, "url_password": 1}


def test_redacted_text_has_no_secret_left_and_redacting_twice_changes_nothing():
    for text, _ in POSITIVES:
        once, _ = secrets.redact(text)
        assert secrets.find(once) == [], once
        assert secrets.redact(once) == (once, {})


def test_aws_secret_redaction_keeps_the_assignment():
    out, _ = secrets.redact('aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKE"')
    assert out == 'aws_secret_access_key = "<KEY>"'
