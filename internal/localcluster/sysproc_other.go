//go:build !linux

package localcluster

import "syscall"

// sysProcAttr: parent-death signals are Linux-only; elsewhere Stop must run.
func sysProcAttr() *syscall.SysProcAttr { return nil }
