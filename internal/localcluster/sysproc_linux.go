package localcluster

import "syscall"

// sysProcAttr makes the kernel kill our components when the process that
// started them dies (e.g. a test binary killed by `go test -timeout`), so no
// controller-manager or kwok is left running against a dead apiserver.
// Setpgid keeps a terminal's Ctrl-C, which goes to the whole foreground
// process group, from killing them (containerd above all) before Stop
// tears them down in order.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
