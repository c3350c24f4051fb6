// Package readme reads the examples and tables of the project README, so
// tests can keep them true.
package readme

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Path is the README's location, found from this source file so tests in
// any package can read it.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "README.md")
}

// CodeBlocks returns the bodies of the README's fenced blocks in language
// lang, in order.
func CodeBlocks(lang string) ([]string, error) {
	data, err := os.ReadFile(Path())
	if err != nil {
		return nil, err
	}
	var blocks []string
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```"+lang {
			continue
		}
		var b strings.Builder
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			b.WriteString(lines[i])
			b.WriteByte('\n')
		}
		blocks = append(blocks, b.String())
	}
	return blocks, nil
}

// BlockAfter returns the body of the first fenced block after the HTML
// comment marker (e.g. "<!-- iam-policy -->").
func BlockAfter(marker string) (string, error) {
	data, err := os.ReadFile(Path())
	if err != nil {
		return "", err
	}
	s := string(data)
	i := strings.Index(s, marker)
	if i < 0 {
		return "", fmt.Errorf("README has no %s marker", marker)
	}
	s = s[i+len(marker):]
	start := strings.Index(s, "```")
	if start < 0 {
		return "", fmt.Errorf("no code block after %s", marker)
	}
	s = s[start+3:]
	s = s[strings.Index(s, "\n")+1:]
	end := strings.Index(s, "```")
	if end < 0 {
		return "", fmt.Errorf("unterminated code block after %s", marker)
	}
	return s[:end], nil
}
