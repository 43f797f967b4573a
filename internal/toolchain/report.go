package toolchain

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// ParallelBuilds is how many missing tools Ensure obtains at once.
// Measured on 2 cores with cold Go caches (see Report in the README's
// first-run section): TODO(measure).
var ParallelBuilds = 1

// Step is how one tool was obtained (How*) and how long that took.
type Step struct {
	Name string
	How  string
	Took time.Duration
}

// Report lists Ensure's steps in the order the tools were asked for, and
// the wall-clock total.
type Report struct {
	Steps []Step
	Total time.Duration
}

// Print writes one line per tool with its time, then the total.
func (r Report) Print(w io.Writer) {
	for _, s := range r.Steps {
		PrintStep(w, s)
	}
	fmt.Fprintf(w, "  %-32s %8s\n", "total", Round(r.Total))
}

// PrintStep writes the summary line of one component.
func PrintStep(w io.Writer, s Step) {
	fmt.Fprintf(w, "  %-32s %8s  %s\n", s.Name, Round(s.Took), s.How)
}

// Round rounds a duration for humans: 10 ms under a second, else 100 ms.
func Round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// lineWriter serializes writes, so progress lines of tools obtained in
// parallel do not interleave mid-line (each Fprintf is one Write).
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
