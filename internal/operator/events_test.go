package operator

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateNote(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		cut  bool
	}{
		{"short", "check c: syntax error", false},
		{"exactly the limit", strings.Repeat("x", MaxEventNote), false},
		{"one over", strings.Repeat("x", MaxEventNote+1), true},
		{"multi-byte at the cut", strings.Repeat("☃", MaxEventNote), true},
		{"NUL and control bytes", strings.Repeat("\x00\x01", MaxEventNote), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := TruncateNote(c.in)
			if len(got) > MaxEventNote {
				t.Fatalf("%d bytes, over %d", len(got), MaxEventNote)
			}
			if !utf8.ValidString(got) && utf8.ValidString(c.in) {
				t.Fatalf("cut inside a rune: %q", got[len(got)-60:])
			}
			if cut := got != c.in; cut != c.cut {
				t.Fatalf("cut = %t, want %t", cut, c.cut)
			}
			if c.cut && !strings.HasSuffix(got, "(truncated; see the object's conditions)") {
				t.Fatalf("cut without a mark: %q", got[len(got)-60:])
			}
		})
	}
}
