"""The serialisation grammar: every region marker a document uses is declared in grammar.MARKERS."""
import re

from search.config import CATEGORIES as SEARCH_CATEGORIES
from artifacts import grammar
from transforms import models

_MARKER = re.compile(r"<[A-Z_]+>|<FILE path=")


def _docs():
    comments = [{"author": "rev", "body": "Use `x` here."}, {"author": "bot", "body": ""}]
    return {
        "file": grammar.render_file("o/r", "a/b.go", "package b\n"),
        "readme": grammar.render_readme("o/r", "# R\nprose"),
        "structure": grammar.render_structure("o/r", ["a/b.go", "go.mod"]),
        "pull": grammar.render_pull("o/r", "Fix it", "Body\n", ["a.go"], "diff --git a/a.go b/a.go\n", comments),
        "issue": grammar.render_issue("o/r", "Crash", "It\ncrashes", comments),
        "commit": grammar.render_commit("o/r", "pkg: fix it\n\nBecause.", ["a.go"], "diff\n"),
        "sft": grammar.render_sft("<DIFF>\nd\n", "pkg: fix it"),
    }


def test_every_marker_in_a_rendered_document_is_declared():
    for kind, text in _docs().items():
        used = set(_MARKER.findall(text))
        assert used and used <= set(grammar.MARKERS), (kind, used - set(grammar.MARKERS))


def test_file_document_keeps_the_content_verbatim_after_its_header():
    text = grammar.render_file("o/r", "a/b.go", "package b\n\nfunc F() {}")
    assert text == "<REPO>o/r\n<FILE path=a/b.go>\npackage b\n\nfunc F() {}"


def test_pull_document_lays_out_regions_in_grammar_order_and_drops_empty_comments():
    text = _docs()["pull"]
    order = [text.index(m) for m in ("<REPO>", "<PR_TITLE>", "<PR_BODY>", "<FILES>", "<DIFF>", "<COMMENTS>")]
    assert order == sorted(order)
    assert text.count("<COMMENT>") == 1 and "<COMMENT>\nrev: Use `x` here.\n" in text


def _literals_aliased(model: str, alias: str) -> set[str]:
    """The string constants an expression `AS alias` of sql/MODEL.sql can produce (CASE results, not its tests),
    from DuckDB's parse of the file."""
    tree = models.parse(models.load(model).sql)
    return {node["value"]["value"]
            for aliased in models.syntax_nodes(tree) if aliased.get("alias") == alias
            for node in models.syntax_nodes(aliased, skip=("when_expr",))
            if node.get("class") == "CONSTANT" and node["value"]["type"]["id"] == "VARCHAR"}


def test_the_categories_sql_writes_are_the_grammars():
    assert _literals_aliased("samples", "category") == set(grammar.CATEGORIES)


def test_the_pair_kinds_sql_writes_are_the_grammars():
    assert _literals_aliased("sft_candidates", "kind") == set(grammar.PAIR_KINDS)


def test_search_offers_the_grammars_categories():
    # search takes them from the grammar (artifacts); this holds any future copy to them
    assert SEARCH_CATEGORIES == grammar.CATEGORIES
