"""A small corpus of gold `samples`: PRs, issues and Go files, with one planted document for each search test."""
from __future__ import annotations

import hashlib

from tests.helpers.lakefill import row

PLANTED_QUERY = "nil pointer panic in the HTTP handler when the request body is empty"

# (category, repo, kind, number or path, text). The first is the planted relevant document.
DOCS = [
    ("MIX", "acme/webkit", "pr", 412, """<REPO>acme/webkit
<PR_TITLE>Fix nil pointer dereference in UploadHandler when the request body is empty
<PR_BODY>A POST with an empty body made ServeHTTP panic: r.Body was nil after the middleware
replaced it, and the handler called r.Body.Close() unconditionally. Guard the nil body and return
400 Bad Request instead of crashing the server. Fixes #398.
<DIFF>--- a/upload.go
+++ b/upload.go
@@ func (h *UploadHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
-	defer r.Body.Close()
+	if r.Body == nil || r.ContentLength == 0 {
+		http.Error(w, "empty request body", http.StatusBadRequest)
+		return
+	}
+	defer r.Body.Close()
"""),
    ("MIX", "acme/webkit", "pr", 377, """<REPO>acme/webkit
<PR_TITLE>Add a timeout to the HTTP client used by the webhook sender
<PR_BODY>The default http.Client has no timeout, so a slow receiver could block the sender goroutine
forever. Use a client with a 10 second timeout and make it configurable.
<DIFF>--- a/webhook.go
+++ b/webhook.go
-	resp, err := http.Post(url, "application/json", body)
+	client := &http.Client{Timeout: cfg.Timeout}
+	resp, err := client.Post(url, "application/json", body)
"""),
    ("NAT", "acme/webkit", "issue", 398, """<REPO>acme/webkit
<ISSUE>Server returns 502 after upgrading to v2.3
After upgrading, our reverse proxy reports 502 for a few uploads a day. Nothing in our logs except
the connection being reset. We run behind nginx with keepalive enabled. Any idea what changed?
"""),
    ("MIX", "tidb-lite/kv", "pr", 1021, """<REPO>tidb-lite/kv
<PR_TITLE>Use pointer receivers for the Txn methods
<PR_BODY>Txn was copied on every method call because the methods had value receivers, so Commit
never saw the writes buffered by Set. Switch to pointer receivers throughout.
<DIFF>--- a/txn.go
+++ b/txn.go
-func (t Txn) Set(k, v []byte) {
+func (t *Txn) Set(k, v []byte) {
"""),
    ("NAT", "tidb-lite/kv", "issue", 1003, """<REPO>tidb-lite/kv
<ISSUE>Compaction never runs on Windows
The background compaction goroutine exits immediately on Windows because os.Rename fails when the
destination exists. The data directory keeps growing until the disk is full.
"""),
    ("MIX", "gorilla-ish/router", "pr", 88, """<REPO>gorilla-ish/router
<PR_TITLE>Support path parameters with regular expressions
<PR_BODY>Routes can now be declared as /users/{id:[0-9]+}. The pattern is compiled once when the
route is registered and matched against the path segment on every request.
<DIFF>--- a/route.go
+++ b/route.go
+	re, err := regexp.Compile("^" + pattern + "$")
"""),
    ("NAT", "gorilla-ish/router", "issue", 91, """<REPO>gorilla-ish/router
<ISSUE>Document how middleware ordering works
It is not clear from the README whether middleware registered with Use runs before or after the
route-specific middleware. An example in the docs would help new users.
"""),
    ("MIX", "metrics-go/prom", "pr", 230, """<REPO>metrics-go/prom
<PR_TITLE>Reduce allocations in the histogram Observe path
<PR_BODY>Observe allocated a new slice for every call. Reuse a pooled buffer with sync.Pool; the
benchmark goes from 3 allocs/op to 0 allocs/op and 40% less time.
"""),
    ("CODE", "acme/webkit", "file", "middleware/gzip.go", """<REPO>acme/webkit
<FILE path=middleware/gzip.go>
package middleware

import (
	"compress/gzip"
	"net/http"
	"strings"
)

// Gzip compresses responses for clients that accept gzip encoding.
func Gzip(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			next.ServeHTTP(w, r)
			return
		}
		gz := gzip.NewWriter(w)
		defer gz.Close()
		w.Header().Set("Content-Encoding", "gzip")
		next.ServeHTTP(gzipResponseWriter{Writer: gz, ResponseWriter: w}, r)
	})
}
"""),
    ("CODE", "tidb-lite/kv", "file", "encoding/varint.go", """<REPO>tidb-lite/kv
<FILE path=encoding/varint.go>
package encoding

// PutUvarint encodes x into buf and returns the number of bytes written.
func PutUvarint(buf []byte, x uint64) int {
	i := 0
	for x >= 0x80 {
		buf[i] = byte(x) | 0x80
		x >>= 7
		i++
	}
	buf[i] = byte(x)
	return i + 1
}
"""),
    ("CODE", "metrics-go/prom", "file", "histogram.go", """<REPO>metrics-go/prom
<FILE path=histogram.go>
package prom

import "sort"

// Observe adds a single observation to the histogram.
func (h *Histogram) Observe(v float64) {
	i := sort.SearchFloat64s(h.upperBounds, v)
	h.counts[i].Add(1)
	h.sum.Add(v)
}
"""),
    ("NAT", "metrics-go/prom", "issue", 241, """<REPO>metrics-go/prom
<ISSUE>Counter resets are not detected after a process restart
When the exporter restarts, rate() shows a huge spike because the counter starts from zero again.
Should we expose a process start time metric so that queries can detect the reset?
"""),
]

LICENSES = {"acme/webkit": "MIT", "tidb-lite/kv": "Apache-2.0", "gorilla-ish/router": "BSD-3-Clause",
            "metrics-go/prom": "Apache-2.0"}


def sample_id(repo: str, kind: str, key) -> str:
    return hashlib.sha256(f"{kind}\x00{repo}\x00{key}".encode()).hexdigest()


def sample_row(category: str, repo: str, kind: str, key, text: str, split: str = "train") -> dict:
    return row(
        "samples", sample_id=sample_id(repo, kind, key), split=split, category=category,
        category_rule="test corpus", text=text, bytes=len(text.encode()), repo_id=repo, license=LICENSES[repo],
        commit=hashlib.sha1(repo.encode()).hexdigest(), path=key if kind == "file" else None,
        pr_number=key if kind == "pr" else None, issue_number=key if kind == "issue" else None,
        source_table={"pr": "pull_requests", "issue": "issues", "file": "files"}[kind], lake_snapshot=1)


def corpus_rows() -> list[dict]:
    return [sample_row(*doc) for doc in DOCS]


PLANTED = corpus_rows()[0]
