// Command pause is the program of the lab image rotation.local/pause, the
// pod sandbox image: the container runtime starts it first in every pod to
// hold the pod's namespaces. It does nothing but wait for SIGTERM or
// SIGINT, then exits 0. It runs as PID 1, which the kernel gives no
// default signal handling, so it must catch them itself.
//
// It does not reap zombies: pods do not share their PID namespace unless
// they ask to (shareProcessNamespace), and lab pods do not.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
