// Package bench measures the plugin binary over gRPC against the simulated
// AWS (make bench): each figure beside its floor, the unavoidable cost,
// measured in the same run. The benchmarks record rows here; TestMain
// prints them as one table after the run.
package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Row is one figure of the table.
type Row struct {
	// Section orders the table (stable within a section): benchmarks run
	// in file order, the table reads in the order.
	Section int
	Figure  string
	Value   string
	Floor   string // "" = no floor
	Ratio   string // "" = no ratio
	Goal    string
	// Met is nil when the figure has no goal to pass or miss.
	Met *bool
}

// Rows collects the rows of a run in the order they are recorded; a
// figure recorded again replaces its row.
type Rows struct {
	mu   sync.Mutex
	rows []Row
}

// Add records a row.
func (r *Rows) Add(row Row) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for n := range r.rows {
		if r.rows[n].Figure == row.Figure {
			r.rows[n] = row
			return
		}
	}
	r.rows = append(r.rows, row)
}

// Len is the number of rows.
func (r *Rows) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.rows)
}

// Markdown writes the rows as a Markdown table.
func (r *Rows) Markdown(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sort.SliceStable(r.rows, func(i, j int) bool { return r.rows[i].Section < r.rows[j].Section })
	fmt.Fprintln(w, "| figure | value | floor | ratio | goal | result |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, row := range r.rows {
		result := "—"
		if row.Met != nil {
			result = "pass"
			if !*row.Met {
				result = "**miss**"
			}
		}
		cells := []string{row.Figure, row.Value, dash(row.Floor), dash(row.Ratio), dash(row.Goal), result}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// Met returns a pointer for Row.Met.
func Met(ok bool) *bool { return &ok }

// Sections of the table, in the order.
const (
	SectionUpdate = iota
	SectionAllocs
	SectionScaleUp
	SectionConnect
	SectionDecrease
	SectionRSS
	SectionWorkload
)
