package operator

import (
	"fmt"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// MaxEventNote is the longest note the apiserver accepts on an
// events.k8s.io/v1 Event (in bytes); a longer one is refused and the event lost.
const MaxEventNote = 1024

// noteLimit shortens event notes to MaxEventNote bytes. Notes carry error
// messages an author or learner controls in part (a CEL compile error
// quotes the expression once per syntax error, a starter refusal quotes
// the apiserver), and a refused event would leave the Warning unseen; the
// full text stays in the object's conditions.
type noteLimit struct{ events.EventRecorder }

func (r noteLimit) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	r.EventRecorder.Eventf(regarding, related, eventtype, reason, action, "%s", TruncateNote(fmt.Sprintf(note, args...)))
}

// TruncateNote cuts s to at most MaxEventNote bytes on a rune boundary,
// marking the cut.
func TruncateNote(s string) string {
	if len(s) <= MaxEventNote {
		return s
	}
	const mark = "… (truncated; see the object's conditions)"
	cut := MaxEventNote - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
