package segments

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"
)

// Config is the `segments:` block of the pipeline config (or a separate rules file of the
// same shape).
//
//	segments:
//	  categories: [mattress, "mattress cover", insurance]   # optional vocabulary
//	  rules:
//	    - name: mattress_no_cover
//	      description: Bought a mattress in the last 30 days and no cover since
//	      condition: bought_since("mattress", 30) && !bought_since("mattress cover", days_since_last("mattress"))
//	      reminders:                                          # optional
//	        - {name: mattress_no_cover_2, description: ..., after_days: 14, until_days: 28}
type Config struct {
	Categories []string `yaml:"categories"`
	Rules      []Rule   `yaml:"rules"`
}

// Rule is one smart segment.
type Rule struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description"`
	Condition   string     `yaml:"condition"`
	Reminders   []Reminder `yaml:"reminders"`

	// Where the rule was in the YAML (set by UnmarshalYAML; 0 when built in code).
	Line          int `yaml:"-"`
	ConditionLine int `yaml:"-"` // line of the first line of the condition text
}

// Reminder is a follow-up segment of a rule: customers still in the rule's segment between
// AfterDays and UntilDays days (inclusive) after they entered it.
type Reminder struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	AfterDays   int    `yaml:"after_days"`
	UntilDays   int    `yaml:"until_days"`
	Line        int    `yaml:"-"`
}

var ruleKeys = []string{"name", "description", "condition", "reminders"}
var reminderKeys = []string{"name", "description", "after_days", "until_days"}

func checkKeys(n *yaml.Node, what string, known []string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a %s must be a mapping with keys %s", n.Line, what, strings.Join(known, ", "))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(known, k.Value) {
			return fmt.Errorf("line %d: %s: unknown key %q (known: %s)", k.Line, what, k.Value, strings.Join(known, ", "))
		}
	}
	return nil
}

// decodeKnown decodes the mapping n into v (a pointer to a type without UnmarshalYAML),
// rejecting keys other than known; what names the mapping in errors.
func decodeKnown(n *yaml.Node, what string, known []string, v any) error {
	if err := checkKeys(n, what, known); err != nil {
		return err
	}
	return n.Decode(v)
}

// UnmarshalYAML decodes a rule, rejecting unknown keys and recording its lines.
func (r *Rule) UnmarshalYAML(n *yaml.Node) error {
	type plain Rule
	if err := decodeKnown(n, "segment rule", ruleKeys, (*plain)(r)); err != nil {
		return err
	}
	r.Line = n.Line
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "condition" {
			v := n.Content[i+1]
			r.ConditionLine = v.Line
			if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				r.ConditionLine++ // block scalar: the text starts on the line after "|"
			}
		}
	}
	return nil
}

// UnmarshalYAML decodes a reminder, rejecting unknown keys and recording its line.
func (r *Reminder) UnmarshalYAML(n *yaml.Node) error {
	type plain Reminder
	err := decodeKnown(n, "reminder", reminderKeys, (*plain)(r))
	r.Line = n.Line
	return err
}

// Parse decodes a rules file of Config's shape and compiles it; file names it in errors.
func Parse(fileName string, data []byte) (*Rules, error) {
	var c Config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", fileName, err)
	}
	return c.Compile(fileName, "")
}

// Validate compiles the rules and reports the first error; path is the config path of the
// block (e.g. "segments"). Loaders that know the file name should call Compile instead, so
// that messages start with it.
func (c *Config) Validate(path string) error {
	_, err := c.Compile("", path)
	return err
}

// compiled is one rule ready to run.
type compiled struct {
	name, description string
	prog              *vm.Program
}

// Rules is the compiled rule set: immutable and safe to share between goroutines.
type Rules struct {
	rules      []compiled
	index      map[string]int // segment name -> position in rules
	categories []string       // categories named literally by some rule (the per-customer index)
}

// Names lists the segment names in evaluation order (reminders right after their rule).
func (r *Rules) Names() []string {
	out := make([]string, len(r.rules))
	for i, c := range r.rules {
		out[i] = c.name
	}
	return out
}

// Description returns a segment's description.
func (r *Rules) Description(name string) string {
	if i, ok := r.index[name]; ok {
		return r.rules[i].description
	}
	return ""
}

// catFuncs take a category as their first argument; segFuncs a segment name.
var catFuncs = []string{"days_since_last", "days_since_first", "bought", "bought_since", "count"}
var segFuncs = []string{"in_segment", "days_in_segment"}

// Compile checks and compiles every rule. Errors read
// `<file>:<line>: <path>.rules[<i>] "<name>": <what is wrong>`.
func (c *Config) Compile(fileName, path string) (*Rules, error) {
	rulesPath := "rules"
	if path != "" {
		rulesPath = path + ".rules"
	}
	where := func(line int) string {
		switch {
		case fileName != "" && line > 0:
			return fmt.Sprintf("%s:%d: ", fileName, line)
		case fileName != "":
			return fileName + ": "
		case line > 0:
			return fmt.Sprintf("line %d: ", line)
		}
		return ""
	}
	vocab := map[string]bool{}
	for _, cat := range c.Categories {
		vocab[cat] = true
	}
	out := &Rules{index: map[string]int{}}
	catSeen := map[string]bool{}
	add := func(name, desc, cond string, line, condLine int, p string) error {
		fail := func(l int, format string, args ...any) error {
			return fmt.Errorf("%s%s %q: %s", where(l), p, name, fmt.Sprintf(format, args...))
		}
		if strings.TrimSpace(name) == "" {
			return fmt.Errorf("%s%s.name: empty (every segment needs a name)", where(line), p)
		}
		if _, dup := out.index[name]; dup {
			return fail(line, "segment name is used twice")
		}
		if strings.TrimSpace(cond) == "" {
			return fail(line, "condition is empty")
		}
		prog, err := expr.Compile(cond, expr.Env(&Env{}), expr.AsBool())
		if err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return fail(exprLine(condLine, fe.Line), "condition: %s (column %d of the condition)", strings.TrimSpace(fe.Message), fe.Column+1)
			}
			return fail(condLine, "condition: %v", err)
		}
		// Literal arguments: categories against the vocabulary, segments against the rules
		// defined so far.
		var lerr error
		ast.Find(prog.Node(), func(n ast.Node) bool {
			call, ok := n.(*ast.CallNode)
			if !ok || lerr != nil || len(call.Arguments) == 0 {
				return false
			}
			id, ok := call.Callee.(*ast.IdentifierNode)
			if !ok {
				return false
			}
			lit, ok := call.Arguments[0].(*ast.StringNode)
			if !ok {
				return false
			}
			ln, col := position(cond, lit.Location().From)
			switch {
			case slices.Contains(catFuncs, id.Value):
				if len(vocab) > 0 && !vocab[lit.Value] {
					lerr = fail(exprLine(condLine, ln), "condition: %s(%q): category %q is not in categories (column %d of the condition)", id.Value, lit.Value, lit.Value, col)
					return false
				}
				if !catSeen[lit.Value] {
					catSeen[lit.Value] = true
					out.categories = append(out.categories, lit.Value)
				}
			case slices.Contains(segFuncs, id.Value):
				if _, ok := out.index[lit.Value]; !ok {
					lerr = fail(exprLine(condLine, ln), "condition: %s(%q): no segment %q is defined before this rule (rules run in order; column %d of the condition)", id.Value, lit.Value, lit.Value, col)
				}
			}
			return false
		})
		if lerr != nil {
			return lerr
		}
		out.index[name] = len(out.rules)
		out.rules = append(out.rules, compiled{name: name, description: desc, prog: prog})
		return nil
	}
	for i, r := range c.Rules {
		p := fmt.Sprintf("%s[%d]", rulesPath, i)
		condLine := r.ConditionLine
		if condLine == 0 {
			condLine = r.Line
		}
		if err := add(r.Name, r.Description, r.Condition, r.Line, condLine, p); err != nil {
			return nil, err
		}
		for j, m := range r.Reminders {
			mp := fmt.Sprintf("%s.reminders[%d]", p, j)
			if m.AfterDays < 0 || m.UntilDays < m.AfterDays {
				return nil, fmt.Errorf("%s%s %q: after_days %d and until_days %d must satisfy 0 <= after_days <= until_days",
					where(m.Line), mp, m.Name, m.AfterDays, m.UntilDays)
			}
			cond := fmt.Sprintf("in_segment(%q) && days_in_segment(%q) >= %d && days_in_segment(%q) <= %d",
				r.Name, r.Name, m.AfterDays, r.Name, m.UntilDays)
			if err := add(m.Name, m.Description, cond, m.Line, m.Line, mp); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// exprLine maps a line inside the condition text to a line of the YAML file.
func exprLine(condLine, lineInExpr int) int {
	if condLine == 0 {
		return 0
	}
	if lineInExpr < 1 {
		lineInExpr = 1
	}
	return condLine + lineInExpr - 1
}

// position converts a rune offset in s to a 1-based line and column.
func position(s string, from int) (line, col int) {
	line, col = 1, 1
	for i, r := range []rune(s) {
		if i == from {
			break
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
