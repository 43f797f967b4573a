package terraform

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
)

// addDiag records one of terraform's diagnostics as a fact, up to
// MaxDiagnostics.
func (r *run) addDiag(stage string, d tfjson.Diagnostic) {
	if len(r.diags) >= MaxDiagnostics {
		return
	}
	file, line := "", int64(0)
	if d.Range != nil {
		file, line = d.Range.Filename, int64(d.Range.Start.Line)
	}
	r.diags = append(r.diags, map[string]any{
		"stage": stage, "severity": string(d.Severity), "summary": d.Summary,
		"detail": d.Detail, "file": file, "line": line,
	})
	r.facts[FactDiagnostics] = r.diags
}

// logDiagnostics reads the diagnostics of terraform's machine-readable UI
// (-json) output, one JSON message per line.
func logDiagnostics(r io.Reader) []tfjson.Diagnostic {
	var out []tfjson.Diagnostic
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		msg, err := tfjson.UnmarshalLogMessage(sc.Bytes())
		if err != nil {
			continue
		}
		switch d := msg.(type) {
		case tfjson.DiagnosticLogMessage:
			out = append(out, d.Diagnostic)
		case *tfjson.DiagnosticLogMessage:
			out = append(out, d.Diagnostic)
		}
	}
	return out
}

// firstError is "summary: detail" of the first error diagnostic.
func firstError(diags []tfjson.Diagnostic) string {
	for _, d := range diags {
		if d.Severity == tfjson.DiagnosticSeverityError {
			msg := d.Summary
			if d.Detail != "" {
				msg += ": " + d.Detail
			}
			if d.Range != nil && d.Range.Filename != "" {
				msg = fmt.Sprintf("%s:%d: %s", d.Range.Filename, d.Range.Start.Line, msg)
			}
			return msg
		}
	}
	return ""
}

// stepError says why a step failed: its timeout, or terraform's error
// output, trimmed.
func stepError(ctx context.Context, err error, timeout time.Duration) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("timed out after %s", timeout)
	}
	msg := strings.TrimSpace(err.Error())
	if len(msg) > 2000 {
		msg = msg[:2000] + "..."
	}
	return msg
}

var lockField = regexp.MustCompile(`(?m)^[ \t]*(ID|Path|Operation|Who|Version|Created):[ \t]*(.*)$`)

// lockFact is the lock fact of a plan that found the state locked by
// someone else, with a message that says how to release a stale lock.
func lockFact(detail string) map[string]any {
	lock := parseLockInfo(detail)
	lock["held"] = true
	lock["message"] = fmt.Sprintf("the state is locked (lock ID %s, %s by %s since %s): if no terraform command of yours is running, release the stale lock with: terraform force-unlock %s",
		lock["id"], lock["operation"], lock["who"], lock["created"], lock["id"])
	return lock
}

// parseLockInfo reads the "Lock Info:" block of Terraform's lock error.
func parseLockInfo(detail string) map[string]any {
	out := map[string]any{"id": "", "who": "", "operation": "", "created": ""}
	for _, m := range lockField.FindAllStringSubmatch(detail, -1) {
		switch m[1] {
		case "ID":
			out["id"] = strings.TrimSpace(m[2])
		case "Who":
			out["who"] = strings.TrimSpace(m[2])
		case "Operation":
			out["operation"] = strings.TrimSpace(m[2])
		case "Created":
			out["created"] = strings.TrimSpace(m[2])
		}
	}
	return out
}
