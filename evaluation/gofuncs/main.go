// gofuncs reads Go source files as JSON lines on stdin ({"id": ..., "content": ...}) and writes one JSON
// line per function or method with a body: byte offsets of its doc comment, signature and body braces.
// The evaluator mines function-body completion tasks from these offsets (trainers/eval/gotasks.py).
package main

import (
	"bufio"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
)

type file struct {
	ID      string `json:"id"`
	Content string `json:"content"`
}

type function struct {
	ID        string `json:"id"`
	Package   string `json:"package"`
	Name      string `json:"name"`
	Recv      bool   `json:"recv"`
	DocStart  int    `json:"doc_start"` // -1 without a doc comment
	FuncStart int    `json:"func_start"`
	LBrace    int    `json:"lbrace"`
	RBrace    int    `json:"rbrace"`
	BodyLines int    `json:"body_lines"`
	Error     string `json:"error,omitempty"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<30)
	bw := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer bw.Flush()
	w := json.NewEncoder(bw)
	for in.Scan() {
		var f file
		if err := json.Unmarshal(in.Bytes(), &f); err != nil {
			w.Encode(function{Error: "bad input line: " + err.Error()})
			continue
		}
		fset := token.NewFileSet()
		parsed, err := parser.ParseFile(fset, f.ID, f.Content, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			w.Encode(function{ID: f.ID, Error: err.Error()})
			continue
		}
		for _, decl := range parsed.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			rec := function{
				ID: f.ID, Package: parsed.Name.Name, Name: fn.Name.Name, Recv: fn.Recv != nil, DocStart: -1,
				FuncStart: fset.Position(fn.Pos()).Offset,
				LBrace:    fset.Position(fn.Body.Lbrace).Offset,
				RBrace:    fset.Position(fn.Body.Rbrace).Offset,
				BodyLines: fset.Position(fn.Body.Rbrace).Line - fset.Position(fn.Body.Lbrace).Line,
			}
			if fn.Doc != nil {
				rec.DocStart = fset.Position(fn.Doc.Pos()).Offset
			}
			w.Encode(rec)
		}
	}
	if err := in.Err(); err != nil {
		w.Encode(function{Error: "reading stdin: " + err.Error()})
	}
}
