package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// interruptContext is canceled by the first SIGINT or SIGTERM. Unlike
// ctrl.SetupSignalHandler, a second signal does not exit at once: the
// embedded mode's etcd and kube-apiserver are stopped by the teardown that
// runs after the context ends, and an os.Exit would skip it and leave them
// running. Further signals only say that the teardown is under way; it is
// bounded by the components' own stop timeouts.
func interruptContext(out io.Writer) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		cancel()
		for range ch {
			fmt.Fprintln(out, "rotation-operator: already stopping; the operator, the node, kube-apiserver and etcd are being torn down, please wait")
		}
	}()
	return ctx
}
