package admin_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "gitlab.com/ec2spot/fleeting-plugin-ec2spot/"

// admin sits beside provider, above ec2spot, and only the command imports
// it: the plugin never carries the tools for people, and the AWS floor
// never reaches up.
func TestOnlyTheCommandImportsAdmin(t *testing.T) {
	root := ".."
	mayImportAdmin := map[string]bool{"cmd/fleeting-plugin-ec2spot": true, "admin": true}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		dir := filepath.ToSlash(filepath.Dir(rel))
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case p == module+"admin" && !mayImportAdmin[dir]:
				t.Errorf("%s imports admin: only cmd/fleeting-plugin-ec2spot may", rel)
			case strings.HasPrefix(dir, "ec2spot") && (p == module+"provider" || p == module+"admin"):
				t.Errorf("%s (the AWS floor) imports %s", rel, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
