package rfm

import (
	"fmt"
	"strings"
)

// Config is the `rfm:` block of the pipeline config.
//
//	rfm:
//	  bins: 5            # 3 (1 = best) or 5 (5 = best); default 5
//	  lookback_days: 365 # window [as_of - 365, as_of) for frequency and monetary; 0 = all history; default 365
//	  segments:          # optional R x F grid; default: DefaultGrid5 / DefaultGrid3
//	    - {name: champions, r: [5], f: [4, 5]}
//	    - ...
type Config struct {
	Bins         int        `yaml:"bins"`
	LookbackDays int        `yaml:"lookback_days"`
	Segments     []GridRule `yaml:"segments"`
}

// GridRule names every cell R in R x F in F of the grid. Scores are in the direction of the
// bin convention (5 bins: 5 = best; 3 bins: 1 = best).
type GridRule struct {
	Name string `yaml:"name"`
	R    []int  `yaml:"r"`
	F    []int  `yaml:"f"`
}

// Defaults returns the default config. Decode YAML over it: an explicit `lookback_days: 0`
// then means all history, and a missing key keeps 365. Segments stays empty and means the
// default grid of the chosen bin count.
func Defaults() Config { return Config{Bins: 5, LookbackDays: 365} }

// DefaultGrid5 is the common 11-segment grid for 5 bins (5 = best). Rows are recency, from
// long ago (R=1) to recent (R=5); columns are frequency from 1 to 5:
//
//	R\F  1               2                    3                    4          5
//	5    new             potential loyalists  potential loyalists  champions  champions
//	4    promising       potential loyalists  potential loyalists  loyal      loyal
//	3    about to sleep  about to sleep       need attention       loyal      loyal
//	2    hibernating     hibernating          at risk              at risk    can't lose
//	1    lost            lost                 at risk              at risk    can't lose
var DefaultGrid5 = []GridRule{
	{"champions", []int{5}, []int{4, 5}},
	{"loyal", []int{3, 4}, []int{4, 5}},
	{"potential loyalists", []int{4, 5}, []int{2, 3}},
	{"new", []int{5}, []int{1}},
	{"promising", []int{4}, []int{1}},
	{"need attention", []int{3}, []int{3}},
	{"about to sleep", []int{3}, []int{1, 2}},
	{"at risk", []int{1, 2}, []int{3, 4}},
	{"can't lose", []int{1, 2}, []int{5}},
	{"hibernating", []int{2}, []int{1, 2}},
	{"lost", []int{1}, []int{1, 2}},
}

// DefaultGrid3 is the grid for 3 bins (1 = best): R=1 is recent, F=1 is frequent.
//
//	R\F  1           2                    3
//	1    champions   potential loyalists  new
//	2    loyal       need attention       about to sleep
//	3    can't lose  at risk              lost
var DefaultGrid3 = []GridRule{
	{"champions", []int{1}, []int{1}},
	{"potential loyalists", []int{1}, []int{2}},
	{"new", []int{1}, []int{3}},
	{"loyal", []int{2}, []int{1}},
	{"need attention", []int{2}, []int{2}},
	{"about to sleep", []int{2}, []int{3}},
	{"can't lose", []int{3}, []int{1}},
	{"at risk", []int{3}, []int{2}},
	{"lost", []int{3}, []int{3}},
}

// Grid returns the configured grid, or the default one for the bin count.
func (c Config) Grid() []GridRule {
	if len(c.Segments) > 0 {
		return c.Segments
	}
	if c.Bins == 3 {
		return DefaultGrid3
	}
	return DefaultGrid5
}

// Validate checks the config; path is the config path of the block (e.g. "rfm") and prefixes
// every message. The grid must name every R x F cell exactly once.
func (c Config) Validate(path string) error {
	if c.Bins != 3 && c.Bins != 5 {
		return fmt.Errorf("%s.bins: %d is not supported (use 3 with 1 = best, or 5 with 5 = best)", path, c.Bins)
	}
	if c.LookbackDays < 0 {
		return fmt.Errorf("%s.lookback_days: %d is negative (use 0 for all history, or a number of days)", path, c.LookbackDays)
	}
	if len(c.Segments) == 0 {
		return nil
	}
	owner := make([]int, c.Bins*c.Bins) // rule index + 1 per cell
	for i, g := range c.Segments {
		p := fmt.Sprintf("%s.segments[%d]", path, i)
		if strings.TrimSpace(g.Name) == "" {
			return fmt.Errorf("%s.name: empty (every grid rule needs a segment name)", p)
		}
		if len(g.R) == 0 || len(g.F) == 0 {
			return fmt.Errorf("%s (%q): r and f must each list at least one score", p, g.Name)
		}
		for _, axis := range []struct {
			key string
			v   []int
		}{{"r", g.R}, {"f", g.F}} {
			for _, s := range axis.v {
				if s < 1 || s > c.Bins {
					return fmt.Errorf("%s.%s (%q): score %d is outside 1..%d", p, axis.key, g.Name, s, c.Bins)
				}
			}
		}
		for _, r := range g.R {
			for _, f := range g.F {
				cell := (r-1)*c.Bins + f - 1
				if o := owner[cell]; o != 0 {
					if o-1 == i {
						return fmt.Errorf("%s (%q): cell r=%d f=%d is listed twice", p, g.Name, r, f)
					}
					return fmt.Errorf("%s (%q): cell r=%d f=%d is already in %s.segments[%d] (%q); each cell belongs to exactly one segment",
						p, g.Name, r, f, path, o-1, c.Segments[o-1].Name)
				}
				owner[cell] = i + 1
			}
		}
	}
	for r := 1; r <= c.Bins; r++ {
		for f := 1; f <= c.Bins; f++ {
			if owner[(r-1)*c.Bins+f-1] == 0 {
				return fmt.Errorf("%s.segments: cell r=%d f=%d is not in any segment; every R x F cell of the %dx%d grid needs exactly one",
					path, r, f, c.Bins, c.Bins)
			}
		}
	}
	return nil
}

// NewModel combines fitted cutpoints with the config's grid. Call after Validate and with
// cutpoints fitted for c.Bins.
func (c Config) NewModel(cut Cutpoints) Model {
	cells := make([]string, cut.Bins*cut.Bins)
	for _, g := range c.Grid() {
		for _, r := range g.R {
			for _, f := range g.F {
				cells[(r-1)*cut.Bins+f-1] = g.Name
			}
		}
	}
	return Model{Cut: cut, Cells: cells}
}
