package plugin

import (
	"errors"
	"strings"
)

// Exit codes of kubectl-rotation. Scripts can rely on them.
const (
	// ExitOK: the command did what it was asked.
	ExitOK = 0
	// ExitError: the command failed: an API error, a missing object, a bad
	// submission, no permission.
	ExitError = 1
	// ExitUsage: the command line is wrong: unknown command or flag, wrong
	// number of arguments, a rotation that cannot be inferred.
	ExitUsage = 2
	// ExitUnmet: a condition the command waited for was not met: it timed
	// out, or the operator cannot answer the request (the rotation is
	// suspended or expired).
	ExitUnmet = 3
)

// usageError marks an error in how the command was called.
type usageError struct{ error }

func usageErrorf(err error) error { return usageError{err} }

func (e usageError) Unwrap() error { return e.error }

// unmetError marks a waited-for condition that did not come true.
type unmetError struct{ error }

func (e unmetError) Unwrap() error { return e.error }

// exitCode maps an error returned by a command to the process's exit code.
func exitCode(err error) int {
	var u usageError
	var w unmetError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &u):
		return ExitUsage
	case errors.As(err, &w):
		return ExitUnmet
	case strings.HasPrefix(err.Error(), "unknown command"),
		strings.HasPrefix(err.Error(), "unknown flag"),
		strings.HasPrefix(err.Error(), "unknown shorthand flag"):
		// cobra's own usage errors are plain errors.
		return ExitUsage
	default:
		return ExitError
	}
}
