package config

import (
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// keyLines maps every key of a TOML document (its full path: table names, keys and array
// indices) to the line it is written on, so that errors found after decoding can still say
// where. go-toml's decoder keeps no positions; its unstable parser does.
type keyLines map[string]int

func pathKey(path []string) string { return strings.Join(path, "\x00") }

// line is where path was written; for a key the file does not hold (a missing one), the
// nearest enclosing table's line.
func (k keyLines) line(path ...string) int {
	for n := len(path); n > 0; n-- {
		if l, ok := k[pathKey(path[:n])]; ok {
			return l
		}
	}
	return 0
}

// indexKeyLines walks a document that has already decoded without error.
func indexKeyLines(doc []byte) keyLines {
	lines := keyLines{}
	arrays := map[string]int{} // [[array]] path → elements seen so far
	var p unstable.Parser
	p.Reset(doc)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			key, line := keyPath(&p, e.Key())
			if e.Kind == unstable.ArrayTable {
				n := arrays[pathKey(key)]
				arrays[pathKey(key)] = n + 1
				lines[pathKey(key)] = lineIfUnset(lines, key, line)
				key = append(key, strconv.Itoa(n))
			}
			lines[pathKey(key)] = line
			table = key
		case unstable.KeyValue:
			indexKeyValue(&p, lines, table, e)
		}
	}
	return lines
}

func lineIfUnset(lines keyLines, key []string, line int) int {
	if l, ok := lines[pathKey(key)]; ok {
		return l
	}
	return line
}

// indexKeyValue records a key = value line and, inside inline tables and arrays, the keys
// and elements nested in its value.
func indexKeyValue(p *unstable.Parser, lines keyLines, table []string, kv *unstable.Node) {
	rel, line := keyPath(p, kv.Key())
	key := append(append([]string{}, table...), rel...)
	lines[pathKey(key)] = line
	indexValue(p, lines, key, kv.Value(), line)
}

func indexValue(p *unstable.Parser, lines keyLines, key []string, v *unstable.Node, line int) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			indexKeyValue(p, lines, key, it.Node())
		}
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); i++ {
			elem := append(append([]string{}, key...), strconv.Itoa(i))
			n := it.Node()
			elemLine := line
			if n.Kind == unstable.InlineTable {
				if first := n.Child(); first != nil && first.Kind == unstable.KeyValue {
					_, elemLine = keyPath(p, first.Key())
				}
			} else if n.Raw.Length > 0 {
				elemLine = p.Shape(n.Raw).Start.Line
			}
			lines[pathKey(elem)] = elemLine
			indexValue(p, lines, elem, n, elemLine)
		}
	}
}

// keyPath reads a (possibly dotted) key and the line of its first part.
func keyPath(p *unstable.Parser, it unstable.Iterator) ([]string, int) {
	var parts []string
	line := 0
	for it.Next() {
		n := it.Node()
		if line == 0 {
			line = p.Shape(n.Raw).Start.Line
		}
		parts = append(parts, string(n.Data))
	}
	return parts, line
}
