package testutil

import (
	"context"
	"testing"
	"time"
)

// Eventually retries f until it returns nil or timeout passes, then fails
// the test with f's last error.
func Eventually(t testing.TB, timeout time.Duration, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var err error
	for {
		if err = f(ctx); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("still failing after %s: %v", timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
