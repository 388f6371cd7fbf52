package config

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/audiencesync/audiencesync/pipelines/config/yamlfield"
)

// Errors name the file and, where the YAML says, the line: `config.yaml:17: kmeans.restarts:
// 1000000000 (want 1..100)`. yaml.v3 gives lines for type errors and unknown keys, but for
// several syntax errors it reports where the enclosing block started (a top-level key
// indented by one space on line 17 comes back as "line 1" or "line 2", or the line before),
// so syntaxError finds the real line itself.

// maxPrefixLines bounds the prefix search of syntaxError (quadratic in the lines).
const maxPrefixLines = 5000

var (
	yamlLineRe = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	pathRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])*(?:\.[A-Za-z0-9_]+(?:\[\d+\])*)*`)
	segRe      = regexp.MustCompile(`^([A-Za-z0-9_]+)((?:\[\d+\])*)$`)
	notFoundRe = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	indexRe    = regexp.MustCompile(`\d+`)
	quotedRe   = regexp.MustCompile("`([^`]*)`")
)

// decodeError turns a yaml.v3 decoding error into `file:LINE: path: message` lines.
func decodeError(file string, data []byte, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		root := parseTree(data)
		msgs := make([]string, 0, len(te.Errors))
		for _, e := range te.Errors {
			m := yamlLineRe.FindStringSubmatch(e)
			if m == nil {
				msgs = append(msgs, fmt.Sprintf("%s: %s", file, e))
				continue
			}
			line, _ := strconv.Atoi(m[1])
			msg := m[2]
			k := notFoundRe.FindStringSubmatch(msg)
			var key, val string
			if k != nil {
				key = k[1]
			} else if v := quotedRe.FindStringSubmatch(msg); v != nil {
				val = v[1]
			}
			path := pathAtLine(root, line, key, val)
			if k != nil {
				msg = "unknown key"
				if known := knownKeys(parentPath(path)); len(known) > 0 {
					msg += " (known: " + strings.Join(known, ", ") + ")"
				}
				if path == "" {
					path = k[1]
				}
			}
			if strings.HasSuffix(msg, "into time.Duration") {
				msg += " (write a duration with its unit, e.g. 30s or 10m)"
			}
			if path != "" {
				msg = path + ": " + msg
			}
			msgs = append(msgs, fmt.Sprintf("%s:%d: %s", file, line, msg))
		}
		return errors.New(strings.Join(msgs, "\n"))
	}
	return syntaxError(file, data, err)
}

// syntaxError reports a YAML syntax error at the line where it is: the first line whose
// prefix of the file fails with the same problem. A prefix ending inside a construct that a
// later line closes fails with another problem ("unexpected end of stream") and is passed.
func syntaxError(file string, data []byte, err error) error {
	m := yamlLineRe.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	problem := m[2]
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) <= maxPrefixLines {
		end := 0
		for k, l := range lines {
			end += len(l)
			var n yaml.Node
			perr := yaml.Unmarshal(data[:end], &n)
			if perr == nil {
				continue
			}
			if pm := yamlLineRe.FindStringSubmatch(perr.Error()); pm != nil && pm[2] == problem {
				return fmt.Errorf("%s:%d: %s", file, k+1, problem)
			}
		}
	}
	// Not a syntax error of the text (e.g. a segment rule's own key check): yaml's line is
	// right; name the key on it when the file parses.
	line, _ := strconv.Atoi(m[1])
	if path := pathAtLine(parseTree(data), line, "", ""); path != "" {
		return fmt.Errorf("%s:%d: %s: %s", file, line, path, problem)
	}
	return fmt.Errorf("%s:%d: %s", file, line, problem)
}

// secondDocument returns the line of the marker (--- or ...) that ends the first document,
// 0 when there is none. A leading --- before any content starts the first document.
func secondDocument(data []byte) int {
	content := false
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimRight(l, "\r")
		if isMarker(l, "---") || isMarker(l, "...") {
			if content {
				return i + 1
			}
			if strings.HasPrefix(l, "---") && strings.TrimSpace(l[3:]) != "" && !strings.HasPrefix(strings.TrimSpace(l[3:]), "#") {
				content = true // "--- key: value" starts the document with content
			}
			continue
		}
		t := strings.TrimSpace(l)
		if t != "" && !strings.HasPrefix(t, "#") && !strings.HasPrefix(l, "%") {
			content = true
		}
	}
	return 0
}

func isMarker(l, m string) bool {
	return strings.HasPrefix(l, m) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t')
}

// parseTree returns the document's root mapping, or nil.
func parseTree(data []byte) *yaml.Node {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// lineOf returns the line of the deepest node of path (e.g. "audiences[1].destinations.vk.type")
// present in the YAML tree, or 0 when not even its first key is there (a default value).
func lineOf(root *yaml.Node, path string) int {
	n, line := root, 0
	for _, seg := range strings.Split(path, ".") {
		m := segRe.FindStringSubmatch(seg)
		if m == nil {
			return line
		}
		k, v := lookup(n, m[1])
		if v == nil {
			return line
		}
		line, n = k.Line, v
		for _, idx := range indexRe.FindAllString(m[2], -1) {
			i, _ := strconv.Atoi(idx)
			n = deref(n)
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		}
	}
	return line
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// lookup finds key in mapping n: the key node and its value.
func lookup(n *yaml.Node, key string) (k, v *yaml.Node) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// pathAtLine returns the path of the key written on line, "" if none. When several keys
// share the line (a flow mapping), the one named key, else the one whose value is val, else
// the first.
func pathAtLine(root *yaml.Node, line int, key, val string) string {
	var first, byKey, byVal string
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n == nil || n.Line > line {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := join(path, k.Value)
				if k.Line == line {
					if first == "" {
						first = p
					}
					if key != "" && k.Value == key && byKey == "" {
						byKey = p
					}
					if val != "" && v.Value == val && byVal == "" {
						byVal = p
					}
				}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(root, "")
	switch {
	case byKey != "":
		return byKey
	case byVal != "":
		return byVal
	}
	return first
}

func parentPath(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// knownKeys lists the keys the config accepts at path ("" = top level), nil if unknown.
func knownKeys(path string) []string {
	t := reflect.TypeOf(Config{})
	if path != "" {
		for _, seg := range strings.Split(patternOf(path), ".") {
			name, lists := seg, strings.Count(seg, "[*]")
			name = strings.ReplaceAll(name, "[*]", "")
			ft, ok := fieldType(t, name)
			if !ok {
				return nil
			}
			for ; lists > 0; lists-- {
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() != reflect.Slice {
					return nil
				}
				ft = ft.Elem()
			}
			t = ft
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	collectKeys(t, &keys)
	return keys
}

// fieldType finds the field with yaml key name in struct t (looking into inline structs).
func fieldType(t reflect.Type, name string) (reflect.Type, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, false
	}
	for f := range yamlfield.Of(t) {
		switch {
		case f.Inline:
			if ft, ok := fieldType(f.Type, name); ok {
				return ft, true
			}
		case f.Name == name:
			return f.Type, true
		}
	}
	return nil, false
}

func collectKeys(t reflect.Type, keys *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for f := range yamlfield.Of(t) {
		switch {
		case f.Inline:
			collectKeys(f.Type, keys)
		case !slices.Contains(*keys, f.Name):
			*keys = append(*keys, f.Name)
		}
	}
}
