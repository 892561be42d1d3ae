package apache

// Reading Apache config text: directives, sections, continuation lines and quoted arguments.

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// directive is one directive or section line, continuation lines joined.
type directive struct {
	line     int
	name     string // lower case; "<virtualhost" opens a section, "</virtualhost" closes one
	spelling string // as written
	args     []string
}

// readDirectives splits a config into directives: '#' lines are comments, a trailing backslash
// continues a line, and arguments may be quoted ("..." or '...', backslash escapes).
func readDirectives(r io.Reader) ([]directive, error) {
	var out []directive
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n, start := 0, 0
	var pending strings.Builder
	for sc.Scan() {
		n++
		text := sc.Text()
		if pending.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(text, "\\") {
			pending.WriteString(strings.TrimSuffix(text, "\\") + " ")
			continue
		}
		pending.WriteString(text)
		full := strings.TrimSpace(pending.String())
		pending.Reset()
		if full == "" || strings.HasPrefix(full, "#") {
			continue
		}
		words, err := splitWords(full)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", start, err)
		}
		d := directive{line: start, name: strings.ToLower(words[0]), spelling: words[0], args: words[1:]}
		if strings.HasPrefix(d.name, "<") {
			d.name = strings.TrimSuffix(d.name, ">")
			if last := len(d.args) - 1; last >= 0 {
				d.args[last] = strings.TrimSuffix(d.args[last], ">")
				if d.args[last] == "" {
					d.args = d.args[:last]
				}
			}
		}
		out = append(out, d)
	}
	return out, sc.Err()
}

// splitWords splits a line into words at spaces and tabs; a quote starts a run that keeps
// its spaces (backslash escapes the next character inside it).
func splitWords(s string) ([]string, error) {
	var words []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return words, nil
		}
		// A quote starts a run that may hold spaces, at the start of a word ("a=b c", as
		// Apache reads it) or after its first characters (a="b c", as people also write it).
		var w strings.Builder
		i := 0
		for ; i < len(s) && s[i] != ' ' && s[i] != '\t'; i++ {
			q := s[i]
			if q != '"' && q != '\'' {
				w.WriteByte(q)
				continue
			}
			for i++; i < len(s) && s[i] != q; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				w.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, fmt.Errorf("unterminated %c quote", q)
			}
		}
		s = s[i:]
		words = append(words, w.String())
	}
}
