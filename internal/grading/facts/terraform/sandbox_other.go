//go:build !linux

package terraform

import (
	"errors"
	"syscall"
)

const namespacesSupported = false

var errNoSandbox = errors.New("the namespace sandbox needs Linux")

func sandboxSysProcAttr() *syscall.SysProcAttr { return nil }
func plainSysProcAttr() *syscall.SysProcAttr   { return nil }
func sandboxOwner() int                        { return -1 }

func enterSandbox(*RunConfig, []string) ([]string, error) { return nil, errNoSandbox }
func dropCapabilitiesAndExec([]string, []string) error    { return errNoSandbox }
func verifyNoCapabilities() error                         { return errNoSandbox }
