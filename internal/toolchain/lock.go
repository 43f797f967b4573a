package toolchain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// lockFile takes an exclusive flock on path, waiting (cancellably) while
// another process holds it, and returns the unlock func. Several `go test`
// packages run their TestMain at once; the lock makes exactly one of them
// build and the others wait for and then reuse its result. The kernel drops
// the lock if the holder dies, so a killed build never wedges later runs.
func lockFile(ctx context.Context, path string, progress io.Writer, what string) (func(), error) {
	if progress == nil {
		progress = io.Discard
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	lastNote := time.Time{}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		// Polling instead of a blocking flock keeps ctx cancellation working.
		if time.Since(lastNote) >= progressEvery {
			fmt.Fprintf(progress, "waiting for another process building %s... %s elapsed\n", what, time.Since(start).Round(time.Second))
			lastNote = time.Now()
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// LockFile takes an exclusive flock on path as the tool builds do, for
// other builds that share the cache root (internal/operatorimage): it
// waits (cancellably, noting progress) while another process holds it,
// and returns the unlock func.
func LockFile(ctx context.Context, path string, progress io.Writer, what string) (func(), error) {
	return lockFile(ctx, path, progress, what)
}
