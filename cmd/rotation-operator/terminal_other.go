//go:build !unix

package main

// takeTerminal is a no-op where there are no process groups.
func takeTerminal() (restore func()) { return func() {} }
