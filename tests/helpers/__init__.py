"""What several test files share: fixtures' builders, fake servers, labelled cases. No test lives here, and no
test file imports another test file (tests/cross_package/test_tests_layout.py checks it)."""
