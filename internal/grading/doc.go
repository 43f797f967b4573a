// Package grading turns a learner's lab into graded results: fact sources
// (package factsource; factsource/builtin lists them) gather facts (plain
// maps and lists), CEL checks are compiled once per Exercise generation over
// the sources' variables and evaluated against the facts with a cost limit
// and a timeout, and the results advance each exercise's state.
package grading
