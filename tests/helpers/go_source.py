"""Small hand-written Go packages for the transforms tests: eight functions, rendered as a file of a package."""
from __future__ import annotations

FUNCS = [
    ("Join", "words []string, sep string", "string",
     "var parts []string\n\tfor _, w := range words {\n\t\tif w != \"\" {\n\t\t\tparts = append(parts, w)\n\t\t}\n\t}\n\treturn strings.Join(parts, sep)"),
    ("Reverse", "s string", "string",
     "r := []rune(s)\n\tfor i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {\n\t\tr[i], r[j] = r[j], r[i]\n\t}\n\treturn string(r)"),
    ("CountVowels", "s string", "int",
     "n := 0\n\tfor _, c := range strings.ToLower(s) {\n\t\tswitch c {\n\t\tcase 'a', 'e', 'i', 'o', 'u':\n\t\t\tn++\n\t\t}\n\t}\n\treturn n"),
    ("Title", "s string", "string",
     "if s == \"\" {\n\t\treturn s\n\t}\n\treturn strings.ToUpper(s[:1]) + s[1:]"),
    ("Repeat", "s string, n int", "string",
     "var b strings.Builder\n\tfor i := 0; i < n; i++ {\n\t\tb.WriteString(s)\n\t}\n\treturn b.String()"),
    ("Describe", "name string, age int", "string",
     "return fmt.Sprintf(\"%s is %d years old\", name, age)"),
    ("Clamp", "x, lo, hi int", "int",
     "if x < lo {\n\t\treturn lo\n\t}\n\tif x > hi {\n\t\treturn hi\n\t}\n\treturn x"),
    ("Words", "s string", "[]string",
     "return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })"),
]


def go_source(pkg: str, funcs=FUNCS, tweak: str = "") -> str:
    body = "".join(f"// {n} is part of the {pkg} helpers.\nfunc {n}({a}) {r} {{\n\t{b}\n}}\n\n" for n, a, r, b in funcs)
    return f"// Copyright 2024 The Acme Authors.\n\npackage {pkg}\n\nimport (\n\t\"fmt\"\n\t\"strings\"\n)\n\n{body}{tweak}"
