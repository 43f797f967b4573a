//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// takeTerminal moves this process into a process group of its own and
// makes that the terminal's foreground group, so a Ctrl-C reaches the
// operator (and the components it starts) but not a parent such as make,
// which would die of the SIGINT and fail ("make: *** ... Interrupt") while
// the operator stops cleanly. Nothing happens without a controlling
// terminal or when this process already leads the foreground group (run
// from an interactive shell). The returned func gives the terminal back.
func takeTerminal() (restore func()) {
	noop := func() {}
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return noop
	}
	fd := int(tty.Fd())
	fg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil || fg != unix.Getpgrp() || unix.Getpgrp() == unix.Getpid() {
		_ = tty.Close()
		return noop
	}
	// A background group changing the foreground group gets SIGTTOU.
	signal.Ignore(syscall.SIGTTOU)
	if err := unix.Setpgid(0, 0); err != nil {
		_ = tty.Close()
		return noop
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, unix.Getpid()); err != nil {
		_ = unix.Setpgid(0, fg)
		_ = tty.Close()
		return noop
	}
	return func() {
		_ = unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, fg)
		_ = tty.Close()
	}
}
