package toolchain

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// ParallelBuilds is how many missing tools Ensure obtains at once. On 2
// cores, cold Go caches, etcd and kwok built side by side took 780 s
// against 912 s one after the other (a machine shared with other builds,
// so both slower than alone): each go build leaves cores idle in its link
// and in its dependency graph's narrow parts, which the other fills.
var ParallelBuilds = 2

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
