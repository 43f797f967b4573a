package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// statusTrace logs, for every status update of a rotation, which status
// fields it changed ("exercises[web].checks", "conditions[Ready]"), and
// counts the changes by field: it tells which part of the operator a status
// write was for.
type statusTrace struct {
	mu     sync.Mutex
	last   map[string]rotationsv1.LearningRotationStatus
	counts map[string]int
	out    io.Writer
}

func newStatusTrace(out io.Writer) *statusTrace {
	return &statusTrace{last: map[string]rotationsv1.LearningRotationStatus{}, counts: map[string]int{}, out: out}
}

func (s *statusTrace) observe(lr *rotationsv1.LearningRotation) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, seen := s.last[lr.Name]
	s.last[lr.Name] = *lr.Status.DeepCopy()
	if !seen {
		return
	}
	changed := statusChanges(prev, lr.Status)
	if len(changed) == 0 {
		return
	}
	for _, c := range changed {
		s.counts[c]++
	}
	fmt.Fprintf(s.out, "[status %s] %s rv=%s: %s\n", time.Now().Format("15:04:05.000"), lr.Name, lr.ResourceVersion, strings.Join(changed, ", "))
}

// summary returns the change counts by field and resets them.
func (s *statusTrace) summary() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.counts))
	for k := range s.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, s.counts[k]))
	}
	s.counts = map[string]int{}
	return strings.Join(parts, " ")
}

// statusChanges names the fields of b that differ from a.
func statusChanges(a, b rotationsv1.LearningRotationStatus) []string {
	var out []string
	ea, eb := a.Exercises, b.Exercises
	a.Exercises, b.Exercises = nil, nil
	ca, cb := a.Conditions, b.Conditions
	a.Conditions, b.Conditions = nil, nil
	out = append(out, fieldChanges("", a, b)...)
	byType := map[string]string{}
	for _, c := range ca {
		byType[c.Type] = string(c.Status) + "/" + c.Reason + "/" + c.Message
	}
	for _, c := range cb {
		if byType[c.Type] != string(c.Status)+"/"+c.Reason+"/"+c.Message {
			out = append(out, "conditions["+c.Type+"]")
		}
	}
	prev := map[string]rotationsv1.ExerciseResult{}
	for _, e := range ea {
		prev[e.Name] = e
	}
	for _, e := range eb {
		out = append(out, fieldChanges("exercises["+e.Name+"].", prev[e.Name], e)...)
	}
	return out
}

// fieldChanges compares two structs field by field through their JSON form.
func fieldChanges(prefix string, a, b any) []string {
	var ma, mb map[string]json.RawMessage
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	_ = json.Unmarshal(ja, &ma)
	_ = json.Unmarshal(jb, &mb)
	var out []string
	for k, v := range mb {
		if !reflect.DeepEqual([]byte(ma[k]), []byte(v)) {
			out = append(out, prefix+k)
		}
	}
	for k := range ma {
		if _, ok := mb[k]; !ok {
			out = append(out, prefix+k)
		}
	}
	sort.Strings(out)
	return out
}
